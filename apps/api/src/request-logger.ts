import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from '@fiml/runtime';

type Bindings = Parameters<Logger['child']>[0];
type ChildLoggerOptions = NonNullable<Parameters<Logger['child']>[1]>;

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger, made when the request first logs something its level
 * lets through. Fastify gives every request a child logger bound to its id,
 * and pino's child() serializes its bindings at once, through the redaction
 * of secrets: about 2.3 KB and a few µs per request (bench/README.md, issue
 * 16), spent on every cache hit although at the default level a hit never
 * logs. Until then this stands in: the same methods, the root logger's level.
 */
export class LazyRequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  /** The child logger, made now if it was not yet. */
  #logger(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings));
  }

  #log(level: Level, args: unknown[]): void {
    if (this.#child === undefined && !this.parent.isLevelEnabled(level)) return;
    const logger = this.#logger();
    logger[level](...(args as Parameters<FastifyBaseLogger[Level]>));
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }

  // Methods on the prototype: a request that never logs allocates nothing but this object.
  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/**
 * Fastify's childLoggerFactory for the api: a lazy request logger, unless
 * the route sets its own level or serializers (then pino's child at once).
 */
export function lazyRequestLoggers(
  this: unknown,
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) {
    return logger.child(bindings, options);
  }
  return new LazyRequestLogger(logger as Logger, bindings);
}

/** The fields of the api's one log line per request (ms rounded to hundredths). */
export function requestLine(
  method: string,
  url: string,
  statusCode: number,
  ms: number,
  key: string | undefined,
): { method: string; url: string; statusCode: number; ms: number; key: string | undefined } {
  return { method, url, statusCode, ms: Math.round(ms * 100) / 100, key };
}
