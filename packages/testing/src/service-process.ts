import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WaitTimeoutError } from './wait-for.js';

/** One JSON log line a service wrote to stdout. */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

export interface ServiceProcessOptions {
  /** The TypeScript entry point (an app's src/main.ts). */
  readonly entry: string;
  readonly cwd: string;
  /** The whole environment of the child (PATH and HOME are added). */
  readonly env: Readonly<Record<string, string>>;
}

/** A service started from source in a child process, with its JSON logs parsed as they arrive. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Every JSON line written so far. */
  readonly logs: readonly LogRecord[];
  /** Everything written to stderr so far. */
  readonly stderr: () => string;
  /** Resolves with the first log record (past or future) that matches, or rejects at the deadline. */
  waitForLog(match: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process if it still runs. */
  kill(): void;
}

/**
 * Starts an app's composition root the way production does (a separate
 * process, real signals, real exit codes), but from TypeScript source through
 * tsx and the `@fiml/source` condition, so no build is needed first.
 */
export function startServiceProcess(options: ServiceProcessOptions): ServiceProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@fiml/source', '--import', 'tsx', options.entry],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: LogRecord[] = [];
  const waiters = new Set<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        record = { msg: line, level: 'raw' };
      }
      logs.push(record);
      for (const waiter of waiters) {
        if (waiter.match(record)) {
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitForLog(match, timeoutMs = 45_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (record: LogRecord) => {
            clearTimeout(timer);
            resolve(record);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const tail = logs
            .slice(-10)
            .map((r) => JSON.stringify(r))
            .join('\n');
          reject(
            new WaitTimeoutError(
              `a matching log line; last lines:\n${tail}\nstderr:\n${stderr.slice(-2000)}`,
              timeoutMs,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(() => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(
            new Error(
              `the process exited before logging a matching line; stderr:\n${stderr.slice(-2000)}`,
            ),
          );
        });
      });
    },
  };
}
