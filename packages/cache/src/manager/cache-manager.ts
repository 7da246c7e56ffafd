import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { isDataType, systemClock, type AssetType, type Clock, type DataType } from '@fiml/market';
import type {
  CacheEventName,
  CacheEvents,
  CacheLevel,
  EvictionCause,
  WriteSource,
} from '../cache-events.js';
import { KEY_SCHEME_VERSION, assertValidKey, cacheKey, parseCacheKey } from '../cache-keys.js';
import { L1Cache } from '../l1/l1-cache.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import { L2Store, type L2Read } from '../l2/l2-store.js';
import { BatchCoalescer } from './batch-coalescer.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { InvalidationBus, type InvalidationMessage } from './invalidation-bus.js';
import { KeyLocks } from './key-locks.js';
import type {
  AssetKey,
  BatchLoader,
  BatchReadResult,
  CacheLogger,
  CacheRead,
  Fetched,
  FreshnessPolicy,
  LoadResult,
  RevalidateRequest,
  SetOptions,
} from './types.js';

/** What the L1 holds: the entry, and whether anyone read it (for pollution accounting). */
export interface L1Value {
  readonly entry: CacheEntry;
  read: boolean;
}

export interface CacheManagerOptions {
  /** Freshness TTL per write; `new TtlPolicy()` from @fiml/market is the market-aware one. */
  readonly ttlPolicy: FreshnessPolicy;
  /** The in-process tier. @defaultValue new L1Cache({ maxEntries: 10000 }) (ADAPTIVE) */
  readonly l1?: L1Cache<L1Value>;
  /**
   * The cache Redis (a cache-role connection that fails fast). Without it the
   * manager runs L1-only: no L2, no cross-instance locks or invalidations.
   */
  readonly redis?: Redis | Cluster;
  /** A connection for the invalidation subscription; the manager owns it. @defaultValue redis.duplicate() */
  readonly subscriber?: Redis | Cluster;
  /** First segment of Redis keys and channels. @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Coalescing loaders per (data type, asset type), used by `read` and `readMany`. */
  readonly loaderFor?: (dataType: DataType, assetType: AssetType) => BatchLoader | undefined;
  /**
   * Called once per key when a stale entry is served, to refresh it in the
   * background (the api enqueues an urgent refresh job). Without it, the
   * manager refreshes in-process through the same read path.
   */
  readonly onStale?: (request: RevalidateRequest) => void;
  /**
   * How long past its freshness an entry is still served at once while it is
   * refreshed in the background, as a multiple of its TTL. @defaultValue 1
   */
  readonly staleWhileRevalidateFactor?: number;
  /** How long past its freshness an entry may still be served when the fetch fails. @defaultValue 3600000 */
  readonly staleIfErrorMs?: number;
  /** Freshness of a cached "not found". @defaultValue 60000 */
  readonly negativeTtlMs?: number;
  /** How long a fetch lock lives in Redis (bounds the wait when its holder dies). @defaultValue 5000 */
  readonly lockTtlMs?: number;
  /** How long to wait for another instance's fetch before fetching anyway. @defaultValue 5000 */
  readonly lockWaitMs?: number;
  /** The coalescing window of batch loaders, ms. @defaultValue 2 */
  readonly coalesceWindowMs?: number;
  /** L2 circuit breaker: consecutive failures before it opens. @defaultValue 3 */
  readonly breakerFailureThreshold?: number;
  /** L2 circuit breaker: first cooldown, doubling to 30 s. @defaultValue 1000 */
  readonly breakerCooldownMs?: number;
  /** @defaultValue a logger that writes nothing */
  readonly logger?: CacheLogger;
  /** This instance's id on the invalidation channel and in lock values. @defaultValue a random UUID */
  readonly instanceId?: string;
}

/** Thrown by `read`/`readMany` for a route with no loader. */
export class NoLoaderError extends Error {
  readonly code = 'FIML_CACHE_NO_LOADER';
  constructor(dataType: DataType, assetType: AssetType) {
    super(`no loader serves ${assetType} ${dataType}`);
    this.name = 'NoLoaderError';
  }
}

/** A fetch function broke its contract (resolved undefined, or a value of undefined). */
export class InvalidFetchResultError extends TypeError {
  readonly code = 'FIML_CACHE_INVALID_FETCH_RESULT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFetchResultError';
  }
}

/** Thrown when an upstream fetch fails and no stale value can stand in. */
export class FetchFailedError extends Error {
  readonly code = 'FIML_CACHE_FETCH_FAILED';
  constructor(key: string, options: { cause: unknown }) {
    super(`fetching ${key} failed and nothing is cached to serve instead`, options);
    this.name = 'FetchFailedError';
  }
}

const SKIPPED: unique symbol = Symbol('skipped');
const MAX_REMEMBERED_KEYS = 10_000;
const silentLogger: CacheLogger = { warn: () => undefined, error: () => undefined };

type Phase = 'fresh' | 'revalidate' | 'stale-if-error' | 'expired';
interface Source {
  readonly id: string;
  load(items: readonly Item[]): Promise<ReadonlyMap<string, LoadResult>>;
}
interface Item {
  readonly key: string;
  readonly asset: AssetKey;
}

