import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger, type LogLevel, type Logger } from './logger.js';

/** One JSON line a logger wrote: its level label, its message and its fields. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/**
 * For tests: a logger made by `createLogger` whose JSON lines are kept in
 * `lines`, in order, as it writes them (synchronously).
 */
export function capturingLogger(options: { level?: LogLevel; service?: string } = {}): {
  logger: Logger;
  lines: LogLine[];
} {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: options.service ?? 'test',
    level: options.level ?? 'debug',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          lines.push(JSON.parse(line) as LogLine);
        }
        done();
      },
    }),
  });
  return { logger, lines };
}

/** A TCP listener in a child process that can be stopped: see {@link startHeldListener}. */
export interface HeldListener {
  readonly port: number;
  /** Stops the process (SIGSTOP): connections to it then wait in its accept queue. */
  hold(): void;
  /** Lets it run again (SIGCONT): it accepts what waits. */
  release(): void;
  close(): Promise<void>;
}

/**
 * For tests of accept-queue readings: a plain `net` server on 127.0.0.1 in a
 * child process, so the test can stop it (connections pile up in its accept
 * queue, untouched) while its own event loop keeps running.
 */
export async function startHeldListener(): Promise<HeldListener> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "const s = require('node:net').createServer((c) => c.on('error', () => {})); s.listen(0, '127.0.0.1', 511, () => console.log(s.address().port));",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  return {
    port,
    hold: () => child.kill('SIGSTOP'),
    release: () => child.kill('SIGCONT'),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
