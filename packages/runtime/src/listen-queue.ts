import { readFileSync } from 'node:fs';
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
export function listenQueueLength(port: number, procRoot = '/proc'): number | undefined {
  const localPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let found = false;
  let waiting = 0;
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(join(procRoot, file), 'latin1');
    } catch {
      continue;
    }
    // "  sl  local_address rem_address   st tx_queue:rx_queue ...", one socket per line.
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== TCP_LISTEN || !fields[1]?.endsWith(localPort)) continue;
      const rx = Number.parseInt(fields[4]?.split(':')[1] ?? '', 16);
      if (Number.isNaN(rx)) continue;
      found = true;
      waiting += rx;
    }
  }
  return found ? waiting : undefined;
}
