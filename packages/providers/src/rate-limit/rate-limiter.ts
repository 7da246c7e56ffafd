import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { systemClock, type Clock } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { ProviderConfigError } from '../provider-config-error.js';
import { rateLimitCommands, type RateLimitCommands } from './rate-limit-commands.js';
import { assertValidWindows, type RateLimitWindow } from './rate-limit-window.js';
import { SlidingWindowLog, type WindowBudget } from './sliding-window-log.js';

export type { WindowBudget } from './sliding-window-log.js';

export type AcquireResult =
  | { readonly granted: true }
  | {
      readonly granted: false;
      /** When the same request would be granted (if nobody else takes the room first). */
      readonly retryAfterMs: number;
      /** `window`: a window is full; `penalty`: an upstream 429 asked us to wait. */
      readonly reason: 'window' | 'penalty';
    };

/** Options of {@link RateLimiter.tryAcquire}. */
export interface AcquireOptions {
  /**
   * Grant only if every window of the provider (so its tightest one) still
   * has MORE than `keep` calls left after this grant; otherwise refuse with
   * the wait until it would. Checked in the same atomic step that takes the
   * calls (one Lua script on Redis), so concurrent callers in any process
   * cannot together spend past it. While Redis is unreachable it is scaled by
   * the degraded share, like the limits. A non-negative integer.
   * @defaultValue undefined: the grant may take the last call of a window
   */
  readonly keep?: number;
}

/** A provider's budget, for the scheduler and the warmer to plan with. */
export interface RateBudget {
  readonly providerId: string;
  /** One entry per configured window, in configuration order. */
  readonly windows: readonly WindowBudget[];
  /** Calls that would be granted now: the smallest remaining of all windows, 0 while penalized. */
  readonly remaining: number;
  /** Time left on an upstream 429's Retry-After; 0 when none. */
  readonly blockedForMs: number;
  /** True while Redis is unreachable and this process counts alone (with its reduced share). */
  readonly degraded: boolean;
}

export interface RateLimiterOptions {
  /**
   * The cache Redis (an ioredis client created by the app with fail-fast
   * options). Without one the limiter is process-local: right for tests,
   * simulators and single-process tools, wrong for a deployment.
   */
  readonly redis?: Redis | Cluster;
  /** Windows per provider id; more can be added with {@link RateLimiter.define}. */
  readonly limits?: Readonly<Record<string, readonly RateLimitWindow[]>>;
  /** Prefix of every key. Keys are `<prefix>:{<providerId>}:…`. @defaultValue 'fiml-rl' */
  readonly keyPrefix?: string;
  /**
   * Time of the process-local counting: without Redis, and while Redis is
   * unreachable. The shared windows and penalties in Redis always use the
   * Redis server's time, so processes with skewed clocks share one budget.
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /**
   * While Redis is unreachable, the share of each limit one process may use on
   * its own (at least one call per window). With P processes, at most
   * P × share of a limit can be spent in an outage: 1 / P makes that a hard
   * guarantee, the default trades some risk of a 429 for progress.
   * @defaultValue 0.5
   */
  readonly degradedShare?: number;
  /** A Redis call slower than this counts as Redis being down. @defaultValue 1000 */
  readonly redisTimeoutMs?: number;
  /** While degraded, how often one call probes Redis again. @defaultValue 1000 */
  readonly probeIntervalMs?: number;
}

/** Event map of {@link RateLimiter}. */
export interface RateLimiterEvents {
  /** Redis became unreachable; the limiter counts locally until it is back. Once per outage. */
  degraded: [info: { readonly error: Error }];
  /** Redis answers again; calls granted meanwhile were written back to it. */
  recovered: [];
}

interface ProviderState {
  readonly windows: readonly RateLimitWindow[];
  /** This process's own calls: mirrors Redis grants so an outage starts from real history. */
  readonly local: SlidingWindowLog;
  /** Calls granted while degraded, not yet written to Redis. */
  unsynced: number[];
  penaltyUntil: number;
  readonly keys: readonly string[];
}

/**
 * Rate limits shared by every process through the cache Redis: each provider
 * has several windows (5/min and 500/day), a call is counted in all or none,
 * an upstream 429 blocks every process until its Retry-After, and the
 * remaining budget is readable for planning. Shared counts live on the
 * Redis server's clock; the injected clock drives only the local counting
 * (no Redis, or Redis down). See the package README for the design and the
 * Redis-down behaviour.
 */
