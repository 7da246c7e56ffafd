import { afterEach, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAcceptHandles, type AcceptHandles } from './accept-handles.js';
import { waitingIn } from './listen-queue.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listening<T extends Server>(server: T, backlog = 511): Promise<T> {
  server.listen(0, '127.0.0.1', backlog);
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP server');
  return address.port;
}

async function withHandles(server: Server, copies: number): Promise<AcceptHandles> {
  const handles = await addAcceptHandles(server, { copies, backlog: 511 });
  cleanups.push(() => handles.close());
  expect(handles).toMatchObject({ added: copies });
  return handles;
}

function clients(port: number, count: number): Socket[] {
  const sockets = Array.from({ length: count }, () => connect(port, '127.0.0.1'));
  for (const socket of sockets) socket.on('error', () => undefined);
  cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
  return sockets;
}

/**
 * Blocks this process (its event loop included) until the kernel holds
 * `count` connections in the accept queue of `port`, or 5 s pass; a busy wait
 * on purpose: the server must not run while the queue fills.
 */
function blockUntilQueued(port: number, count: number): number {
  const deadline = performance.now() + 5_000;
  let queued = 0;
  while (queued < count && performance.now() < deadline) {
    queued = waitingIn([readFileSync('/proc/net/tcp', 'latin1')], port) ?? 0;
  }
  return queued;
}

/**
 * Opens `count` connections to the server and blocks until the kernel has
 * completed them all, so they wait in the accept queue together; then counts
 * how many the server takes in the first poll that takes any.
 */
async function acceptedInOnePoll(
  server: Server,
  count: number,
): Promise<{ queued: number; accepted: number }> {
  let accepted = 0;
  server.on('connection', () => (accepted += 1));
  clients(portOf(server), count);
  return new Promise((resolve) => {
    // The clients' connect calls go out on the next tick; this tick comes after them, before any poll.
    process.nextTick(() => {
      const queued = blockUntilQueued(portOf(server), count);
      // Accepts happen in poll phases, each followed by a check phase: the first check phase
      // that finds any counts what one poll took. (Bounded, should none ever come.)
      let checks = 0;
      const check = () => {
        if (accepted > 0 || (checks += 1) > 10_000) resolve({ queued, accepted });
        else setImmediate(check);
      };
      setImmediate(check);
    });
  });
}

/** Resolves once the server has emitted `count` more connections; fails after 5 s. */
function connectionsCounted(server: Server, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`${seen} of ${count} connections`)), 5_000);
    server.on('connection', () => {
      if ((seen += 1) !== count) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

const onLinux = existsSync('/proc/net/tcp') ? it : it.skip;

describe('addAcceptHandles', () => {
  onLinux(
    'takes one waiting connection per poll with the server alone (why it exists)',
    async () => {
      const server = await listening(createServer((socket) => socket.on('error', () => undefined)));
      expect(await acceptedInOnePoll(server, 12)).toEqual({ queued: 12, accepted: 1 });
    },
  );

  onLinux('takes one waiting connection per handle per poll with copies added', async () => {
    const server = await listening(createServer((socket) => socket.on('error', () => undefined)));
    const handles = await withHandles(server, 3);
    expect(await acceptedInOnePoll(server, 12)).toEqual({ queued: 12, accepted: 4 });

    // Closing the copies does not wait for the connections they took (still open here: the
    // server's to end), and the server's own handle takes the rest.
    const rest = connectionsCounted(server, 12 - 4);
    await handles.close();
    await rest;
  });

  it("serves connections taken on the copies as the server's own, and stops taking any once closed", async () => {
    const server: HttpServer = await listening(
      createHttpServer((request, response) => response.end(`served ${request.url}`)),
    );
    const handles = await withHandles(server, 3);
    const port = portOf(server);

    const answers = await Promise.all(
      clients(port, 40).map(async (socket, i) => {
        await once(socket, 'connect');
        socket.end(`GET /${i} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`);
        const chunks: Buffer[] = [];
        for await (const chunk of socket) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString();
      }),
    );
    answers.forEach((answer, i) => {
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer.endsWith(`served /${i}`)).toBe(true);
    });

    // Every descriptor of the socket closed: the port refuses, nothing waits in a queue.
    await handles.close();
    await new Promise((resolve) => server.close(resolve));
    const late = connect(port, '127.0.0.1');
    const [error] = (await once(late, 'error').catch((e: unknown) => [e])) as [
      NodeJS.ErrnoException,
    ];
    expect(error.code).toBe('ECONNREFUSED');
    await handles.close(); // idempotent
  });

  it('adds none, with the reason, when the helper does not hand the copies back in time', async () => {
    const server = await listening(createHttpServer((_, response) => response.end('ok')));
    const late = await addAcceptHandles(server, { copies: 3, backlog: 511, timeoutMs: 1 });
    expect(late.added).toBe(0);
    expect(late.failure?.message).toMatch(/did not answer within 1 ms/);
    // The server keeps its own handle and serves.
    const answer = await fetch(`http://127.0.0.1:${portOf(server)}/`);
    expect(await answer.text()).toBe('ok');
  });

  it('adds none, with the reason, to a server that is not listening on TCP', async () => {
    const idle = createServer();
    const notListening = await addAcceptHandles(idle, { copies: 2, backlog: 511 });
    expect(notListening.added).toBe(0);
    expect(notListening.failure?.message).toMatch(/listening TCP server/);

    const dir = mkdtempSync(join(tmpdir(), 'accept-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const pipe = createServer();
    pipe.listen(join(dir, 'socket'));
    await once(pipe, 'listening');
    cleanups.push(() => new Promise((resolve) => pipe.close(resolve)));
    const onPipe = await addAcceptHandles(pipe, { copies: 2, backlog: 511 });
    expect(onPipe.added).toBe(0);
    expect(onPipe.failure?.message).toMatch(/listening TCP server/);

    const none = await addAcceptHandles(pipe, { copies: 0, backlog: 511 });
    expect(none).toMatchObject({ added: 0 });
    expect(none).not.toHaveProperty('failure');
  });
});
