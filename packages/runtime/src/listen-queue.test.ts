import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenQueueLength } from './listen-queue.js';

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
/** A /proc/net/tcp line: local port (decimal), state (hex), rx_queue. */
const line = (i: number, address: string, port: number, state: string, rx: number) =>
  `  ${i}: ${address}:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${state} 00000000:${rx.toString(16).toUpperCase().padStart(8, '0')} 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0`;

const open: (() => void)[] = [];
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
  it("sums the accept queues of the port's listening sockets, IPv4 and IPv6, and nothing else", () => {
    const root = fakeProc({
      tcp: [
        line(0, '0100007F', 8080, '0A', 7),
        // An accepted connection on the same local port: its rx_queue is unread bytes, not waiting connections.
        line(1, '0100007F', 8080, '01', 300),
        line(2, '0100007F', 8081, '0A', 50),
      ],
      tcp6: [line(0, '00000000000000000000000000000000', 8080, '0A', 5)],
    });
    expect(listenQueueLength(8080, root)).toBe(12);
    expect(listenQueueLength(8081, root)).toBe(50);
  });

  it('is undefined with no listening socket on the port, or no /proc/net files at all', () => {
    const root = fakeProc({ tcp: [line(0, '0100007F', 8080, '01', 0)] });
    expect(listenQueueLength(8080, root)).toBeUndefined();
    expect(listenQueueLength(8080, join(root, 'absent'))).toBeUndefined();
  });

  (existsSync('/proc/net/tcp') ? it : it.skip)(
    'counts the connections a real server has not accepted yet (its event loop held)',
    async () => {
      const server: Server = createServer();
      const accepted: Socket[] = [];
      server.on('connection', (socket) => accepted.push(socket));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
      open.push(() => server.close());
      const port = (server.address() as { port: number }).port;
      expect(listenQueueLength(port)).toBe(0);

      const clients = Array.from({ length: 5 }, () => createConnection(port, '127.0.0.1'));
      open.push(() => {
        for (const socket of [...clients, ...accepted]) socket.destroy();
      });
      // The connects go out on the next tick; until this test lets the loop poll, the server
      // accepts none of them, so they stay in its queue.
      await new Promise((resolve) => process.nextTick(resolve));
      const deadline = performance.now() + 2_000;
      let waiting = listenQueueLength(port);
      while (waiting !== clients.length && performance.now() < deadline) {
        waiting = listenQueueLength(port);
      }
      expect(waiting).toBe(clients.length);

      // Once the loop runs, the server takes them (one per iteration) and the queue empties.
      await new Promise<void>((resolve) => {
        const check = () => (accepted.length === clients.length ? resolve() : undefined);
        server.on('connection', check);
        check();
      });
      expect(listenQueueLength(port)).toBe(0);
    },
  );
});
