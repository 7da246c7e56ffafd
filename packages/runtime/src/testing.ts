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
