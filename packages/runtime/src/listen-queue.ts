import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** TCP state LISTEN in /proc/net/tcp (include/net/tcp_states.h). */
const TCP_LISTEN = '0A';

/**
 * Connections waiting in the accept queue of the TCP listening socket(s) on
 * `port`: the kernel completed their handshake, the process has not taken
 * them yet. Read from /proc/net/tcp and /proc/net/tcp6, whose `rx_queue` of a
 * listening socket is that queue's length (the kernel's `sk_ack_backlog`).
 *
 * Why it matters: libuv (since 1.45) accepts one connection per event-loop
 * iteration, so a process whose loop is busy with the connections it has
 * takes new ones slowly and they wait here, where no request timer sees them
 * (bench/README.md, "API throughput").
 *
 * Undefined where there is no such file (not Linux) or no listening socket
 * on the port. `procRoot` is for tests.
 */
export async function listenQueueLength(
  port: number,
  procRoot = '/proc',
): Promise<number | undefined> {
  // Read off the event loop: with thousands of sockets the kernel takes tens of ms to write them.
  const texts = await Promise.all(
    ['net/tcp', 'net/tcp6'].map((file) =>
      readFile(join(procRoot, file), 'latin1').catch(() => undefined),
    ),
  );
  return waitingIn(texts, port);
}

/**
 * The accept-queue length of the listening socket(s) on `port` in the text
 * of /proc/net/tcp (and tcp6) files; undefined when none listens there. For
 * {@link listenQueueLength}, and for callers that must read the files
 * synchronously.
 */
export function waitingIn(
  texts: readonly (string | undefined)[],
  port: number,
): number | undefined {
  // "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 ...": slot, local address:port,
  // remote address:port, state, tx_queue:rx_queue. One regex over the text rather than a split of
  // every line: with thousands of sockets the file is megabytes, read at each scrape.
  const listening = new RegExp(
    `^ *\\d+: [0-9A-F]+:${port.toString(16).toUpperCase().padStart(4, '0')} [0-9A-F]+:[0-9A-F]+ ${TCP_LISTEN} [0-9A-F]+:([0-9A-F]+)`,
    'gm',
  );
  let found = false;
  let waiting = 0;
  for (const text of texts) {
    if (text === undefined) continue;
    for (const match of text.matchAll(listening)) {
      found = true;
      waiting += Number.parseInt(match[1]!, 16);
    }
  }
  return found ? waiting : undefined;
}
