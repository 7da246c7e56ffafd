import type { Clock } from '@fiml/market';
import type { CacheErrorComponent, CacheErrorOperation } from '../cache-events.js';
import { CacheUnavailableError } from './cache-errors.js';
import type { CacheEmitter } from './cache-emitter.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CacheLogger } from './types.js';

/** What a guarded call resolves to when Redis was skipped (none configured, or the circuit is open) or failed. */
export const SKIPPED: unique symbol = Symbol('skipped');
export type Skipped = typeof SKIPPED;

export interface RedisGuardOptions {
  readonly clock: Clock;
  readonly events: CacheEmitter;
  readonly logger: CacheLogger;
  /** Whether there is a cache Redis at all (an L1-only manager has none). */
  readonly enabled: boolean;
  /** @defaultValue 3 */
  readonly failureThreshold?: number;
  /** @defaultValue 1000 */
  readonly cooldownMs?: number;
}

/**
 * Every call the cache makes to Redis goes through here: behind the circuit
 * breaker (a dead Redis adds no latency to reads), with each failure counted,
 * reported as an `error` event and the breaker's state changes as `circuit`
 * events. Reads use {@link attempt} and degrade (a skipped L2 read is a miss);
 * writes, deletes and invalidations use {@link require} and reject with a
 * {@link CacheUnavailableError}, so their callers never report a success that
 * did not happen.
 */
export class RedisGuard {
  readonly #breaker: CircuitBreaker;
  readonly #events: CacheEmitter;
  readonly enabled: boolean;

  constructor(options: RedisGuardOptions) {
    this.enabled = options.enabled;
    this.#events = options.events;
    this.#breaker = new CircuitBreaker({
      clock: options.clock,
      ...(options.failureThreshold === undefined
        ? {}
        : { failureThreshold: options.failureThreshold }),
      ...(options.cooldownMs === undefined ? {} : { cooldownMs: options.cooldownMs }),
      onChange: (state, failures) => {
        this.#events.emit('circuit', { state, failures });
        if (state === 'open')
          options.logger.warn(
            { failures },
            'cache Redis unavailable; serving from L1 and upstream',
          );
        if (state === 'closed') options.logger.warn({}, 'cache Redis available again');
      },
    });
  }

  get state(): 'closed' | 'open' | 'half-open' {
    return this.#breaker.state;
  }

  /** Runs a Redis call behind the breaker; SKIPPED when Redis is off, the circuit open, or the call failed. */
  async attempt<T>(
    component: CacheErrorComponent,
    operation: CacheErrorOperation,
    call: () => Promise<T>,
  ): Promise<T | Skipped> {
    if (!this.enabled || !this.#breaker.allow()) return SKIPPED;
    try {
      const result = await call();
      this.#breaker.success();
      return result;
    } catch (error) {
      this.failed(component, operation, error);
      return SKIPPED;
    }
  }

  /** Like {@link attempt}, but a skip or failure rejects with {@link CacheUnavailableError}. */
  async require<T>(
    component: CacheErrorComponent,
    operation: CacheErrorOperation,
    call: () => Promise<T>,
  ): Promise<T> {
    if (!this.enabled || !this.#breaker.allow()) throw this.unavailable(operation);
    try {
      const result = await call();
      this.#breaker.success();
      return result;
    } catch (error) {
      this.failed(component, operation, error);
      throw this.unavailable(operation, error);
    }
  }

  /** Counts a failure that a call reported without throwing (a failed outcome of a write). */
  failed(
    component: CacheErrorComponent,
    operation: CacheErrorOperation,
    error: unknown,
    key?: string,
  ): void {
    this.#breaker.failure();
    this.#events.emit('error', {
      component,
      operation,
      error: error instanceof Error ? error : new Error(String(error)),
      ...(key === undefined ? {} : { key }),
    });
  }

  succeeded(): void {
    this.#breaker.success();
  }

  /** Whether a call may go to Redis now (takes the half-open trial slot when it says yes). */
  allow(): boolean {
    return this.enabled && this.#breaker.allow();
  }

  unavailable(operation: string, cause?: unknown): CacheUnavailableError {
    const retryAfterMs = Math.max(1_000, this.#breaker.retryAfterMs());
    return new CacheUnavailableError(
      operation,
      retryAfterMs,
      cause === undefined ? undefined : { cause },
    );
  }
}
