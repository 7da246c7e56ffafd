import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenQueueLength } from './listen-queue.js';
import { startHeldListener } from './testing.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
/** A /proc/net/tcp line: local port (decimal), state (hex), rx_queue. */
const line = (i: number, address: string, port: number, state: string, rx: number) =>
  `  ${i}: ${address}:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${state} 00000000:${rx.toString(16).toUpperCase().padStart(8, '0')} 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0`;

const open: (() => void)[] = [];

/** Reads the queue until it shows `expected` or 5 s pass; resolves the last reading. */
async function readingReaches(port: number, expected: number): Promise<number | undefined> {
  const deadline = performance.now() + 5_000;
  let reading = await listenQueueLength(port);
  while (reading !== expected && performance.now() < deadline) {
    reading = await listenQueueLength(port);
  }
  return reading;
}
afterEach(() => {
  for (const close of open.splice(0).reverse()) close();
});

function fakeProc(files: Record<string, string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'proc-'));
  open.push(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'net'));
  for (const [name, lines] of Object.entries(files)) {
    writeFileSync(join(root, 'net', name), [HEADER, ...lines, ''].join('\n'));
  }
  return root;
}

describe('listenQueueLength', () => {
  it("sums the accept queues of the port's listening sockets, IPv4 and IPv6, and nothing else", async () => {
    const root = fakeProc({
      tcp: [
        line(0, '0100007F', 8080, '0A', 7),
        // An accepted connection on the same local port: its rx_queue is unread bytes, not waiting connections.
        line(1, '0100007F', 8080, '01', 300),
        line(2, '0100007F', 8081, '0A', 50),
      ],
      tcp6: [line(0, '00000000000000000000000000000000', 8080, '0A', 5)],
    });
    expect(await listenQueueLength(8080, root)).toBe(12);
    expect(await listenQueueLength(8081, root)).toBe(50);
  });

  it('is undefined with no listening socket on the port, or no /proc/net files at all', async () => {
    const root = fakeProc({ tcp: [line(0, '0100007F', 8080, '01', 0)] });
    expect(await listenQueueLength(8080, root)).toBeUndefined();
    expect(await listenQueueLength(8080, join(root, 'absent'))).toBeUndefined();
  });

  (existsSync('/proc/net/tcp') ? it : it.skip)(
    'counts the connections a real server has not accepted yet, and none once it has',
    async () => {
      const listener = await startHeldListener();
      open.push(() => void listener.close());
      expect(await listenQueueLength(listener.port)).toBe(0);

      listener.hold();
      const clients = Array.from({ length: 5 }, () => createConnection(listener.port, '127.0.0.1'));
      open.push(() => {
        for (const socket of clients) socket.destroy();
      });
      // The kernel completes the handshakes; the stopped process takes none of them.
      expect(await readingReaches(listener.port, clients.length)).toBe(clients.length);

      listener.release();
      expect(await readingReaches(listener.port, 0)).toBe(0);
    },
  );
});
