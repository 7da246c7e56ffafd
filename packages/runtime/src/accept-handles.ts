import { spawn } from 'node:child_process';
import { Server, type ServerOpts, type Socket } from 'node:net';

/**
 * Listening handles added beside a server's own on its listening socket, each
 * feeding the server's 'connection' event (see {@link addAcceptHandles}).
 */
export interface AcceptHandles {
  /** How many were added (0 when none could be). */
  readonly added: number;
  /** Why fewer than asked for were added (none then), when so. */
  readonly failure?: Error;
  /** Stops accepting on them; connections already accepted stay with the server. Idempotent. */
  close(): Promise<void>;
}

export interface AcceptHandleOptions {
  /** Handles to add beside the server's own (0 adds none). */
  readonly copies: number;
  /** The backlog the server listened with: listen(2) on each handle sets the socket's again. */
  readonly backlog: number;
  /** Longest the helper process may take to hand the copies back. @defaultValue 5000 */
  readonly timeoutMs?: number;
}

/**
 * Why: libuv (since 1.45, libuv/libuv#3696; Node 20 ships 1.46) accepts one
 * connection per readable listening handle per event-loop iteration. A
 * process whose iterations are long, because hundreds of connections it
 * already holds are sending requests, then takes new connections at its
 * iteration rate (tens a second), and a crowd that connects at once waits in
 * the kernel's accept queue for seconds, where no request timer sees it
 * (bench/README.md, "API throughput"). Each further handle on the same socket
 * is one more accept per iteration.
 *
 * How: a handle is a file descriptor, and a descriptor of the same socket can
 * only be had from another process (Node has no dup, and `reusePort`, which
 * would give separate sockets, needs Node >= 22.12). A short-lived helper
 * process is sent the listening handle over an IPC channel and sends it back
 * `copies` times; each passage (SCM_RIGHTS) makes a new descriptor of the
 * same listening socket, which a `net.Server` here listens on. The helper
 * never listens on it, so it takes no connection; it exits once it is done.
 *
 * Connections accepted on a copy are emitted as the server's own
 * 'connection' (how an http.Server is handed sockets), so they are served,
 * timed out and closed exactly like the rest. Idle, a copy costs nothing; a
 * lone new connection wakes every handle and all but one find it taken (an
 * accept4 that fails with EAGAIN each, about a microsecond).
 *
 * Never throws: where the copies cannot be made (not a TCP server, no helper
 * process, a timeout) it resolves with the ones it has (usually none) and the
 * reason, and the server keeps its own handle.
 */
export async function addAcceptHandles(
  server: Server,
  options: AcceptHandleOptions,
): Promise<AcceptHandles> {
  const copies = Math.max(0, Math.floor(options.copies));
  const address = server.address();
  if (copies === 0) return { added: 0, close: () => Promise.resolve() };
  if (!server.listening || address === null || typeof address === 'string') {
    return {
      added: 0,
      close: () => Promise.resolve(),
      failure: new Error('extra accept handles need a listening TCP server'),
    };
  }
  const handle = (server as Server & { _handle?: object })._handle;
  const extras: Server[] = [];
  const forward = (socket: Socket) => {
    if (server.listening) server.emit('connection', socket);
    else socket.destroy(); // the server closed meanwhile: nobody serves it
  };
  let failure: Error | undefined;
  try {
    for (const copy of await copiesOf(handle, copies, options.timeoutMs ?? 5_000)) {
      const extra = new Server(socketOptionsOf(server));
      extra.on('connection', forward);
      // A failed accept (EMFILE) is the server's to report, as on its own handle.
      extra.on('error', (error) => server.emit('error', error));
      extra.listen(copy, options.backlog);
      extras.push(extra);
    }
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
  }
  return {
    added: extras.length,
    ...(failure ? { failure } : {}),
    // Closing a copy's handle is all it takes to stop accepting on it. Not its close callback:
    // that waits for the connections it accepted, which are the server's to end.
    close: () => {
      for (const extra of extras.splice(0)) extra.close();
      return Promise.resolve();
    },
  };
}

/**
 * The options a server gives the sockets it accepts (net.Server keeps them as
 * own properties, untyped), for the copies to give theirs the same.
 */
function socketOptionsOf(server: Server): ServerOpts {
  const own = server as Server & ServerOpts;
  return {
    allowHalfOpen: own.allowHalfOpen,
    pauseOnConnect: own.pauseOnConnect,
    noDelay: own.noDelay,
    keepAlive: own.keepAlive,
    keepAliveInitialDelay: own.keepAliveInitialDelay,
    highWaterMark: own.highWaterMark,
  };
}

/**
 * What the helper process runs: take the handle, send it back `copies` times
 * (each as its own message: IPC passes one handle per message), then leave.
 * Node queues messages behind a handle until the receiver acknowledges it, so
 * the last message goes out after every copy arrived; the listener stays
 * (`on`, not `once`) because a channel nobody listens on lets the process
 * exit before the acknowledgements are read.
 */
const HELPER = `
process.on('message', (message, handle) => {
  for (let i = 0; i < message.copies; i += 1) process.send({ copy: i }, handle);
  process.send({ done: true }, undefined, {}, () => process.disconnect());
});
`;

/** `copies` new descriptors of the listening socket behind `handle`, as raw handles. */
function copiesOf(
  handle: object | undefined,
  copies: number,
  timeoutMs: number,
): Promise<object[]> {
  if (handle === undefined) return Promise.reject(new Error('the server has no handle'));
  return new Promise((resolve, reject) => {
    const received: object[] = [];
    // No environment: the helper needs none, and NODE_OPTIONS (preloads, inspectors) must not
    // follow it. stdio 3 is the IPC channel.
    const child = spawn(process.execPath, ['-e', HELPER], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: {},
    });
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.removeAllListeners();
      // A child process with no 'error' listener throws its errors (a failed kill): none matter now.
      child.on('error', () => undefined);
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) child.kill();
      if (error === undefined) resolve(received);
      else {
        // Copies that came are listened on by nobody: close them, keep none.
        for (const copy of received) (copy as { close?: () => void }).close?.();
        reject(error);
      }
    };
    const timer = setTimeout(
      () => finish(new Error(`the accept-handle helper did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('error', (error) => finish(error));
    // 'close', not 'exit': the channel's last messages are read before it.
    child.once('close', (code, signal) => {
      if (received.length < copies)
        finish(
          new Error(
            `the accept-handle helper exited (${signal ?? code}) after ${received.length} of ${copies} copies`,
          ),
        );
    });
    child.on('message', (message: { done?: boolean }, copy?: object) => {
      if (copy) received.push(copy);
      if (message.done)
        finish(
          received.length === copies
            ? undefined
            : new Error(`the accept-handle helper sent ${received.length} of ${copies} copies`),
        );
    });
    child.send({ copies }, handle as never, (error) => {
      if (error) finish(error);
    });
  });
}
