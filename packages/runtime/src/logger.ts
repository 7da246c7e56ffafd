import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';
export type LogLevel = Level | 'silent';

/**
 * Field paths whose values never reach a log line. Covers the shapes we log:
 * option objects, HTTP request headers, and provider configuration.
 */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
];

export interface LoggerOptions {
  /** The process or component name, written as `service` on every line. */
  readonly service: string;
  /** @defaultValue 'info' */
  readonly level?: LogLevel;
  /**
   * Human-readable coloured lines instead of JSON. For development only: it
   * formats synchronously on the calling thread.
   * @defaultValue false
   */
  readonly pretty?: boolean;
  /** Where lines go. @defaultValue standard output */
  readonly destination?: DestinationStream;
}

/**
 * The process's one logger: JSON lines in production (one object per line,
 * ISO timestamps, secrets redacted), pretty lines in development. Components
 * take `logger.child({ component })`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    level: options.level ?? 'info',
    base: { service: options.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const prettyOptions = {
    colorize: options.destination === undefined,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  };
  const destination = options.pretty
    ? pretty(
        options.destination
          ? { ...prettyOptions, destination: options.destination as NodeJS.WritableStream }
          : prettyOptions,
      )
    : (options.destination ?? pino.destination({ sync: true }));
  return pino(pinoOptions, destination);
}
