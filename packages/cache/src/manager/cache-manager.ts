import { type AssetType, type Clock, type DataType, isDataType } from '@fiml/market';
import type { CacheEventName, CacheEvents, WriteSource } from '../cache-events.js';
import { assertEntryKey, cacheKey, parseCacheKey } from '../cache-keys.js';
import type { L1Cache } from '../l1/l1-cache.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import type { L2Store } from '../l2/l2-store.js';
import type { WriteOutcome } from '../l2/write-outcome.js';
import { CacheEmitter } from './cache-emitter.js';
import { InvalidFetchResultError } from './cache-errors.js';
import type { CacheManagerOptions } from './cache-manager-options.js';
import { composeManagerParts } from './compose-manager-parts.js';
import type { FetchCoordinator, FetchSource } from './fetch-coordinator.js';
import * as fiml from './fiml-compat.js';
import type { Flights } from './flights.js';
import type { Freshness } from './freshness.js';
import type { InvalidationBus } from './invalidation-bus.js';
import type { ReadPath, TierAnswer } from './read-path.js';
import type { RedisGuard } from './redis-guard.js';
import type { Revalidator } from './revalidator.js';
import type { RouteLoaders } from './route-loaders.js';
import type { L1Value, TierStore } from './tier-store.js';
import type {
  AssetKey,
  BatchReadResult,
  CacheRead,
  FetchAdmission,
  Fetched,
  ReadOptions,
  SetOptions,
} from './types.js';

export type { CacheManagerOptions } from './cache-manager-options.js';

/**
 * The read path's façade: L1 -> L2 -> upstream, with one upstream call per
 * key per freshness window however many readers and instances miss it. The
 * work is done by small parts, wired here:
 * {@link TierStore} (L1 + L2 + invalidations, newer wins), {@link ReadPath}
 * (the steps of a read), {@link Flights} (in-process single flight, bounded),
 * {@link FetchCoordinator} (cross-instance locks), {@link RouteLoaders}
 * (coalescing per route), {@link Revalidator} (stale-while-revalidate) and
 * {@link RedisGuard} (circuit breaker, errors that surface), built by
 * {@link composeManagerParts}.
 */
export class CacheManager {
  readonly instanceId: string;
  readonly #clock: Clock;
  readonly #events = new CacheEmitter();
  readonly #freshness: Freshness;
  readonly #guard: RedisGuard;
  readonly #tiers: TierStore;
  readonly #bus: InvalidationBus | undefined;
  readonly #coordinator: FetchCoordinator;
  readonly #flights: Flights;
  readonly #path: ReadPath;
  readonly #routes: RouteLoaders;
  readonly #revalidator: Revalidator;

  constructor(options: CacheManagerOptions) {
    const parts = composeManagerParts(options, this.#events);
    this.instanceId = parts.instanceId;
    this.#clock = parts.clock;
    this.#freshness = parts.freshness;
    this.#guard = parts.guard;
    this.#tiers = parts.tiers;
    this.#bus = parts.bus;
    this.#coordinator = parts.coordinator;
    this.#flights = parts.flights;
    this.#path = parts.path;
    this.#routes = parts.routes;
    this.#revalidator = parts.revalidator;
  }

  get l1(): L1Cache<L1Value> {
    return this.#tiers.l1;
  }

  get l2(): L2Store | undefined {
    return this.#tiers.l2;
  }

  /** The L2 circuit breaker's state. */
  get circuitState(): 'closed' | 'open' | 'half-open' {
    return this.#guard.state;
  }

  /** Subscribes to the invalidation channel. Reads and writes work before it; coherence starts here. */
  async start(): Promise<void> {
    await this.#bus?.start();
  }

  async close(): Promise<void> {
    await this.#bus?.close();
  }

  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  // ------------------------------------------------------------------ reads

  /** The cached entry (fresh, or stale inside its window) without fetching; undefined when none. */
  async get<V = unknown>(key: string): Promise<CacheRead<V> | undefined> {
    assertEntryKey(key);
    const started = performance.now();
    // Hot path: an L1 hit answers without the batch machinery of getMany.
    const now = this.#clock.now();
    const hit = this.#path.fromL1(key, now, started);
    if (hit && hit.phase !== 'stale-if-error') {
      if (hit.phase === 'revalidate') this.#refresh(key, () => this.#routeRefresh(key));
      else this.#ahead(key, hit.read, now);
      return hit.read as CacheRead<V>;
    }
    const [answer] = await this.#lookup([key], started);
    return this.#answerOrMiss(key, answer, started) as CacheRead<V> | undefined;
  }

  /** Many cached entries at once (one L2 round trip for the L1 misses), in order of `keys`. */
  async getMany<V = unknown>(keys: readonly string[]): Promise<(CacheRead<V> | undefined)[]> {
    keys.forEach(assertEntryKey);
    const started = performance.now();
    const answers = await this.#lookup(keys, started);
    return keys.map((key, i) => this.#answerOrMiss(key, answers[i], started) as CacheRead<V>);
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
    assertEntryKey(key);
    assertDataType(dataType);
    if (typeof fetchFn !== 'function')
      throw new TypeError('fetchFn must be a function returning a promise');
    return (await this.#readOne(key, dataType, () =>
      this.#fetchThroughFn(key, dataType, fetchFn, asset),
    )) as CacheRead<V>;
  }

  /**
   * Read-through for one symbol through the route's coalescing loader. With
   * `options.admitFetch`, a miss is fetched only when the app admits it.
   */
  async read<V = unknown>(
    dataType: DataType,
    assetType: AssetType,
    symbol: string,
    options?: ReadOptions,
  ): Promise<CacheRead<V>> {
    assertDataType(dataType);
    const key = cacheKey(dataType, assetType, symbol);
    assertEntryKey(key);
    const fetcher = this.#routes.fetcher(dataType, assetType);
    return (await this.#readOne(
      key,
      dataType,
      () => fetcher({ key, asset: { symbol, assetType } }),
      options?.admitFetch,
    )) as CacheRead<V>;
  }