export class RateLimiter extends EventEmitter<RateLimiterEvents> {
  readonly #redis: Redis | Cluster | undefined;
  readonly #commands: RateLimitCommands | undefined;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #log: Logger | undefined;
  readonly #share: number;
  readonly #timeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #providers = new Map<string, ProviderState>();
  readonly #instance = randomUUID().slice(0, 8);
  #sequence = 0;
  #degraded = false;
  #nextProbeAt = 0;

  constructor(options: RateLimiterOptions = {}) {
    super();
    this.#redis = options.redis;
    this.#commands = options.redis ? rateLimitCommands(options.redis) : undefined;
    this.#prefix = options.keyPrefix ?? 'fiml-rl';
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger?.child({ component: 'rate-limiter' });
    this.#share = options.degradedShare ?? 0.5;
    if (!(this.#share > 0 && this.#share <= 1))
      throw new RangeError(`degradedShare must be in (0, 1], got ${this.#share}`);
    this.#timeoutMs = options.redisTimeoutMs ?? 1_000;
    this.#probeIntervalMs = options.probeIntervalMs ?? 1_000;
    for (const [id, windows] of Object.entries(options.limits ?? {})) this.define(id, windows);
  }

  /** Whether Redis is currently unreachable and limits are counted locally. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Whether the limiter shares its counts through Redis at all. */
  get shared(): boolean {
    return this.#redis !== undefined;
  }

  /** Sets (or replaces) a provider's windows. An empty list means "no limit" (penalties still apply). */
  define(providerId: string, windows: readonly RateLimitWindow[]): void {
    assertValidWindows(providerId, windows);
    const tag = `${this.#prefix}:{${providerId}}`;
    this.#providers.set(providerId, {
      windows: [...windows],
      local: new SlidingWindowLog(windows),
      unsynced: [],
      penaltyUntil: 0,
      keys: [`${tag}:penalty`, ...windows.map((w) => `${tag}:w${w.windowMs}`)],
    });
  }

  /** Whether a provider has windows defined. */
  has(providerId: string): boolean {
    return this.#providers.has(providerId);
  }

  /** The windows of a provider. */
  windows(providerId: string): readonly RateLimitWindow[] {
    return this.#state(providerId).windows;
  }