/**
 * The read path: L1 -> L2 -> upstream, with one upstream call per key per
 * freshness window however many readers and instances miss it at once.
 *
 * - Single-flight per key in this process; a short Redis lock per key across
 *   processes (the others wait for the holder's write, announced on the
 *   invalidation channel).
 * - Misses for different symbols of one route coalesce into batch calls
 *   (`read`/`readMany` through a {@link BatchLoader}).
 * - Stale-while-revalidate: inside the revalidation window a stale entry is
 *   served at once and refreshed once in the background. Stale-if-error:
 *   further past freshness, the fetch goes first and the stale entry stands in
 *   only if it fails. Not-found answers are cached briefly.
 * - Every write publishes its keys; every instance drops them from its L1.
 * - A dead cache Redis trips a circuit breaker: reads go L1 -> upstream with
 *   no Redis latency, and recover by themselves.
 *
 * Every step emits a typed event ({@link CacheEvents}) for analytics and metrics.
 */
export class CacheManager {
  readonly l1: L1Cache<L1Value>;
  readonly l2: L2Store | undefined;
  readonly instanceId: string;
  readonly #options: CacheManagerOptions;
  readonly #clock: Clock;
  readonly #logger: CacheLogger;
  readonly #emitter = new EventEmitter();
  readonly #breaker: CircuitBreaker;
  readonly #locks: KeyLocks | undefined;
  readonly #bus: InvalidationBus | undefined;
  readonly #inflight = new Map<string, Promise<CacheRead>>();
  readonly #coalescers = new Map<string, BatchCoalescer<Item, CacheEntry | Error>>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #revalidating = new Set<string>();
  readonly #staleRequested = new Map<string, number>();
  readonly #corruptLogged = new Set<string>();
  readonly #swrFactor: number;
  readonly #staleIfErrorMs: number;
  readonly #negativeTtlMs: number;
  readonly #lockWaitMs: number;