  /**
   * The L1 step of {@link read}, synchronously: L1's answer (fresh, or stale
   * inside its revalidate window, whose refresh it asks for, as `read`
   * would), counted as `read` counts it; undefined when L1 has nothing `read`
   * would answer with, with nothing counted, so the caller goes on with
   * `read`. For a caller that answers L1 hits without a promise (the api's
   * hot reads); throws what `read` throws for a key or route it refuses.
   */
  readL1<V = unknown>(
    dataType: DataType,
    assetType: AssetType,
    symbol: string,
  ): CacheRead<V> | undefined {
    assertDataType(dataType);
    const key = cacheKey(dataType, assetType, symbol);
    assertEntryKey(key);
    const fetcher = this.#routes.fetcher(dataType, assetType);
    const now = this.#clock.now();
    const l1 = this.#path.fromL1(key, now, performance.now());
    return this.#serves(key, l1, now, () => fetcher({ key, asset: { symbol, assetType } }))
      ? (l1.read as CacheRead<V>)
      : undefined;
  }

  /**
   * Read-through for many symbols of one route: one L2 round trip for the L1
   * misses, and the rest fetched in as few upstream calls as the loader's
   * batch size allows. A failure is reported per symbol, never for the batch.
   * With `options.admitFetch`, only the misses the app admits are fetched
   * (the first ones, in request order); the others fail with its refusal.
   */
  async readMany<V = unknown>(
    dataType: DataType,
    assetType: AssetType,
    symbols: readonly string[],
    options?: ReadOptions,
  ): Promise<BatchReadResult<V>[]> {
    assertDataType(dataType);
    const keys = symbols.map((symbol) => cacheKey(dataType, assetType, symbol));
    keys.forEach(assertEntryKey);
    const fetcher = this.#routes.fetcher(dataType, assetType);
    const fetchOf = (i: number) => () =>
      fetcher({ key: keys[i]!, asset: { symbol: symbols[i]!, assetType } });
    const started = performance.now();
    const answers = await this.#lookup(keys, started, (i) =>
      this.#flights.join(keys[i]!, fetchOf(i)),
    );
    const needsFetch = (i: number) => !answers[i] || answers[i].phase === 'stale-if-error';
    const refusals = options?.admitFetch
      ? await this.#admit(keys, needsFetch, options.admitFetch)
      : undefined;
    // Every miss starts its flight in this tick, so the route's coalescer sees them together.
    return Promise.all(
      keys.map(async (key, i): Promise<BatchReadResult<V>> => {
        const symbol = symbols[i]!;
        const answer = answers[i];
        try {
          const refusal = refusals?.get(i);
          const read = !needsFetch(i)
            ? answer!.read
            : refusal
              ? this.#path.refused(key, dataType, refusal, answer, started)
              : await this.#path.fetchThrough(key, dataType, fetchOf(i), answer, started);
          return { symbol, status: 'ok', read: read as CacheRead<V> };
        } catch (error) {
          return {
            symbol,
            status: 'error',
            error: error instanceof Error ? error : new Error(String(error)),
          };
        }
      }),
    );
  }

  // ----------------------------------------------------------------- writes

  /** Writes a value with the market-aware TTL, to L1 and L2, and tells other instances. */
  async set<V>(key: string, value: V, options: SetOptions): Promise<CacheEntry<V>> {
    const [entry] = await this.setMany([[key, value, options]]);
    return entry as CacheEntry<V>;
  }

  /**
   * Writes many values newer-wins in one L2 round trip. Rejects with
   * CacheUnavailableError when L2 did not take them or the invalidation was
   * not published (they are in this instance's L1 only).
   */
  async setMany(
    items: readonly (readonly [key: string, value: unknown, options: SetOptions])[],
  ): Promise<CacheEntry[]> {
    const now = this.#clock.now();
    const entries = items.map(([key, value, set]): readonly [string, CacheEntry] => {
      assertEntryKey(key);
      assertDataType(set.dataType);
      if (value === undefined) throw new TypeError(`set(${key}): value must not be undefined`);
      const assetType = set.assetType ?? parseCacheKey(key)!.assetType;
      const fetched = {
        value,
        source: set.source,
        ...(set.fetchedAt === undefined ? {} : { fetchedAt: set.fetchedAt }),
      };
      return [
        key,
        this.#freshness.entry(set.dataType, assetType, fetched, set.writer ?? 'manual', now),
      ];
    });
    await this.#tiers.store(entries, true);
    return entries.map(([, entry]) => entry);
  }

  /** Stores entries built elsewhere newer-wins; resolves each key's outcome (never rejects for Redis). */
  async storeEntries(entries: readonly (readonly [string, CacheEntry])[]): Promise<WriteOutcome[]> {
    entries.forEach(([key]) => assertEntryKey(key));
    return this.#tiers.store(entries, false);
  }

  /** The entry a fetch result becomes now, with the market-aware TTL. */
  buildEntry<V>(
    dataType: DataType,
    assetType: AssetType,
    fetched: Fetched<V>,
    writer: WriteSource,
  ): CacheEntry<V> {
    return this.#freshness.entry(dataType, assetType, fetched, writer, this.#clock.now());
  }

  /** Removes keys from every tier of every instance; rejects with CacheUnavailableError if L2 or the bus did not take it. */
  async invalidate(keys: string | readonly string[]): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : keys;
    list.forEach(assertEntryKey);
    await this.#tiers.invalidate(list);
  }

  // ------------------------------------------- the original FIML method names

  getPricesBatch<V = unknown>(assets: readonly AssetKey[]): Promise<(CacheRead<V> | undefined)[]> {
    return fiml.getPricesBatch<V>(this, assets);
  }

  setPrice<V>(asset: AssetKey, provider: string, data: V): Promise<CacheEntry<V>> {
    return fiml.setPrice(this, asset, provider, data);
  }

  setPricesBatch(items: readonly fiml.PriceWrite[]): Promise<CacheEntry[]> {
    return fiml.setPricesBatch(this, items);
  }

  // --------------------------------------------------------------- internals

  /**
   * One key's read-through. Hot path (an L1 hit) on purpose: no arrays, no
   * key parsing, and closures only as call arguments (a named closure costs
   * a defineProperty per call under tsx/esbuild's keepNames).
   */
  async #readOne(
    key: string,
    dataType: DataType,
    fetch: () => Promise<CacheEntry | Error>,
    admitFetch?: ReadOptions['admitFetch'],
  ): Promise<CacheRead> {
    const started = performance.now();
    const now = this.#clock.now();
    const l1 = this.#path.fromL1(key, now, started);
    if (this.#serves(key, l1, now, fetch)) return l1.read;
    const { reads, since } = await this.#tiers.readL2([key]);
    const l2 = this.#path.fromL2(key, reads[0], since, now, started);
    if (this.#serves(key, l2, now, fetch)) return l2.read;
    if (admitFetch && !this.#flights.has(key)) {
      const admission = await admitFetch(1);
      if (admission.admitted < 1) {
        return this.#path.refused(key, dataType, admission.refuse(0), l2 ?? l1, started);
      }
    }
    return this.#path.fetchThrough(key, dataType, fetch, l2 ?? l1, started);
  }

  /**
   * Whether a tier's answer serves a read. One in its revalidate window is
   * served stale and its refresh asked for; a fresh one read often may be
   * refreshed ahead of expiry.
   */
  #serves(
    key: string,
    answer: TierAnswer | undefined,
    now: number,
    fetch: () => Promise<CacheEntry | Error>,
  ): answer is TierAnswer {
    if (!answer || answer.phase === 'stale-if-error') return false;
    if (answer.phase === 'revalidate') this.#refresh(key, () => this.#flights.join(key, fetch));
    else this.#ahead(key, answer.read, now);
    return true;
  }

  /**
   * Asks the app how many of a batch read's misses may be fetched: those
   * this process is not already fetching, counted once per key. Returns the
   * refusal of each key index it did not admit.
   */
  async #admit(
    keys: readonly string[],
    needsFetch: (i: number) => boolean,
    admitFetch: NonNullable<ReadOptions['admitFetch']>,
  ): Promise<Map<number, Error> | undefined> {
    const candidates: number[] = [];
    const seen = new Set<string>();
    keys.forEach((key, i) => {
      if (needsFetch(i) && !this.#flights.has(key) && !seen.has(key)) {
        seen.add(key);
        candidates.push(i);
      }
    });
    if (candidates.length === 0) return undefined;
    const admission: FetchAdmission = await admitFetch(candidates.length);
    const refused = new Map<number, Error>();
    candidates.slice(Math.max(0, admission.admitted)).forEach((i, j) => {
      refused.set(i, admission.refuse(j));
    });
    // A repeated key follows its first occurrence.
    keys.forEach((key, i) => {
      const first = keys.indexOf(key);
      if (first !== i && refused.has(first)) refused.set(i, refused.get(first)!);
    });
    return refused;
  }

  /** The upstream step of getWithReadThrough: the caller's fetch function through the coordinator. */
  async #fetchThroughFn<V>(
    key: string,
    dataType: DataType,
    fetchFn: () => Promise<Fetched<V>>,
    asset: AssetKey,
  ): Promise<CacheEntry | Error> {
    const source: FetchSource = {
      id: 'fetch-fn',
      load: async () => new Map([[key, checkFetched(await fetchFn(), key)]]),
    };
    const results = await this.#coordinator.fetch(source, dataType, [{ key, asset }]);
    return results.get(key)!;
  }

  /**
   * L1 then (one batched round trip) L2, for every key. A stale answer asks
   * for a refresh: `inProcess(i)` fetches key i here when the app's refresh
   * request fails; by default through the key's route loader, if it has one.
   */
  async #lookup(
    keys: readonly string[],
    started: number,
    inProcess: (i: number) => Promise<unknown> = (i) => this.#routeRefresh(keys[i]!),
  ): Promise<(TierAnswer | undefined)[]> {
    const now = this.#clock.now();
    const answers = new Array<TierAnswer | undefined>(keys.length);
    const needL2: number[] = [];
    for (let i = 0; i < keys.length; i += 1) {
      const answer = this.#path.fromL1(keys[i]!, now, started);
      answers[i] = answer;
      if (!answer || answer.phase === 'stale-if-error') needL2.push(i);
    }
    if (needL2.length > 0) {
      const { reads, since } = await this.#tiers.readL2(needL2.map((i) => keys[i]!));
      needL2.forEach((i, j) => {
        const l2 = this.#path.fromL2(keys[i]!, reads[j], since, now, started);
        // An L1 entry past its revalidation window stays the fallback unless L2 has one.
        if (l2 || !answers[i]) answers[i] = l2;
      });
    }
    // Stale answers served inside their window ask for a refresh, once per key per window;
    // fresh ones near their expiry for a refresh ahead, once per entry.
    answers.forEach((answer, i) => {
      if (answer?.phase === 'revalidate') this.#refresh(keys[i]!, () => inProcess(i));
      else if (answer?.phase === 'fresh') this.#ahead(keys[i]!, answer.read, now);
    });
    return answers;
  }

  /** A `get` answer: fresh or stale in its window, else a miss (no fetch). */
  #answerOrMiss(
    key: string,
    answer: TierAnswer | undefined,
    started: number,
  ): CacheRead | undefined {
    if (answer && answer.phase !== 'stale-if-error') return answer.read;
    const { dataType } = parseCacheKey(key)!;
    this.#events.emit('miss', { key, dataType, latencyMs: performance.now() - started });
    return undefined;
  }

  /** Asks for a stale key's refresh (the app's onStale, or `inProcess`). */
  #refresh(key: string, inProcess: () => Promise<unknown>): void {
    const { dataType, assetType, symbol } = parseCacheKey(key)!;
    this.#revalidator.request({ key, dataType, asset: { symbol, assetType } }, inProcess);
  }

  /** A fresh read near its expiry asks the app for a refresh ahead (once per entry); `now`: the read's instant. */
  #ahead(key: string, read: CacheRead, now: number): void {
    if (!this.#revalidator.refreshesAhead) return;
    if (!this.#freshness.refreshAheadDue(read.entry, now)) return;
    const parsed = parseCacheKey(key);
    if (!parsed) return;
    const { dataType, assetType, symbol } = parsed;
    this.#revalidator.ahead({
      key,
      dataType,
      asset: { symbol, assetType },
      freshUntil: read.entry.softExpiresAt,
    });
  }

  /** Refreshes a key in-process through its route's loader; nothing when no loader serves it. */
  #routeRefresh(key: string): Promise<unknown> {
    const { dataType, assetType, symbol } = parseCacheKey(key)!;
    if (!this.#routes.serves(dataType, assetType)) return Promise.resolve();
    const fetcher = this.#routes.fetcher(dataType, assetType);
    return this.#flights.join(key, () => fetcher({ key, asset: { symbol, assetType } }));
  }
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
