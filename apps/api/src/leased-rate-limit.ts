import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '@fiml/market';

/**
 * Takes up to ARGV[1] requests of a client's window for one instance, never
 * past ARGV[2] for the window across instances. KEYS[1]: the window's counter
 * (requests leased so far). ARGV[3]: its expiry, ms. Returns { granted, total
 * leased after }.
 */
const LEASE = `
local leased = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - leased)
if grant <= 0 then return { 0, leased } end
leased = redis.call('INCRBY', KEYS[1], grant)
if leased == grant then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return { grant, leased }
`;

type LeaseRedis = Redis & {
  fimlLeaseRequests(
    key: string,
    want: number,
    max: number,
    ttlMs: number,
  ): Promise<[number, number]>;
};

/** One client's standing in the current window, on this instance. */
interface ClientWindow {
  readonly client: string;
  readonly window: number;
  /** Requests leased to this instance and not yet spent. */
  tokens: number;
  /** The window's count across instances at the last lease (leased, spent or not). */
  leasedGlobally: number;
  /** Redis granted nothing: the window is spent everywhere. */
  spent: boolean;
  /** The lease in flight, if any (one per client at a time). */
  leasing: Promise<void> | undefined;
}

export interface LeasedRateLimitOptions {
  /** Where the windows are counted across instances; absent: this instance counts alone. */
  readonly redis?: Redis | Cluster;
  /** Key prefix of the counters (ends with its separator). */
  readonly keyPrefix: string;
  readonly clock: Clock;
  /** Requests per client per window, across every instance. */
  readonly max: number;
  readonly windowMs: number;
  /**
   * Requests one lease takes from Redis. @defaultValue max / 100, at least 1:
   * a round trip per 1 % of the limit, and an exact count for small limits.
   */
  readonly blockSize?: number;
  /** Clients whose windows are remembered; the first seen in their window go first. @defaultValue 10000 */
  readonly maxClients?: number;
}

/** A client's count in the window so far (past `max`: refused) and the ms left in the window. */
export interface LimitCount {
  readonly current: number;
  readonly ttl: number;
}

/** Called with the client's count (synchronously when leased requests remain). */
type Done = (error: Error | null, result?: LimitCount) => void;

/**
 * A request limit per client and fixed window, shared by every api instance
 * without a Redis round trip per request: each instance leases blocks of the
 * window's requests from Redis (one Lua call takes up to a block, never past
 * the limit) and spends them locally; it leases the next block in the
 * background when half of the current one is spent, so a request waits on
 * Redis only when its client's lease ran out at once.
 *
 * The limit is a ceiling: across instances no window admits more than `max`
 * requests of a client. The tolerance is on the other side: requests leased
 * by an instance and not spent there are lost to the others, so a client
 * spread over n instances may be refused after max - 2·(n - 1)·block
 * requests (each other instance holds at most a block and a half). Windows
 * are fixed, numbered from the epoch on the api's clock, so instances agree
 * on them within their clock skew.
 *
 * Used by the api's request-limit hook (request-limit.ts); when Redis fails,
 * `incr` reports the error and the hook lets the request through.
 */
export class LeasedRateLimit {
  readonly #redis: LeaseRedis | undefined;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #block: number;
  readonly #maxClients: number;
  readonly #clients = new Map<string, ClientWindow>();
  #leases = 0;

  constructor(options: LeasedRateLimitOptions) {
    if (!(Number.isInteger(options.max) && options.max > 0)) {
      throw new RangeError(`max must be a positive integer, got ${String(options.max)}`);
    }
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.#redis = options.redis as LeaseRedis | undefined;
    if (this.#redis && typeof this.#redis.fimlLeaseRequests !== 'function') {
      this.#redis.defineCommand('fimlLeaseRequests', { numberOfKeys: 1, lua: LEASE });
    }
    this.#prefix = options.keyPrefix;
    this.#clock = options.clock;
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#block = Math.max(
      1,
      Math.min(options.max, Math.floor(options.blockSize ?? options.max / 100)),
    );
    this.#maxClients = options.maxClients ?? 10_000;
  }

  /** Requests one lease takes. */
  get blockSize(): number {
    return this.#block;
  }

  /** Leases asked of Redis so far (Redis round trips). */
  get leases(): number {
    return this.#leases;
  }

  /** Counts one request of `client`; answers its window's count so far and the time left in it. */
  incr(client: string, done: Done): void {
    const taken = this.take(client);
    if (taken) {
      done(null, taken);
      return;
    }
    const state = this.#windowOf(client, this.#window(this.#clock.now()));
    this.#lease(state).then(
      () => {
        // Granted (or the window found spent): counted now. Nothing to count only when the
        // window turned while the lease was out: then the new window's lease.
        const taken = this.take(client);
        if (taken) done(null, taken);
        else this.incr(client, done);
      },
      (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /**
   * `incr` when it needs no lease: counts one request of `client` from the
   * requests leased to this instance (or answers a window spent
   * everywhere), synchronously; undefined, counting nothing, when this
   * instance holds none of the client's requests (then `incr` leases).
   */
  take(client: string): LimitCount | undefined {
    const now = this.#clock.now();
    const window = this.#window(now);
    const ttl = (window + 1) * this.#windowMs - now;
    const state = this.#windowOf(client, window);
    if (state.tokens > 0) {
      state.tokens -= 1;
      // Past half of the block, the next one is leased in the background.
      if (state.tokens * 2 < this.#block && !state.spent && !state.leasing) {
        void this.#lease(state).catch(() => undefined);
      }
      return { current: Math.min(this.#max, state.leasedGlobally - state.tokens), ttl };
    }
    if (state.spent) return { current: this.#max + 1, ttl };
    return undefined;
  }

  #window(now: number): number {
    return Math.floor(now / this.#windowMs);
  }

  #lease(state: ClientWindow): Promise<void> {
    state.leasing ??= (async () => {
      try {
        this.#leases += 1;
        const [granted, leased] = await this.#grant(state);
        state.tokens += Number(granted);
        state.leasedGlobally = Number(leased);
        if (Number(granted) === 0) state.spent = true;
      } finally {
        state.leasing = undefined;
      }
    })();
    return state.leasing;
  }

  /** One lease: [requests granted, the window's count across instances after it]. */
  #grant(state: ClientWindow): Promise<[number, number]> {
    if (!this.#redis) {
      // Alone, this instance's count is the window's.
      const granted = Math.max(0, Math.min(this.#block, this.#max - state.leasedGlobally));
      return Promise.resolve([granted, state.leasedGlobally + granted]);
    }
    return this.#redis.fimlLeaseRequests(
      `${this.#prefix}${state.window}:${state.client}`,
      this.#block,
      this.#max,
      this.#windowMs * 2,
    );
  }

  #windowOf(client: string, window: number): ClientWindow {
    const known = this.#clients.get(client);
    if (known && known.window === window) return known;
    // A client's entry is (re)inserted at its first request of a window, so
    // the first entries of the map are the ones seen longest ago.
    if (known) this.#clients.delete(client);
    else if (this.#clients.size >= this.#maxClients) {
      const oldest = this.#clients.keys().next().value;
      if (oldest !== undefined) this.#clients.delete(oldest);
    }
    const fresh: ClientWindow = {
      client,
      window,
      tokens: 0,
      leasedGlobally: 0,
      spent: false,
      leasing: undefined,
    };
    this.#clients.set(client, fresh);
    return fresh;
  }
}