  /**
   * Takes `n` calls from every window of a provider, or none. Never waits and
   * never rejects for Redis trouble (it counts locally then). With
   * `options.keep`, leaves more than `keep` calls in every window or takes
   * nothing (see {@link AcquireOptions.keep}).
   */
  async tryAcquire(
    providerId: string,
    n = 1,
    options: AcquireOptions = {},
  ): Promise<AcquireResult> {
    const state = this.#state(providerId);
    const smallest = Math.min(...state.windows.map((w) => w.limit));
    if (!Number.isInteger(n) || n < 1 || n > smallest) {
      throw new RangeError(
        `tryAcquire(${providerId}, n): n must be an integer 1..${smallest}, got ${n}`,
      );
    }
    const { keep } = options;
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0)) {
      throw new RangeError(`tryAcquire(${providerId}): keep must be an integer >= 0, got ${keep}`);
    }
    const now = this.#clock.now();
    if (this.#useRedis(now)) {
      try {
        const result = await this.#acquireShared(state, now, n, keep);
        // Mirrored on the local clock, so an outage starts from this process's real history.
        this.#healthy();
        if (result.granted) state.local.record(now, n);
        return result;
      } catch (error) {
        this.#degrade(error);
      }
    }
    if (state.penaltyUntil > now)
      return { granted: false, retryAfterMs: state.penaltyUntil - now, reason: 'penalty' };
    const share = this.#redis ? this.#share : 1;
    // Degraded, this process counts against its share of each limit: it keeps the same share.
    const localKeep = keep === undefined ? undefined : Math.floor(keep * share);
    const local = state.local.tryAcquire(now, n, share, localKeep);
    if (!local.granted)
      return { granted: false, retryAfterMs: local.retryAfterMs, reason: 'window' };
    if (this.#redis) for (let i = 0; i < n; i += 1) state.unsynced.push(now);
    return { granted: true };
  }

  /**
   * An upstream refused a call with 429: no process calls this provider until
   * `retryAfterMs` from now (Redis's now, for the shared penalty). Extends an
   * existing penalty, never shortens it.
   */
  async penalize(providerId: string, retryAfterMs: number): Promise<void> {
    const state = this.#state(providerId);
    const ms = Math.max(1, Math.ceil(retryAfterMs));
    state.penaltyUntil = Math.max(state.penaltyUntil, this.#clock.now() + ms);
    if (!this.#commands || this.#degraded) return;
    try {
      await this.#withTimeout(this.#commands.fimlRateLimitPenalize(state.keys[0]!, ms));
    } catch (error) {
      this.#degrade(error);
    }
  }

  /** What is left of each window's budget now. Reads only; grants nothing. */
  async remaining(providerId: string): Promise<RateBudget> {
    const state = this.#state(providerId);
    const now = this.#clock.now();
    if (this.#redis && !this.#degraded) {
      try {
        return await this.#remainingShared(providerId, state);
      } catch (error) {
        this.#degrade(error);
      }
    }
    const windows = state.local.remaining(now, this.#redis ? this.#share : 1);
    return this.#budget(providerId, windows, Math.max(0, state.penaltyUntil - now));
  }

  #budget(providerId: string, windows: readonly WindowBudget[], blockedForMs: number): RateBudget {
    const remaining =
      blockedForMs > 0 ? 0 : Math.min(Number.POSITIVE_INFINITY, ...windows.map((w) => w.remaining));
    return { providerId, windows, remaining, blockedForMs, degraded: this.#degraded };
  }

  async #remainingShared(providerId: string, state: ProviderState): Promise<RateBudget> {
    const reply = await this.#withTimeout(
      this.#commands!.fimlRateLimitBudget(
        state.keys.length,
        ...state.keys,
        ...state.windows.map((w) => w.windowMs),
      ),
    );
    const windows = state.windows.map((w, i): WindowBudget => {
      const used = reply[1 + 2 * i]!;
      return {
        limit: w.limit,
        windowMs: w.windowMs,
        used,
        remaining: Math.max(0, w.limit - used),
        resetInMs: reply[2 + 2 * i]!,
      };
    });
    return this.#budget(providerId, windows, reply[0]!);
  }

  async #acquireShared(
    state: ProviderState,
    now: number,
    n: number,
    keep: number | undefined,
  ): Promise<AcquireResult> {
    // Calls granted during an outage are written back, so the windows stay true after it. They
    // go as ages (ms before now on this process's clock): Redis places them on its own clock.
    const longest = Math.max(0, ...state.windows.map((w) => w.windowMs));
    const pending = state.unsynced;
    state.unsynced = [];
    const backfill = pending.filter((at) => at > now - longest);
    const member = `${this.#instance}:${(this.#sequence += 1)}`;
    let reply: [number, number, number];
    try {
      reply = await this.#withTimeout(
        this.#commands!.fimlRateLimitAcquire(
          state.keys.length,
          ...state.keys,
          n,
          // -1: no reserve, the grant may take a window's last call (see acquire-n.lua).
          keep ?? -1,
          member,
          ...state.windows.flatMap((w) => [w.windowMs, w.limit]),
          backfill.length,
          ...backfill.map((at) => Math.max(0, now - at)),
        ),
      );
    } catch (error) {
      // Not written (or not known to be): keep them for the next attempt. Writing twice only over-counts.
      state.unsynced = [...backfill, ...state.unsynced];
      throw error;
    }
    if (reply[0] === 1) return { granted: true };
    return {
      granted: false,
      retryAfterMs: reply[1],
      reason: reply[2] === 0 ? 'penalty' : 'window',
    };
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      timer.unref();
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  #useRedis(now: number): boolean {
    if (!this.#redis) return false;
    if (!this.#degraded) return true;
    if (now < this.#nextProbeAt) return false;
    // One call per interval probes Redis; the others keep counting locally meanwhile.
    this.#nextProbeAt = now + this.#probeIntervalMs;
    return true;
  }

  #degrade(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.#nextProbeAt = this.#clock.now() + this.#probeIntervalMs;
    if (this.#degraded) return;
    this.#degraded = true;
    this.#log?.warn(
      { err, degradedShare: this.#share },
      'rate limiter cannot reach Redis; counting locally with a reduced share of each limit',
    );
    this.emit('degraded', { error: err });
  }

  #healthy(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#log?.info('rate limiter reaches Redis again; shared counting resumed');
    this.emit('recovered');
  }

  #state(providerId: string): ProviderState {
    const state = this.#providers.get(providerId);
    if (!state) {
      throw new ProviderConfigError(
        `No rate limits defined for provider "${providerId}". Defined: ${[...this.#providers.keys()].join(', ') || '(none)'}.`,
      );
    }
    return state;
  }
}