  constructor(options: CacheManagerOptions) {
    if (!options || typeof options.ttlPolicy?.ttl !== 'function') {
      throw new TypeError('CacheManager needs a ttlPolicy with ttl(dataType, assetType, now)');
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#swrFactor = nonNegative(
      options.staleWhileRevalidateFactor ?? 1,
      'staleWhileRevalidateFactor',
    );
    this.#staleIfErrorMs = nonNegative(options.staleIfErrorMs ?? 3_600_000, 'staleIfErrorMs');
    this.#negativeTtlMs = positive(options.negativeTtlMs ?? 60_000, 'negativeTtlMs');
    this.#lockWaitMs = nonNegative(options.lockWaitMs ?? 5_000, 'lockWaitMs');
    this.instanceId = options.instanceId ?? randomUUID();
    const prefix = options.keyPrefix ?? 'fiml';

    this.l1 = options.l1 ?? new L1Cache<L1Value>({ maxEntries: 10_000, clock: this.#clock });
    this.l1.on('evict', ({ key, value, reason }) => this.#emitEvict(key, value, reason));
    this.l1.on('expire', ({ key, value }) => this.#emitEvict(key, value, 'expired'));

    this.#breaker = new CircuitBreaker({
      clock: this.#clock,
      ...(options.breakerFailureThreshold === undefined
        ? {}
        : { failureThreshold: options.breakerFailureThreshold }),
      ...(options.breakerCooldownMs === undefined ? {} : { cooldownMs: options.breakerCooldownMs }),
      onChange: (state, failures) => {
        this.#emit('circuit', { state, failures });
        if (state === 'open')
          this.#logger.warn({ failures }, 'cache Redis unavailable; serving from L1 and upstream');
        if (state === 'closed') this.#logger.warn({}, 'cache Redis available again');
      },
    });

    if (options.redis) {
      this.l2 = new L2Store({ redis: options.redis, keyPrefix: prefix, clock: this.#clock });
      this.#locks = new KeyLocks({
        redis: options.redis,
        prefix: `${prefix}:${KEY_SCHEME_VERSION}:lock:`,
        owner: this.instanceId,
        ttlMs: positive(options.lockTtlMs ?? 5_000, 'lockTtlMs'),
      });
      this.#bus = new InvalidationBus({
        publisher: options.redis,
        subscriber: options.subscriber ?? subscriberFor(options.redis),
        channel: `${prefix}:${KEY_SCHEME_VERSION}:invalidations`,
        instanceId: this.instanceId,
        onMessage: (message) => this.#onInvalidation(message),
        onReconnect: () => {
          const dropped = this.l1.size;
          this.l1.clear();
          this.#emit('invalidate', { keys: dropped, origin: 'reconnect' });
          this.#logger.warn(
            { dropped },
            'invalidation channel reconnected; cleared L1 (messages may have been missed)',
          );
        },
        onError: (error, operation) =>
          this.#emit('error', { component: 'invalidation', operation, error }),
      });
    } else {
      this.l2 = undefined;
      this.#locks = undefined;
      this.#bus = undefined;
    }
  }

  /** Subscribes to the invalidation channel. Reads and writes work before it; coherence starts here. */
  async start(): Promise<void> {
    await this.#bus?.start();
  }

  async close(): Promise<void> {
    await this.#bus?.close();
  }

  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }

  /** The L2 circuit breaker's state. */
  get circuitState(): 'closed' | 'open' | 'half-open' {
    return this.#breaker.state;
  }

  // ------------------------------------------------------------------ reads

  /** The cached entry (fresh, or stale inside its window) without fetching; undefined when none. */
  async get<V = unknown>(key: string): Promise<CacheRead<V> | undefined> {
    assertValidKey(key);
    const started = performance.now();
    const found = await this.#lookup(key, started);
    if (found) return found as CacheRead<V>;
    return undefined;
  }

  /** Many cached entries at once (one L2 round trip for the L1 misses), in order of `keys`. */
  async getMany<V = unknown>(keys: readonly string[]): Promise<(CacheRead<V> | undefined)[]> {
    keys.forEach(assertValidKey);
    const started = performance.now();
    const now = this.#clock.now();
    const results = new Array<CacheRead<V> | undefined>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const hit = this.#fromL1(key, now, started);
      if (hit && hit.phase !== 'stale-if-error') results[i] = hit.read as CacheRead<V>;
      else missing.push(i);
    });
    const reads = await this.#l2GetMany(missing.map((i) => keys[i]!));
    missing.forEach((keyIndex, j) => {
      const found = this.#fromL2(keys[keyIndex]!, reads[j], now, started);
      if (found && found.phase !== 'stale-if-error') results[keyIndex] = found.read as CacheRead<V>;
    });
    return results;
  }

  /**
   * Read-through with a fetch function (the original FIML's signature): L1,
   * then L2, then `fetchFn` once per key however many callers miss at once.
   */
  async getWithReadThrough<V = unknown>(
    key: string,
    dataType: DataType,
    fetchFn: () => Promise<Fetched<V>>,
    asset: AssetKey,
  ): Promise<CacheRead<V>> {
    assertValidKey(key);
    assertDataType(dataType);
    if (typeof fetchFn !== 'function')
      throw new TypeError('fetchFn must be a function returning a promise');
    const source: Source = {
      id: 'fetch-fn',
      load: async () => new Map([[key, checkFetched(await fetchFn(), key)]]),
    };
    return (await this.#read(key, dataType, asset, () =>
      this.#fetchBatch(source, dataType, [{ key, asset }]).then((m) => m.get(key)!),
    )) as CacheRead<V>;
  }

  /** Read-through for one symbol through the route's coalescing loader. */
  async read<V = unknown>(
    dataType: DataType,
    assetType: AssetType,
    symbol: string,
  ): Promise<CacheRead<V>> {
    assertDataType(dataType);
    const key = cacheKey(dataType, assetType, symbol);
    assertValidKey(key);
    const coalescer = this.#coalescerFor(dataType, assetType);
    const asset = { symbol, assetType };
    return (await this.#read(key, dataType, asset, () =>
      coalescer.load({ key, asset }),
    )) as CacheRead<V>;
  }

  /**
   * Read-through for many symbols of one route: one L2 round trip for the L1
   * misses, and the rest fetched in as few upstream calls as the loader's
   * batch size allows. A failure is reported per symbol, never for the batch.
   */
  async readMany<V = unknown>(
    dataType: DataType,
    assetType: AssetType,
    symbols: readonly string[],
  ): Promise<BatchReadResult<V>[]> {
    assertDataType(dataType);
    const keys = symbols.map((symbol) => {
      const key = cacheKey(dataType, assetType, symbol);
      assertValidKey(key);
      return key;
    });
    const coalescer = this.#coalescerFor(dataType, assetType);
    const started = performance.now();
    const now = this.#clock.now();
    const answered = new Map<number, CacheRead>();
    const fallbacks = new Map<number, { read: CacheRead; level: CacheLevel }>();
    const needL2: number[] = [];
    const fetchOf = (i: number) => {
      const asset = { symbol: symbols[i]!, assetType };
      return () => coalescer.load({ key: keys[i]!, asset });
    };
    const revalidateOf = (i: number) => () =>
      this.#revalidate(keys[i]!, dataType, { symbol: symbols[i]!, assetType }, fetchOf(i));
    keys.forEach((key, i) => {
      const hit = this.#fromL1(key, now, started, revalidateOf(i));
      if (hit && hit.phase !== 'stale-if-error') answered.set(i, hit.read);
      else if (hit) fallbacks.set(i, { read: hit.read, level: 'l1' });
      else needL2.push(i);
    });
    const l2Reads = await this.#l2GetMany(needL2.map((i) => keys[i]!));
    needL2.forEach((keyIndex, j) => {
      const found = this.#fromL2(keys[keyIndex]!, l2Reads[j], now, started, revalidateOf(keyIndex));
      if (found && found.phase !== 'stale-if-error') answered.set(keyIndex, found.read);
      else if (found) fallbacks.set(keyIndex, { read: found.read, level: 'l2' });
    });
    return Promise.all(
      keys.map(async (key, i): Promise<BatchReadResult<V>> => {
        const symbol = symbols[i]!;
        try {
          const known = answered.get(i);
          // Both tiers were read above: a miss goes straight upstream, in this tick, so
          // all the misses of the batch share the loader's calls.
          const read =
            known ??
            (await this.#fetchThrough(key, dataType, fetchOf(i), fallbacks.get(i), started));
          return { symbol, status: 'ok', read: read as CacheRead<V> };
        } catch (error) {
          return { symbol, status: 'error', error: asError(error) };
        }
      }),
    );
  }

  /** Cached prices of many assets, without fetching (original FIML API). */
  async getPricesBatch<V = unknown>(
    assets: readonly AssetKey[],
  ): Promise<(CacheRead<V> | undefined)[]> {
    return this.getMany<V>(assets.map((a) => cacheKey('price', a.assetType, a.symbol)));
  }

  // ----------------------------------------------------------------- writes

  /** Writes a value with the market-aware TTL for its data type, to L1 and L2, and tells other instances. */
  async set<V>(key: string, value: V, options: SetOptions): Promise<CacheEntry<V>> {
    const [entry] = await this.setMany([[key, value, options]]);
    return entry as CacheEntry<V>;
  }

  /** Writes many values in one L2 round trip (`atomic`: one MULTI/EXEC). */
  async setMany(
    items: readonly (readonly [key: string, value: unknown, options: SetOptions])[],
    options: { readonly atomic?: boolean } = {},
  ): Promise<CacheEntry[]> {
    const entries = items.map(([key, value, set]): readonly [string, CacheEntry] => {
      assertValidKey(key);
      assertDataType(set.dataType);
      const assetType = set.assetType ?? parseCacheKey(key)?.assetType;
      if (!assetType) {
        throw new TypeError(
          `set(${key}): the key is not dataType:assetType:SYMBOL, so options.assetType is required`,
        );
      }
      if (value === undefined) throw new TypeError(`set(${key}): value must not be undefined`);
      return [
        key,
        this.#entry(
          set.dataType,
          assetType,
          {
            value,
            source: set.source,
            ...(set.fetchedAt === undefined ? {} : { fetchedAt: set.fetchedAt }),
          },
          set.writer ?? 'manual',
        ),
      ];
    });
    await this.#store(entries, options.atomic ?? false);
    return entries.map(([, entry]) => entry);
  }

  /** Writes one asset's price with its dynamic TTL (original FIML API). */
  async setPrice<V>(asset: AssetKey, provider: string, data: V): Promise<CacheEntry<V>> {
    return this.set(cacheKey('price', asset.assetType, asset.symbol), data, {
      dataType: 'price',
      source: provider,
      assetType: asset.assetType,
    });
  }

  /** Writes many prices in one L2 round trip (original FIML API). */
  async setPricesBatch(
    items: readonly {
      readonly asset: AssetKey;
      readonly provider: string;
      readonly data: unknown;
    }[],
  ): Promise<CacheEntry[]> {
    return this.setMany(
      items.map(({ asset, provider, data }) => [
        cacheKey('price', asset.assetType, asset.symbol),
        data,
        { dataType: 'price', source: provider, assetType: asset.assetType },
      ]),
    );
  }

  /**
   * Stores entries fetched elsewhere (the batch-scheduler, the warmer) exactly
   * as given: L1 here, L2, and an invalidation for every other instance.
   */
  async storeEntries(
    entries: readonly (readonly [string, CacheEntry])[],
    options: { readonly atomic?: boolean } = {},
  ): Promise<void> {
    entries.forEach(([key]) => assertValidKey(key));
    await this.#store(entries, options.atomic ?? false);
  }

  /** Builds the entry a fetch result becomes, with the market-aware TTL (for producers of entries). */
  buildEntry<V>(
    dataType: DataType,
    assetType: AssetType,
    fetched: Fetched<V>,
    writer: WriteSource,
  ): CacheEntry<V> {
    return this.#entry(dataType, assetType, fetched, writer) as CacheEntry<V>;
  }

  /** Removes keys from every tier of every instance. */
  async invalidate(keys: string | readonly string[]): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    list.forEach(assertValidKey);
    this.#dropFromL1(list);
    this.#emit('invalidate', { keys: list.length, origin: 'local' });
    await this.#redisCall('l2', 'delete', () => this.l2!.delete(list));
    await this.#redisCall('invalidation', 'publish', () => this.#bus!.publish('delete', list));
  }

  // --------------------------------------------------------------- internals

  /** L1 then L2 without fetching; fresh or stale-in-window answers only. */
  async #lookup(key: string, started: number): Promise<CacheRead | undefined> {
    const now = this.#clock.now();
    const parsed = parseCacheKey(key);
    // Without a fetcher, a stale entry can only be refreshed through the app's callback.
    const revalidate =
      parsed && this.#options.onStale
        ? () =>
            this.#revalidate(key, parsed.dataType, parsed, () =>
              Promise.resolve(new Error('no fetcher for get()')),
            )
        : undefined;
    const l1 = this.#fromL1(key, now, started, revalidate);
    if (l1 && l1.phase !== 'stale-if-error') return l1.read;
    const [l2Read] = await this.#l2GetMany([key]);
    const l2 = this.#fromL2(key, l2Read, now, started, revalidate);
    if (l2 && l2.phase !== 'stale-if-error') return l2.read;
    if (parsed) {
      this.#emit('miss', {
        key,
        dataType: parsed.dataType,
        latencyMs: performance.now() - started,
      });
    }
    return undefined;
  }

  async #read(
    key: string,
    dataType: DataType,
    asset: AssetKey,
    fetch: () => Promise<CacheEntry | Error>,
  ): Promise<CacheRead> {
    const started = performance.now();
    const now = this.#clock.now();
    let fallback: { read: CacheRead; level: CacheLevel } | undefined;

    const l1 = this.#fromL1(key, now, started, () => this.#revalidate(key, dataType, asset, fetch));
    if (l1 && l1.phase !== 'stale-if-error') return l1.read;
    if (l1) fallback = { read: l1.read, level: 'l1' };

    if (!fallback) {
      const [l2Read] = await this.#l2GetMany([key]);
      const l2 = this.#fromL2(key, l2Read, now, started, () =>
        this.#revalidate(key, dataType, asset, fetch),
      );
      if (l2 && l2.phase !== 'stale-if-error') return l2.read;
      if (l2) fallback = { read: l2.read, level: 'l2' };
    }

    return this.#fetchThrough(key, dataType, fetch, fallback, started);
  }

  /**
   * The upstream step of a read, after the tiers missed: joins or starts the
   * key's single flight, and falls back to a stale entry if the fetch fails.
   * Starting the flight is synchronous up to `fetch()`, so misses handed over
   * in one tick reach a coalescing loader in the same batch.
   */
  async #fetchThrough(
    key: string,
    dataType: DataType,
    fetch: () => Promise<CacheEntry | Error>,
    fallback: { read: CacheRead; level: CacheLevel } | undefined,
    started: number,
  ): Promise<CacheRead> {
    let flight = this.#inflight.get(key);
    if (!flight) {
      flight = (async () => {
        const result = await fetch();
        if (result instanceof Error) throw result;
        return this.#toRead(key, result, 'upstream', false);
      })();
      this.#inflight.set(key, flight);
      void flight.then(
        () => this.#inflight.delete(key),
        () => this.#inflight.delete(key),
      );
    }
    try {
      const read = await flight;
      this.#emit('miss', { key, dataType, latencyMs: performance.now() - started });
      return read;
    } catch (error) {
      // A broken fetch function is a bug to surface, not an outage to paper over.
      if (error instanceof InvalidFetchResultError) throw error;
      if (fallback) {
        this.#emit('stale-served', {
          key,
          dataType,
          level: fallback.level,
          ageMs: this.#clock.now() - fallback.read.entry.softExpiresAt,
          reason: 'fetch-error',
        });
        return fallback.read;
      }
      this.#emit('miss', { key, dataType, latencyMs: performance.now() - started });
      throw new FetchFailedError(key, { cause: error });
    }
  }

  /** An L1 answer, with its phase; undefined when L1 has nothing usable. */
  #fromL1(
    key: string,
    now: number,
    started: number,
    revalidate?: () => void,
  ): { read: CacheRead; phase: Phase } | undefined {
    const held = this.l1.get(key);
    if (!held) return undefined;
    const phase = this.#phase(held.entry, now);
    if (phase === 'expired') {
      this.l1.delete(key);
      this.#emitEvict(key, held, 'expired');
      return undefined;
    }
    return this.#answer(key, held, 'l1', phase, started, revalidate);
  }

  /** An L2 answer (filling L1), with its phase; undefined for a miss, a corrupt or an expired entry. */
  #fromL2(
    key: string,
    l2Read: L2Read | undefined,
    now: number,
    started: number,
    revalidate?: () => void,
  ): { read: CacheRead; phase: Phase } | undefined {
    if (!l2Read || l2Read.status === 'miss') return undefined;
    if (l2Read.status === 'corrupt') {
      this.#rememberOnce(this.#corruptLogged, key, () =>
        this.#logger.warn(
          { key, err: l2Read.error },
          'corrupt L2 entry; treating as a miss and overwriting',
        ),
      );
      this.#emit('error', { component: 'l2', operation: 'decode', error: l2Read.error, key });
      return undefined;
    }
    const phase = this.#phase(l2Read.entry, now);
    if (phase === 'expired') return undefined;
    const held: L1Value = { entry: l2Read.entry, read: false };
    this.#l1Set(key, held, now);
    return this.#answer(key, held, 'l2', phase, started, revalidate);
  }

  #answer(
    key: string,
    held: L1Value,
    level: CacheLevel,
    phase: Exclude<Phase, 'expired'>,
    started: number,
    revalidate: (() => void) | undefined,
  ): { read: CacheRead; phase: Phase } {
    const { entry } = held;
    const stale = phase !== 'fresh';
    const read = this.#toRead(key, entry, level, stale);
    if (phase === 'stale-if-error') return { read, phase };
    held.read = true;
    this.#emit('hit', {
      key,
      dataType: entry.dataType,
      level,
      latencyMs: performance.now() - started,
      stale,
      writer: entry.writer,
    });
    if (phase === 'revalidate') {
      this.#emit('stale-served', {
        key,
        dataType: entry.dataType,
        level,
        ageMs: this.#clock.now() - entry.softExpiresAt,
        reason: 'revalidate',
      });
      revalidate?.();
    }
    return { read, phase };
  }

  #phase(entry: CacheEntry, now: number): Phase {
    if (now < entry.softExpiresAt) return 'fresh';
    if (now >= entry.hardExpiresAt) return 'expired';
    if (now < entry.softExpiresAt + entry.ttlMs * this.#swrFactor) return 'revalidate';
    return 'stale-if-error';
  }

  /** Refreshes a stale key once: through the app's callback, or in-process. */
  #revalidate(
    key: string,
    dataType: DataType,
    asset: AssetKey,
    fetch: () => Promise<CacheEntry | Error>,
  ): void {
    const onStale = this.#options.onStale;
    if (onStale) {
      const now = this.#clock.now();
      const until = this.#staleRequested.get(key);
      if (until !== undefined && until > now) return;
      this.#staleRequested.delete(key);
      if (this.#staleRequested.size >= MAX_REMEMBERED_KEYS) {
        const oldest = this.#staleRequested.keys().next().value;
        if (oldest !== undefined) this.#staleRequested.delete(oldest);
      }
      // One request per key per lock TTL: the refresh job needs a moment to land.
      this.#staleRequested.set(key, now + (this.#options.lockTtlMs ?? 5_000));
      try {
        onStale({ key, dataType, asset });
      } catch (error) {
        this.#emit('error', {
          component: 'revalidate',
          operation: 'onStale',
          error: asError(error),
          key,
        });
      }
      return;
    }
    if (this.#revalidating.has(key) || this.#inflight.has(key)) return;
    this.#revalidating.add(key);
    const flight = (async () => {
      const result = await fetch();
      if (result instanceof Error) throw result;
      return this.#toRead(key, result, 'upstream', false);
    })();
    this.#inflight.set(key, flight);
    flight
      .catch((error: unknown) =>
        this.#emit('error', {
          component: 'revalidate',
          operation: 'fetch',
          error: asError(error),
          key,
        }),
      )
      .finally(() => {
        this.#revalidating.delete(key);
        this.#inflight.delete(key);
      });
  }

  #coalescerFor(
    dataType: DataType,
    assetType: AssetType,
  ): BatchCoalescer<Item, CacheEntry | Error> {
    const id = `${assetType}:${dataType}`;
    let coalescer = this.#coalescers.get(id);
    if (coalescer) return coalescer;
    const loader = this.#options.loaderFor?.(dataType, assetType);
    if (!loader) throw new NoLoaderError(dataType, assetType);
    const source: Source = {
      id: loader.id,
      load: async (items) => {
        const bySymbol = await loader.load(
          dataType,
          items.map((i) => i.asset),
        );
        return new Map(
          items.map((i) => [
            i.key,
            bySymbol.get(i.asset.symbol) ?? {
              error: new Error(`${loader.id} returned nothing for ${i.asset.symbol}`),
            },
          ]),
        );
      },
    };
    coalescer = new BatchCoalescer<Item, CacheEntry | Error>({
      maxBatchSize: loader.maxBatchSize,
      ...(this.#options.coalesceWindowMs === undefined
        ? {}
        : { windowMs: this.#options.coalesceWindowMs }),
      flush: async (items) => {
        const results = await this.#fetchBatch(source, dataType, items);
        return items.map((i) => results.get(i.key)!);
      },
    });
    this.#coalescers.set(id, coalescer);
    return coalescer;
  }

  /**
   * Fetches keys upstream at most once across instances: takes their Redis
   * locks; fetches the ones it got in one call; for the others waits for the
   * holder's write (or lock release) and reads L2; past the wait bound it
   * fetches anyway (availability over strictness).
   */
  async #fetchBatch(
    source: Source,
    dataType: DataType,
    items: readonly Item[],
  ): Promise<Map<string, CacheEntry | Error>> {
    const results = new Map<string, CacheEntry | Error>();
    const deadline = performance.now() + this.#lockWaitMs;
    let pending = [...items];
    while (pending.length > 0) {
      const acquired = await this.#redisCall('lock', 'acquire', () =>
        this.#locks!.acquire(pending.map((i) => i.key)),
      );
      // No Redis (or past the wait bound): fetch everything ourselves.
      const taken = acquired === SKIPPED || performance.now() >= deadline ? undefined : acquired;
      const mine = taken ? pending.filter((i) => taken.has(i.key)) : pending;
      const theirs = taken ? pending.filter((i) => !taken.has(i.key)) : [];
      const coordinated = acquired !== SKIPPED;
      if (mine.length > 0) {
        const loaded = await this.#loadAndStore(source, dataType, mine);
        for (const [key, result] of loaded) results.set(key, result);
        if (coordinated) {
          await this.#redisCall('lock', 'release', () =>
            this.#locks!.release(mine.map((i) => i.key)),
          );
          const failed = mine.filter((i) => loaded.get(i.key) instanceof Error).map((i) => i.key);
          await this.#redisCall('invalidation', 'publish', () =>
            this.#bus!.publish('release', failed),
          );
        }
      }
      const waited = await Promise.all(theirs.map((item) => this.#awaitOther(item.key, deadline)));
      pending = [];
      theirs.forEach((item, i) => {
        const entry = waited[i];
        if (entry) results.set(item.key, entry);
        else pending.push(item);
      });
    }
    return results;
  }

  /** Waits for another instance to write `key` (or give up its lock); resolves with the L2 entry, if any. */
  async #awaitOther(key: string, deadline: number): Promise<CacheEntry | undefined> {
    const woken = this.#waitForMessage(key, Math.max(0, deadline - performance.now()));
    // Check after listening, so a write that lands in between is not missed.
    const now = this.#clock.now();
    const [before] = await this.#l2GetMany([key]);
    if (before?.status === 'hit' && this.#phase(before.entry, now) === 'fresh') {
      woken.cancel();
      return before.entry;
    }
    await woken.promise;
    const [after] = await this.#l2GetMany([key]);
    if (after?.status === 'hit' && this.#phase(after.entry, this.#clock.now()) === 'fresh') {
      this.#l1Set(key, { entry: after.entry, read: false }, this.#clock.now());
      return after.entry;
    }
    return undefined;
  }

  #waitForMessage(key: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    let waiters = this.#waiters.get(key);
    if (!waiters) this.#waiters.set(key, (waiters = new Set()));
    const finish = () => {
      clearTimeout(timer);
      const set = this.#waiters.get(key);
      set?.delete(finish);
      if (set?.size === 0) this.#waiters.delete(key);
      done();
    };
    const timer = setTimeout(finish, timeoutMs);
    waiters.add(finish);
    return { promise, cancel: finish };
  }

  async #loadAndStore(
    source: Source,
    dataType: DataType,
    items: readonly Item[],
  ): Promise<Map<string, CacheEntry | Error>> {
    const started = performance.now();
    const out = new Map<string, CacheEntry | Error>();
    let loaded: ReadonlyMap<string, LoadResult>;
    try {
      loaded = await source.load(items);
    } catch (error) {
      const failure = asError(error);
      items.forEach((i) => out.set(i.key, failure));
      this.#emit('fetch', {
        dataType,
        loader: source.id,
        keys: items.length,
        latencyMs: performance.now() - started,
        outcome: 'error',
      });
      return out;
    }
    const toStore: [string, CacheEntry][] = [];
    let errors = 0;
    let notFound = 0;
    for (const item of items) {
      const result = loaded.get(item.key);
      if (!result || 'error' in result) {
        errors += 1;
        out.set(
          item.key,
          result?.error ?? new Error(`${source.id} returned nothing for ${item.key}`),
        );
        continue;
      }
      if ('notFound' in result) notFound += 1;
      const entry = this.#entry(dataType, item.asset.assetType, result, 'read-through');
      out.set(item.key, entry);
      toStore.push([item.key, entry]);
    }
    this.#emit('fetch', {
      dataType,
      loader: source.id,
      keys: items.length,
      latencyMs: performance.now() - started,
      outcome:
        errors === items.length
          ? 'error'
          : errors > 0
            ? 'partial'
            : notFound === items.length
              ? 'not-found'
              : 'ok',
    });
    await this.#store(toStore, false);
    return out;
  }

  #entry(
    dataType: DataType,
    assetType: AssetType,
    fetched: Fetched,
    writer: WriteSource,
  ): CacheEntry {
    const now = this.#clock.now();
    const fetchedAt = fetched.fetchedAt ?? now;
    if ('notFound' in fetched) {
      return {
        kind: 'not-found',
        dataType,
        fetchedAt,
        source: fetched.source,
        writer,
        ttlMs: this.#negativeTtlMs,
        softExpiresAt: now + this.#negativeTtlMs,
        hardExpiresAt: now + this.#negativeTtlMs,
      };
    }
    const { ttlMs, expiresAt } = this.#options.ttlPolicy.ttl(dataType, assetType, now);
    const staleWindow = Math.max(ttlMs * this.#swrFactor, this.#staleIfErrorMs);
    return {
      kind: 'value',
      value: fetched.value,
      dataType,
      fetchedAt,
      source: fetched.source,
      writer,
      ttlMs,
      softExpiresAt: expiresAt,
      hardExpiresAt: expiresAt + staleWindow,
    };
  }

  /** L1 here, L2 in one round trip, then an invalidation so other instances drop their copies. */
  async #store(
    entries: readonly (readonly [string, CacheEntry])[],
    atomic: boolean,
  ): Promise<void> {
    if (entries.length === 0) return;
    const now = this.#clock.now();
    for (const [key, entry] of entries) {
      this.#corruptLogged.delete(key);
      this.#l1Set(key, { entry, read: false }, now);
    }
    const wrote = await this.#redisCall('l2', 'setMany', () =>
      this.l2!.setMany(entries, { atomic }),
    );
    const levels: CacheLevel[] = wrote === SKIPPED ? ['l1'] : ['l1', 'l2'];
    for (const [key, entry] of entries) {
      this.#emit('set', {
        key,
        dataType: entry.dataType,
        writer: entry.writer,
        ttlMs: entry.ttlMs,
        levels,
      });
    }
    if (wrote !== SKIPPED) {
      await this.#redisCall('invalidation', 'publish', () =>
        this.#bus!.publish(
          'set',
          entries.map(([key]) => key),
        ),
      );
    }
  }

  #l1Set(key: string, held: L1Value, now: number): void {
    const ttlMs = held.entry.hardExpiresAt - now;
    if (ttlMs <= 0) return;
    try {
      this.l1.set(key, held, { ttlMs });
    } catch (error) {
      // Every L1 entry protected and the cache full: the value still lives in L2.
      this.#emit('error', { component: 'l2', operation: 'l1-set', error: asError(error), key });
    }
  }

  async #l2GetMany(keys: readonly string[]): Promise<(L2Read | undefined)[]> {
    if (keys.length === 0) return [];
    const reads = await this.#redisCall('l2', 'getMany', () => this.l2!.getMany(keys));
    return reads === SKIPPED ? keys.map(() => undefined) : reads;
  }

  /** Runs a Redis operation behind the circuit breaker; SKIPPED when there is no Redis or the circuit is open. */
  async #redisCall<T>(
    component: 'l2' | 'lock' | 'invalidation',
    operation: string,
    call: () => Promise<T>,
  ): Promise<T | typeof SKIPPED> {
    if (!this.l2 || !this.#breaker.allow()) return SKIPPED;
    try {
      const result = await call();
      this.#breaker.success();
      return result;
    } catch (error) {
      this.#breaker.failure();
      this.#emit('error', { component, operation, error: asError(error) });
      return SKIPPED;
    }
  }

  #onInvalidation(message: InvalidationMessage): void {
    if (message.op !== 'release') {
      this.#dropFromL1(message.keys);
      this.#emit('invalidate', { keys: message.keys.length, origin: 'remote' });
    }
    for (const key of message.keys) {
      const waiters = this.#waiters.get(key);
      if (waiters) for (const wake of [...waiters]) wake();
    }
  }

  #dropFromL1(keys: readonly string[]): void {
    for (const key of keys) {
      const held = this.l1.peek(key);
      if (held && this.l1.delete(key)) this.#emitEvict(key, held, 'invalidated');
    }
  }

  #toRead(
    key: string,
    entry: CacheEntry,
    from: CacheLevel | 'upstream',
    stale: boolean,
  ): CacheRead {
    return {
      key,
      from,
      stale,
      found: entry.kind === 'value',
      value: entry.kind === 'value' ? entry.value : undefined,
      entry,
    };
  }

  #emitEvict(key: string, held: L1Value, cause: EvictionCause): void {
    this.#emit('evict', {
      key,
      dataType: held.entry.dataType,
      level: 'l1',
      cause,
      writer: held.entry.writer,
      wasRead: held.read,
    });
  }

  #emit<E extends CacheEventName>(event: E, payload: Parameters<CacheEvents[E]>[0]): void {
    if (this.#emitter.listenerCount(event) > 0) this.#emitter.emit(event, payload);
  }

  #rememberOnce(set: Set<string>, key: string, action: () => void): void {
    if (set.has(key)) return;
    if (set.size >= MAX_REMEMBERED_KEYS) set.clear();
    set.add(key);
    action();
  }
}

/** A connection for the subscription; it queues commands while reconnecting, so SUBSCRIBE waits for Redis. */
function subscriberFor(redis: Redis | Cluster): Redis | Cluster {
  return redis instanceof Cluster
    ? redis.duplicate(undefined, { enableOfflineQueue: true })
    : redis.duplicate({ enableOfflineQueue: true });
}

function checkFetched<V>(fetched: Fetched<V> | undefined, key: string): Fetched<V> {
  if (fetched === undefined || fetched === null || typeof fetched !== 'object') {
    throw new InvalidFetchResultError(
      `fetchFn for ${key} resolved to ${String(fetched)}; resolve { value, source } or { notFound: true, source }`,
    );
  }
  if (!('notFound' in fetched) && fetched.value === undefined) {
    throw new InvalidFetchResultError(
      `fetchFn for ${key} resolved { value: undefined }; a fetched value must be defined`,
    );
  }
  return fetched;
}

function assertDataType(dataType: unknown): asserts dataType is DataType {
  if (!isDataType(dataType)) {
    throw new RangeError(
      `unsupported data type ${JSON.stringify(dataType)}; expected price, fundamentals or news`,
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}
