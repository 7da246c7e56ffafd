/**
 * The market-week simulator: one configuration of fiml-cache (baseline or optimized) against the
 * simulated providers, in virtual time, driven by a MarketWeek request stream.
 *
 * A discrete-event loop: the workload's requests (pulled lazily, in time order) interleave with
 * an agenda of internal events (upstream answers, coalescer timers, the batch-scheduler's looks
 * at its groups, warming runs). Before each event the market package's ManualClock is set to the
 * event's time, and every policy module reads that clock.
 *
 * The product's own modules decide (imported, not copied):
 * - L1: `L1Cache` with the configuration's eviction policy (@fiml/cache);
 * - freshness: `Freshness` (entry phases: fresh, stale-while-revalidate, stale-if-error,
 *   expired) over `TtlPolicy` and `NyseCalendar` (@fiml/market) for the optimized cache;
 * - coalescing: `BatchCoalescer` (@fiml/cache), its timers on the virtual clock;
 * - the upstreams: `SimulatedUpstream` (@fiml/simulator: batch sizes, server-side sliding-window
 *   limits answered 429 with Retry-After, lognormal latency, 0.5 % 5xx), and the client-side
 *   budget through `SlidingWindowLog` with the api's reserve `reservedCalls`;
 * - the batch-scheduler's `decideFlush` and `inLowLoadHour`
 *   (`@fiml/batch-scheduler/policy`);
 * - warming: `planWarming`, `nextScheduledRunAt`, `nextPreOpenRunAt`, `openWindow`,
 *   `refreshAheadWindow`, `inSession`, `bucketAt` and `warmOutcome` (`@fiml/warmer/planner`).
 *
 * What the simulator models itself (their I/O has no virtual-time form): the L2 (a Map with the
 * same entries and phases the Redis L2 holds, newer-wins writes), the single flight per key (the
 * cache's `Flights` is internal: one fetch per key, joined by every reader until it settles),
 * the scheduler's pending groups (deduplicated per key, priorities, deadlines, claim order), the
 * warm cycle's plumbing, and the access history (the recorder's decayed per-key counts and
 * half-hour profile, without its 4-bit quantisation). See README "Market-week simulator".
 */
import {
  type AccessStats,
  BatchCoalescer,
  type CacheEntry,
  DEFAULT_TTL_TABLE,
  EvictionPolicy,
  Freshness,
  type FreshnessPolicy,
  L1Cache,
  PROFILE_BUCKETS,
  TtlPolicy,
  type WriteSource,
} from '@fiml/cache';
import {
  ManualClock,
  NYSE_TIME_ZONE,
  SeededRandom as MarketRandom,
  type AssetType,
  type DataType,
} from '@fiml/market';
import {
  SIMULATED_PROFILES,
  SlidingWindowLog,
  reservedCalls,
  type DataValue,
  type SimulatedProfileName,
} from '@fiml/providers';
import { SimulatedUpstream, type UpstreamAnswer } from '@fiml/simulator';
import { decideFlush, inLowLoadHour, type BudgetSnapshot } from '@fiml/batch-scheduler/policy';
import {
  bucketAt,
  inSession,
  nextPreOpenRunAt,
  nextScheduledRunAt,
  openWindow,
  planWarming,
  refreshAheadWindow,
  warmOutcome,
  type L2State,
  type ProviderBudget,
  type WarmMode,
} from '@fiml/warmer/planner';
import { EventQueue } from './event-queue.js';
import { LowerBound } from './lower-bound.js';
import { PROVIDERS, Tally, type Caller, type ProviderId, type ReadOutcome } from './tally.js';
import type { MarketWeek, WorkloadAsset, WorkloadRequest } from '../workload/market-week.js';

export type Configuration = 'baseline' | 'optimized';

/**
 * The optimized configuration's settings: the documented defaults of docs/CONFIGURATION.md
 * (and of the modules where no variable exists). The baseline uses none of them.
 */
export const OPTIMIZED_DEFAULTS = Object.freeze({
  /** L1_MAX_ENTRIES, L1_EVICTION_POLICY */
  l1MaxEntries: 10_000,
  l1Policy: EvictionPolicy.ADAPTIVE,
  /** CACHE_TTL_* (DEFAULT_TTL_TABLE), CACHE_TTL_JITTER */
  ttlJitter: 0.1,
  /** CACHE_STALE_IF_ERROR, CACHE_NEGATIVE_TTL; stale-while-revalidate factor 1 (the module default). */
  staleIfErrorMs: 3_600_000,
  negativeTtlMs: 60_000,
  /** CACHE_COALESCE_WINDOW_MS (max wait: the coalescer's default, 4 x window). */
  coalesceWindowMs: 5,
  /** CACHE_SOFT_FETCH_TIMEOUT_MS */
  softFetchTimeoutMs: 2_000,
  /** The revalidator's window per key (CacheManager default). */
  revalidateWindowMs: 5_000,
  /** CACHE_REFRESH_AHEAD_FRACTION: fresh reads in this last share of freshness ask for a refresh ahead. */
  refreshAheadFraction: 0.5,
  /** CACHE_BATCH_SIZE, CACHE_BATCH_INTERVAL (s), CACHE_LOW_LOAD_HOURS, REFRESH_MIN_AGE_FRACTION, REFRESH_MAX_ATTEMPTS */
  batchSize: 100,
  batchIntervalMs: 5_000,
  lowLoadHours: [0, 1, 2, 3, 4, 5, 6] as readonly number[],
  minAgeFraction: 0.5,
  maxAttempts: 5,
  /** REFRESH_FETCH_TIMEOUT_MS: the scheduler sends a key this long before its deadline. */
  refreshFetchTimeoutMs: 15_000,
  /** The flusher's tick (BatchScheduler default). */
  tickMs: 200,
  /** CACHE_WARMING_SCHEDULE, CACHE_WARMING_BATCH_SIZE, CACHE_WARMING_PREOPEN_MINUTES, CACHE_WARMING_REFRESH_AHEAD_SECONDS */
  warmingSchedule: '*/5 * * * *',
  warmingBatchSize: 100,
  preOpenMinutes: 30,
  refreshAheadSeconds: 60,
  /** The access history's half-life (DEFAULT_HALF_LIFE_MS). */
  halfLifeMs: 7 * 86_400_000,
});

export const BASELINE_SETTINGS = Object.freeze({
  l1MaxEntries: 10_000,
  l1Policy: EvictionPolicy.LRU,
});

/** Read-path latencies the simulator charges for L1 and L2 (the upstream's come from its model). */
export interface TierLatency {
  /** One L1 lookup, ms (measured in this process by the runner). */
  readonly l1Ms: number;
  /** One L2 round trip of n keys, ms. */
  l2Ms(keys: number): number;
}

export interface SimulationOptions {
  readonly configuration: Configuration;
  readonly week: MarketWeek;
  /** A stream the access history records before the week (optimized only): the previous week. */
  readonly history?: Iterable<WorkloadRequest>;
  readonly latency: TierLatency;
  /** Called now and then with the share of the window simulated (0..1). */
  readonly onProgress?: (done: number) => void;
}

export interface WarmSummary {
  readonly runs: Record<WarmMode, number>;
  readonly requested: number;
  /** Entries the warmer caused to be written (written as the warmer's). */
  readonly entries: number;
  readonly used: number;
  readonly wasted: number;
  readonly pending: number;
  readonly precision: number | undefined;
}

export interface SimulationResult {
  readonly configuration: Configuration;
  readonly tally: Tally;
  readonly lowerBound: LowerBound;
  readonly warm: WarmSummary | undefined;
  readonly requests: number;
  readonly wallMs: number;
  readonly l1: { readonly policy: string; readonly maxEntries: number; readonly evictions: number };
}

/** Which profile serves (asset type, data type): the default PROVIDER_ROUTES. */
export function providerFor(assetType: AssetType, dataType: DataType): ProviderId {
  if (dataType !== 'price') return 'sim-reference';
  return assetType === 'equity' ? 'sim-equities' : 'sim-crypto';
}

const PROFILE_OF: Record<ProviderId, SimulatedProfileName> = {
  'sim-equities': 'equities-batch',
  'sim-crypto': 'crypto-batch',
  'sim-reference': 'reference-single',
};

export function maxBatchOf(provider: ProviderId): number {
  return SIMULATED_PROFILES[PROFILE_OF[provider]].maxBatchSize;
}

const DATA_TYPE_LIST: readonly DataType[] = ['price', 'fundamentals', 'news'];
const DT_INDEX: Record<DataType, number> = { price: 0, fundamentals: 1, news: 2 };

/** The baseline's TTL: the market-hours column always, no calendar, no jitter. */
export const marketHoursTtl: FreshnessPolicy = {
  ttl(dataType, _assetType, now) {
    const ttlMs = DEFAULT_TTL_TABLE[dataType].marketHours;
    return { ttlMs, expiresAt: now + ttlMs };
  },
};

interface Waiter {
  readonly request: RequestState;
  /** L1/L2 time the reader spent before it joined the flight, ms. */
  readonly extraMs: number;
  readonly joinedAt: number;
}

interface Flight {
  readonly key: string;
  readonly asset: WorkloadAsset;
  readonly dataType: DataType;
  readonly waiters: Waiter[];
  fallback: CacheEntry | undefined;
}

interface RequestState {
  readonly at: number;
  readonly day: number;
  readonly dataType: DataType;
  pending: number;
  doneAt: number;
  failed: boolean;
}

interface PendingKey {
  readonly asset: WorkloadAsset;
  priority: 0 | 1 | 2;
  firstAt: number;
  deadline: number | undefined;
  warmOnly: boolean;
  attempts: number;
}

interface Group {
  readonly id: string;
  readonly provider: ProviderId;
  readonly assetType: AssetType;
  readonly dataType: DataType;
  readonly maxBatch: number;
  /** Pending keys per priority (urgent, normal, low), oldest first (Map insertion order). */
  readonly pending: [Map<string, PendingKey>, Map<string, PendingKey>, Map<string, PendingKey>];
  readonly inFlight: Set<string>;
  /** The pending keys that carry a deadline (few: pre-open and refresh-ahead requests). */
  readonly deadlined: Set<PendingKey>;
  nextAt: number;
}

interface Limiter {
  readonly log: SlidingWindowLog;
  readonly limit: number;
  readonly windowMs: number;
  blockedUntil: number;
}

interface WarmRecord {
  readonly key: string;
  readonly fetchedAt: number;
  readonly expiresAt: number;
  firstReadAt: number | undefined;
}

const HALF_HOUR = 1_800_000;

/** Runs one configuration over the week's window; returns its figures. */
export function simulate(options: SimulationOptions): SimulationResult {
  return new Simulation(options).run();
}

class Simulation {
  readonly #o: SimulationOptions;
  readonly #week: MarketWeek;
  readonly #optimized: boolean;
  readonly #clock: ManualClock;
  readonly #queue = new EventQueue();
  readonly #tally: Tally;
  readonly #lowerBound: LowerBound;
  readonly #freshness: Freshness;
  readonly #ttl: FreshnessPolicy;
  readonly #l1: L1Cache<CacheEntry>;
  readonly #l2 = new Map<string, CacheEntry>();
  readonly #keys: string[][];
  readonly #upstreams: Record<ProviderId, SimulatedUpstream>;
  readonly #limiters: Record<ProviderId, Limiter>;
  readonly #flights = new Map<string, Flight>();
  readonly #coalescers = new Map<string, BatchCoalescer<Flight, undefined>>();
  readonly #revalidated = new Map<string, number>();
  /** Per key, the soft expiry of the entry last asked ahead for. */
  readonly #askedAhead = new Map<string, number>();
  readonly #groups = new Map<string, Group>();
  readonly #warmRecords = new Map<CacheEntry, WarmRecord>();
  readonly #warmRuns: Record<WarmMode, number> = {
    scheduled: 0,
    'pre-open': 0,
    'refresh-ahead': 0,
  };
  #warmRequested = 0;
  readonly #access: AccessModel;
  readonly #noJitterTtl: TtlPolicy;
  #requests = 0;

  constructor(options: SimulationOptions) {
    this.#o = options;
    this.#week = options.week;
    this.#optimized = options.configuration === 'optimized';
    this.#clock = new ManualClock(this.#week.from);
    const seed = this.#week.parameters.seed;
    this.#tally = new Tally(this.#week.days.length, this.#week.weekStart);
    const calendar = this.#week.calendar;
    this.#noJitterTtl = new TtlPolicy({ calendar, jitter: 0, clock: this.#clock });
    if (this.#optimized) {
      this.#ttl = new TtlPolicy({
        calendar,
        jitter: OPTIMIZED_DEFAULTS.ttlJitter,
        random: new MarketRandom(seed),
        clock: this.#clock,
      });
      this.#freshness = new Freshness({
        ttlPolicy: this.#ttl,
        staleIfErrorMs: OPTIMIZED_DEFAULTS.staleIfErrorMs,
        negativeTtlMs: OPTIMIZED_DEFAULTS.negativeTtlMs,
        refreshAheadFraction: OPTIMIZED_DEFAULTS.refreshAheadFraction,
      });
    } else {
      this.#ttl = marketHoursTtl;
      // No stale windows: an entry is gone when its TTL ends, as in a plain TTL cache.
      this.#freshness = new Freshness({
        ttlPolicy: marketHoursTtl,
        staleWhileRevalidateFactor: 0,
        staleIfErrorMs: 0,
      });
    }
    this.#lowerBound = new LowerBound(
      this.#week,
      this.#optimized
        ? (dataType, assetType, at) => this.#noJitterTtl.ttl(dataType, assetType, at).ttlMs
        : (dataType, assetType, at) => marketHoursTtl.ttl(dataType, assetType, at).ttlMs,
    );
    const settings = this.#optimized ? OPTIMIZED_DEFAULTS : BASELINE_SETTINGS;
    this.#l1 = new L1Cache<CacheEntry>({
      maxEntries: settings.l1MaxEntries,
      evictionPolicy: settings.l1Policy,
      clock: this.#clock,
      evictionLogSize: 0,
    });
    this.#keys = DATA_TYPE_LIST.map((dataType) =>
      this.#week.assets.map((a) => `${dataType}:${a.assetType}:${a.symbol}`),
    );
    const upstream = (id: ProviderId) =>
      new SimulatedUpstream({
        market: this.#week.market,
        profile: PROFILE_OF[id],
        clock: this.#clock,
        seed: `${seed}:${id}`,
      });
    this.#upstreams = {
      'sim-equities': upstream('sim-equities'),
      'sim-crypto': upstream('sim-crypto'),
      'sim-reference': upstream('sim-reference'),
    };
    const limiter = (id: ProviderId): Limiter => {
      const windows = this.#upstreams[id].profile.rateLimits;
      const tightest = [...windows].sort((a, b) => a.limit / a.windowMs - b.limit / b.windowMs)[0]!;
      return {
        log: new SlidingWindowLog(windows),
        limit: tightest.limit,
        windowMs: tightest.windowMs,
        blockedUntil: 0,
      };
    };
    this.#limiters = {
      'sim-equities': limiter('sim-equities'),
      'sim-crypto': limiter('sim-crypto'),
      'sim-reference': limiter('sim-reference'),
    };
    this.#access = new AccessModel(this.#week, OPTIMIZED_DEFAULTS.halfLifeMs, this.#keys);
  }

  run(): SimulationResult {
    const started = performance.now();
    const week = this.#week;
    if (this.#optimized) {
      for (const request of this.#o.history ?? []) {
        for (const asset of request.assets) {
          this.#access.record(DT_INDEX[request.dataType], asset.id, request.at);
        }
      }
      this.#scheduleWarming();
    }
    const span = Math.max(1, week.to - week.from);
    let sinceProgress = 0;
    for (const request of week) {
      this.#drainUntil(request.at);
      this.#clock.set(request.at);
      this.#read(request);
      this.#requests += 1;
      if (++sinceProgress === 8192) {
        sinceProgress = 0;
        this.#o.onProgress?.((request.at - week.from) / span);
      }
    }
    // The tail of the window: answers still in flight and the last scheduler and warming work.
    this.#drainUntil(week.to);
    this.#stopWarming = true;
    this.#drainUntil(Number.POSITIVE_INFINITY);
    this.#o.onProgress?.(1);
    return {
      configuration: this.#o.configuration,
      tally: this.#tally,
      lowerBound: this.#lowerBound,
      warm: this.#optimized ? this.#warmSummary(week.to) : undefined,
      requests: this.#requests,
      wallMs: performance.now() - started,
      l1: {
        policy: this.#l1.policy,
        maxEntries: this.#l1.maxEntries,
        evictions: Object.values(this.#l1.stats().evictions).reduce((a, b) => a + b, 0),
      },
    };
  }

  #stopWarming = false;

  #drainUntil(t: number): void {
    const queue = this.#queue;
    while (queue.size > 0 && queue.peekTime() <= t) {
      const at = queue.peekTime();
      const fn = queue.pop();
      if (at > this.#clock.now()) this.#clock.set(at);
      fn();
    }
  }

  #at(t: number, fn: () => void): void {
    this.#queue.push(Math.max(t, this.#clock.now()), fn);
  }

  #dayOf(t: number): number {
    const days = this.#week.days;
    for (let d = days.length - 1; d >= 0; d--) if (t >= days[d]!.start) return d;
    return 0;
  }

  // ------------------------------------------------------------------ reads

  #read(request: WorkloadRequest): void {
    const now = request.at;
    const dt = DT_INDEX[request.dataType];
    const state: RequestState = {
      at: now,
      day: this.#dayOf(now),
      dataType: request.dataType,
      pending: request.assets.length,
      doneAt: now,
      failed: false,
    };
    const { l1Ms } = this.#o.latency;
    const l1Time = l1Ms * request.assets.length;
    const l2Misses: { asset: WorkloadAsset; fallback: CacheEntry | undefined }[] = [];
    for (const asset of request.assets) {
      this.#lowerBound.read(dt, asset, now);
      const key = this.#keys[dt]![asset.id]!;
      const held = this.#l1.get(key);
      if (held !== undefined) {
        const phase = this.#freshness.phase(held, now);
        if (phase === 'fresh' || phase === 'revalidate') {
          this.#served(
            state,
            key,
            asset,
            held,
            phase === 'fresh' ? 'l1' : 'l1-stale',
            now + l1Time,
          );
          if (phase === 'revalidate') this.#revalidate(key, asset, request.dataType);
          else this.#ahead(key, held, asset, request.dataType);
          continue;
        }
        if (phase === 'expired') this.#l1.delete(key);
        l2Misses.push({ asset, fallback: phase === 'expired' ? undefined : held });
        continue;
      }
      l2Misses.push({ asset, fallback: undefined });
    }
    if (l2Misses.length === 0) return;
    // One L2 round trip for every key L1 could not answer (MGET for a batch read).
    const extraMs = l1Time + this.#o.latency.l2Ms(l2Misses.length);
    for (const { asset, fallback } of l2Misses) {
      const key = this.#keys[dt]![asset.id]!;
      const entry = this.#l2.get(key);
      let stale = fallback;
      if (entry !== undefined) {
        const phase = this.#freshness.phase(entry, now);
        if (phase === 'fresh' || phase === 'revalidate') {
          this.#fillL1(key, entry, now);
          this.#served(
            state,
            key,
            asset,
            entry,
            phase === 'fresh' ? 'l2' : 'l2-stale',
            now + extraMs,
          );
          if (phase === 'revalidate') this.#revalidate(key, asset, request.dataType);
          else this.#ahead(key, entry, asset, request.dataType);
          continue;
        }
        if (phase === 'expired') this.#l2.delete(key);
        else if (stale === undefined || entry.fetchedAt > stale.fetchedAt) stale = entry;
      }
      if (this.#optimized) this.#joinFlight(state, key, asset, request.dataType, stale, extraMs);
      else this.#plainFetch(state, key, asset, request.dataType, extraMs);
    }
  }

  /** A read answered by an entry (a hit, a stale hit or a fallback). */
  #served(
    state: RequestState,
    key: string,
    asset: WorkloadAsset,
    entry: CacheEntry,
    outcome: ReadOutcome,
    doneAt: number,
  ): void {
    const warm = this.#warmRecords.get(entry);
    if (warm && warm.firstReadAt === undefined) warm.firstReadAt = this.#clock.now();
    this.#finishRead(state, key, asset, outcome, doneAt);
  }

  #finishRead(
    state: RequestState,
    _key: string,
    asset: WorkloadAsset,
    outcome: ReadOutcome,
    doneAt: number,
  ): void {
    const cell = this.#tally.cell(state.day, state.dataType);
    cell.read(outcome);
    const hour = this.#tally.hour(state.at);
    hour.reads += 1;
    const fresh = outcome === 'l1' || outcome === 'l2';
    if (fresh) hour.freshHits += 1;
    if (state.dataType === 'price') {
      hour.priceReads += 1;
      if (fresh) hour.priceFreshHits += 1;
    }
    if (outcome === 'failed') state.failed = true;
    else if (this.#optimized) this.#access.record(DT_INDEX[state.dataType], asset.id, state.at);
    if (doneAt > state.doneAt) state.doneAt = doneAt;
    if (--state.pending === 0) {
      cell.requests += 1;
      if (state.failed) cell.failedRequests += 1;
      else {
        const latency = state.doneAt - state.at;
        cell.latency.record(latency);
        hour.latency.record(latency);
      }
    }
  }

  #fillL1(key: string, entry: CacheEntry, now: number): void {
    const ttlMs = entry.hardExpiresAt - now;
    if (ttlMs > 0) this.#l1.set(key, entry, { ttlMs });
  }

  /** Writes L2 newer-wins, and L1 when `intoL1` (a reader's fill) or when L1 holds the key (an invalidation's replace). */
  #store(key: string, entry: CacheEntry, now: number, intoL1: boolean): void {
    const held = this.#l2.get(key);
    if (held !== undefined && held.fetchedAt > entry.fetchedAt) return;
    this.#l2.set(key, entry);
    if (intoL1 || this.#l1.has(key)) this.#fillL1(key, entry, now);
  }

  // ------------------------------------------------------- baseline: plain read-through

  /** No single flight, no coalescing, no client-side limit: one upstream call per missed key. */
  #plainFetch(
    state: RequestState,
    key: string,
    asset: WorkloadAsset,
    dataType: DataType,
    extraMs: number,
  ): void {
    const provider = providerFor(asset.assetType, dataType);
    const now = this.#clock.now();
    const answer = this.#upstreams[provider].call(dataType, [asset]);
    this.#tally.call(provider, dataType, now, this.#dayOf(now), 'read', 1);
    const end = now + extraMs + answer.latencyMs;
    this.#at(end, () => {
      const t = this.#clock.now();
      if (answer.status === 'ok' && answer.data.has(asset.symbol)) {
        const entry = this.#entry(
          dataType,
          asset,
          answer.data.get(asset.symbol)!,
          provider,
          'read-through',
          t,
        );
        this.#store(key, entry, t, true);
        this.#finishRead(state, key, asset, 'upstream', t);
        return;
      }
      if (answer.status === 'rate-limited') this.#count429(provider, dataType, t);
      this.#finishRead(state, key, asset, 'failed', t);
    });
  }

  #entry(
    dataType: DataType,
    asset: WorkloadAsset,
    value: DataValue,
    provider: ProviderId,
    writer: WriteSource,
    now: number,
  ): CacheEntry {
    return this.#freshness.entry(
      dataType,
      asset.assetType,
      { value, source: provider },
      writer,
      now,
    );
  }

  #count429(provider: ProviderId, dataType: DataType, t: number): void {
    this.#tally.rateLimit(provider, dataType, this.#dayOf(t));
  }

  // ------------------------------------------------- optimized: single flight + coalescing

  #joinFlight(
    state: RequestState,
    key: string,
    asset: WorkloadAsset,
    dataType: DataType,
    fallback: CacheEntry | undefined,
    extraMs: number,
  ): void {
    const now = this.#clock.now();
    let flight = this.#flights.get(key);
    const waiter: Waiter = { request: state, extraMs, joinedAt: now };
    if (flight !== undefined) {
      flight.waiters.push(waiter);
      if (fallback && (!flight.fallback || fallback.fetchedAt > flight.fallback.fetchedAt)) {
        flight.fallback = fallback;
      }
      return;
    }
    flight = { key, asset, dataType, waiters: [waiter], fallback };
    this.#flights.set(key, flight);
    const route = `${asset.assetType}:${dataType}`;
    let coalescer = this.#coalescers.get(route);
    if (coalescer === undefined) {
      const provider = providerFor(asset.assetType, dataType);
      coalescer = new BatchCoalescer<Flight, undefined>({
        maxBatchSize: maxBatchOf(provider),
        windowMs: OPTIMIZED_DEFAULTS.coalesceWindowMs,
        flush: (flights) => {
          this.#readCall(provider, dataType, asset.assetType, flights);
          return Promise.resolve(flights.map(() => undefined));
        },
      });
      this.#coalescers.set(route, coalescer);
    }
    const c = coalescer;
    const f = flight;
    this.#withVirtualTimers(() => void c.load(f).catch(() => undefined));
  }

  /** The api's upstream call for a coalesced batch of flights: leaves the reserve to the scheduler. */
  #readCall(
    provider: ProviderId,
    dataType: DataType,
    assetType: AssetType,
    flights: readonly Flight[],
  ): void {
    const now = this.#clock.now();
    const limiter = this.#limiters[provider];
    const keep = Math.min(reservedCalls(limiter.limit), limiter.limit - 2);
    const granted =
      limiter.blockedUntil <= now && limiter.log.tryAcquire(now, 1, 1, Math.max(0, keep)).granted;
    if (!granted) {
      // BUDGET_EXHAUSTED: no call; the readers get stale data or a 503, and each key goes to
      // the batch-scheduler as an urgent refresh (the api's refreshMiss).
      this.#tally.budgetRefused[PROVIDERS.indexOf(provider)]! += 1;
      for (const flight of flights) {
        this.#settleFlight(flight, undefined, now);
        this.#enqueue(flight.asset, dataType, 0, undefined, false);
      }
      return;
    }
    const assets = flights.map((f) => f.asset);
    const answer = this.#upstreams[provider].call(dataType, assets);
    this.#tally.call(provider, dataType, now, this.#dayOf(now), 'read', assets.length);
    this.#at(now + answer.latencyMs, () => {
      const t = this.#clock.now();
      if (answer.status === 'rate-limited') {
        this.#count429(provider, dataType, t);
        limiter.blockedUntil = Math.max(limiter.blockedUntil, t + answer.retryAfterMs);
      }
      for (const flight of flights) {
        const value = answer.status === 'ok' ? answer.data.get(flight.asset.symbol) : undefined;
        if (value === undefined) {
          this.#settleFlight(flight, undefined, t);
          continue;
        }
        const entry = this.#entry(dataType, flight.asset, value, provider, 'read-through', t);
        this.#store(flight.key, entry, t, true);
        this.#settleFlight(flight, entry, t);
      }
      void assetType;
    });
  }

  /** Answers a flight's readers: with the fetched entry, a stale stand-in, or a failure. */
  #settleFlight(flight: Flight, entry: CacheEntry | undefined, t: number): void {
    if (this.#flights.get(flight.key) === flight) this.#flights.delete(flight.key);
    const soft = OPTIMIZED_DEFAULTS.softFetchTimeoutMs;
    for (const w of flight.waiters) {
      const fallback = flight.fallback;
      const usable =
        fallback !== undefined && this.#freshness.phase(fallback, w.joinedAt) !== 'expired';
      if (entry !== undefined) {
        // Past the soft timeout a reader with stale data got it instead of waiting on.
        if (usable && t - w.joinedAt > soft) {
          this.#served(
            w.request,
            flight.key,
            flight.asset,
            fallback,
            'stale-fallback',
            w.joinedAt + soft,
          );
        } else {
          this.#finishRead(w.request, flight.key, flight.asset, 'upstream', t + w.extraMs);
        }
      } else if (usable) {
        this.#served(
          w.request,
          flight.key,
          flight.asset,
          fallback,
          'stale-fallback',
          t + w.extraMs,
        );
      } else {
        this.#finishRead(w.request, flight.key, flight.asset, 'failed', t + w.extraMs);
      }
    }
  }

  #revalidate(key: string, asset: WorkloadAsset, dataType: DataType): void {
    if (!this.#optimized) return;
    const now = this.#clock.now();
    const until = this.#revalidated.get(key);
    if (until !== undefined && until > now) return;
    this.#revalidated.set(key, now + OPTIMIZED_DEFAULTS.revalidateWindowMs);
    this.#enqueue(asset, dataType, 0, undefined, false);
  }

  /**
   * The api's refresh ahead (CacheManager + the api's onRefreshAhead): a fresh read in the last
   * share of its entry's freshness asks once per entry for a normal refresh due when it goes
   * stale, for providers that take several symbols per call.
   */
  #ahead(key: string, entry: CacheEntry, asset: WorkloadAsset, dataType: DataType): void {
    if (!this.#optimized) return;
    if (!this.#freshness.refreshAheadDue(entry, this.#clock.now())) return;
    if (maxBatchOf(providerFor(asset.assetType, dataType)) <= 1) return;
    if (this.#askedAhead.get(key) === entry.softExpiresAt) return;
    this.#askedAhead.set(key, entry.softExpiresAt);
    this.#enqueue(asset, dataType, 1, entry.softExpiresAt, false);
  }

  /** Runs `fn` with setTimeout/clearTimeout on the virtual clock (for the real BatchCoalescer). */
  #withVirtualTimers(fn: () => void): void {
    const realSet = globalThis.setTimeout;
    const realClear = globalThis.clearTimeout;
    const virtualSet = (callback: () => void, ms?: number) => {
      const handle = { cancelled: false, unref: () => handle, ref: () => handle };
      this.#at(this.#clock.now() + (ms ?? 0), () => {
        if (!handle.cancelled) this.#withVirtualTimers(callback);
      });
      return handle;
    };
    const virtualClear = (handle?: { cancelled: boolean }) => {
      if (handle) handle.cancelled = true;
    };
    globalThis.setTimeout = virtualSet as unknown as typeof setTimeout;
    globalThis.clearTimeout = virtualClear as unknown as typeof clearTimeout;
    try {
      fn();
    } finally {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    }
  }

  // ------------------------------------------------------------ batch-scheduler

  #group(asset: WorkloadAsset, dataType: DataType): Group {
    const id = `${asset.assetType}:${dataType}`;
    let group = this.#groups.get(id);
    if (group === undefined) {
      const provider = providerFor(asset.assetType, dataType);
      group = {
        id,
        provider,
        assetType: asset.assetType,
        dataType,
        maxBatch: Math.max(1, Math.min(maxBatchOf(provider), OPTIMIZED_DEFAULTS.batchSize)),
        pending: [
          new Map<string, PendingKey>(),
          new Map<string, PendingKey>(),
          new Map<string, PendingKey>(),
        ],
        inFlight: new Set(),
        deadlined: new Set(),
        nextAt: Number.POSITIVE_INFINITY,
      };
      this.#groups.set(id, group);
    }
    return group;
  }

  /** A refresh request for one key: priority 0 urgent, 1 normal, 2 low (the warmer's). */
  #enqueue(
    asset: WorkloadAsset,
    dataType: DataType,
    priority: 0 | 1 | 2,
    deadline: number | undefined,
    warm: boolean,
  ): void {
    const group = this.#group(asset, dataType);
    const now = this.#clock.now();
    const symbol = asset.symbol;
    if (group.inFlight.has(symbol)) return;
    let found: PendingKey | undefined;
    for (const map of group.pending) {
      found = map.get(symbol);
      if (found) break;
    }
    if (found) {
      found.warmOnly &&= warm;
      if (deadline !== undefined && (found.deadline === undefined || deadline < found.deadline)) {
        found.deadline = deadline;
        group.deadlined.add(found);
      }
      if (priority < found.priority) {
        group.pending[found.priority].delete(symbol);
        found.priority = priority;
        group.pending[priority].set(symbol, found);
      }
    } else {
      const key: PendingKey = {
        asset,
        priority,
        firstAt: now,
        deadline,
        warmOnly: warm,
        attempts: 0,
      };
      group.pending[priority].set(symbol, key);
      if (deadline !== undefined) group.deadlined.add(key);
    }
    const nonLow = group.pending[0].size + group.pending[1].size;
    if (priority === 0 || deadline !== undefined || nonLow >= group.maxBatch)
      this.#considerAt(group, now);
    else this.#considerAt(group, this.#nextTick(now));
  }

  #nextTick(t: number): number {
    const tick = OPTIMIZED_DEFAULTS.tickMs;
    return Math.ceil((t + 1) / tick) * tick;
  }

  #considerAt(group: Group, t: number): void {
    if (group.nextAt <= t) return;
    group.nextAt = t;
    this.#at(t, () => {
      if (group.nextAt !== t) return;
      group.nextAt = Number.POSITIVE_INFINITY;
      this.#consider(group);
    });
  }

  #budget(provider: ProviderId, now: number): BudgetSnapshot {
    const limiter = this.#limiters[provider];
    const windows = limiter.log.remaining(now);
    const tightest = [...windows].sort((a, b) => a.remaining - b.remaining)[0]!;
    return {
      remaining: tightest.remaining,
      limit: tightest.limit,
      windowMs: tightest.windowMs,
      resetInMs: tightest.resetInMs,
      blockedForMs: Math.max(0, limiter.blockedUntil - now),
      reserved: reservedCalls(tightest.limit),
    };
  }

  #consider(group: Group): void {
    const now = this.#clock.now();
    const settings = {
      maxBatchSize: group.maxBatch,
      intervalMs: OPTIMIZED_DEFAULTS.batchIntervalMs,
      deadlineLeadMs: Math.max(1_000, OPTIMIZED_DEFAULTS.refreshFetchTimeoutMs),
      lowLoadHour: inLowLoadHour(now, OPTIMIZED_DEFAULTS.lowLoadHours, NYSE_TIME_ZONE),
    };
    const read = this.#budget(group.provider, now);
    let budget = read;
    for (let queued = 1; ; queued++) {
      const decision = decideFlush(snapshotOf(group), budget, settings, now);
      if (!decision.flush) {
        if (decision.reason === 'empty') return;
        // The real flusher looks every tick (200 ms): a low-load window or an idle budget is
        // seen within a second here, every other wait at the instant the policy names.
        const wait =
          decision.reason === 'low-window'
            ? Math.min(1_000, decision.recheckInMs)
            : decision.recheckInMs;
        this.#considerAt(group, this.#nextTick(now + wait - 1));
        return;
      }
      const claimed = claim(
        group,
        settings.maxBatchSize,
        decision.includeLow,
        now + settings.deadlineLeadMs,
      );
      if (claimed.length === 0) return;
      this.#schedulerCall(group, claimed);
      if (claimed.length < settings.maxBatchSize) break;
      budget = { ...read, remaining: read.remaining - queued };
    }
    if (group.pending.some((m) => m.size > 0)) this.#considerAt(group, this.#nextTick(now));
  }

  #schedulerCall(group: Group, claimed: readonly PendingKey[]): void {
    const now = this.#clock.now();
    const dt = DT_INDEX[group.dataType];
    // REFRESH_MIN_AGE_FRACTION: a non-urgent key cached recently enough is skipped when its batch goes.
    const keys = claimed.filter((k) => {
      if (k.priority === 0) return true;
      const entry = this.#l2.get(this.#keys[dt]![k.asset.id]!);
      const young =
        entry !== undefined &&
        now < entry.fetchedAt + entry.ttlMs * OPTIMIZED_DEFAULTS.minAgeFraction;
      if (young) group.inFlight.delete(k.asset.symbol);
      return !young;
    });
    if (keys.length === 0) return;
    const limiter = this.#limiters[group.provider];
    if (limiter.blockedUntil > now || !limiter.log.tryAcquire(now).granted) {
      this.#requeue(group, keys, false);
      return;
    }
    const caller: Caller = keys.every((k) => k.warmOnly) ? 'warm' : 'scheduler';
    const answer: UpstreamAnswer = this.#upstreams[group.provider].call(
      group.dataType,
      keys.map((k) => k.asset),
    );
    this.#tally.call(group.provider, group.dataType, now, this.#dayOf(now), caller, keys.length);
    this.#at(now + answer.latencyMs, () => {
      const t = this.#clock.now();
      if (answer.status !== 'ok') {
        if (answer.status === 'rate-limited') {
          this.#count429(group.provider, group.dataType, t);
          limiter.blockedUntil = Math.max(limiter.blockedUntil, t + answer.retryAfterMs);
        }
        this.#requeue(group, keys, answer.status !== 'rate-limited');
        return;
      }
      for (const k of keys) {
        group.inFlight.delete(k.asset.symbol);
        const value = answer.data.get(k.asset.symbol);
        if (value === undefined) continue;
        const key = this.#keys[dt]![k.asset.id]!;
        const writer: WriteSource = k.warmOnly ? 'warmer' : 'scheduler';
        const entry = this.#entry(group.dataType, k.asset, value, group.provider, writer, t);
        this.#store(key, entry, t, false);
        if (k.warmOnly && this.#l2.get(key) === entry) {
          this.#warmRecords.set(entry, {
            key,
            fetchedAt: entry.fetchedAt,
            expiresAt: entry.softExpiresAt,
            firstReadAt: undefined,
          });
        }
      }
    });
  }

  /** Keys back to pending: after a 429 or a spent budget (no attempt spent), or a 5xx (one spent). */
  #requeue(group: Group, keys: readonly PendingKey[], attempt: boolean): void {
    for (const k of keys) {
      group.inFlight.delete(k.asset.symbol);
      if (attempt && ++k.attempts >= OPTIMIZED_DEFAULTS.maxAttempts) continue;
      const existing = group.pending[k.priority].get(k.asset.symbol);
      if (!existing) {
        group.pending[k.priority].set(k.asset.symbol, k);
        if (k.deadline !== undefined) group.deadlined.add(k);
      }
    }
    const now = this.#clock.now();
    const backoff = attempt ? 1_000 : 0;
    this.#considerAt(group, this.#nextTick(now + backoff));
  }

  // ------------------------------------------------------------------ warmer

  #scheduleWarming(): void {
    const week = this.#week;
    const calendar = week.calendar;
    const from = week.from;
    const scheduled = (after: number) => {
      const at = nextScheduledRunAt(OPTIMIZED_DEFAULTS.warmingSchedule, NYSE_TIME_ZONE, after);
      if (at >= week.to) return;
      this.#at(at, () => {
        if (this.#stopWarming) return;
        this.#warmRun('scheduled');
        scheduled(at);
      });
    };
    scheduled(from - 1);
    const preOpen = (after: number) => {
      const at = nextPreOpenRunAt(after, calendar, OPTIMIZED_DEFAULTS.preOpenMinutes);
      if (at === undefined || at >= week.to) return;
      this.#at(at, () => {
        if (this.#stopWarming) return;
        this.#warmRun('pre-open');
        preOpen(at);
      });
    };
    preOpen(from - 1);
    const step = OPTIMIZED_DEFAULTS.refreshAheadSeconds * 1000;
    const refreshAhead = (at: number) => {
      if (at >= week.to) return;
      this.#at(at, () => {
        if (this.#stopWarming) return;
        if (inSession(at, calendar)) this.#warmRun('refresh-ahead');
        // Outside the session jump to the next regular open, not minute by minute.
        const next = inSession(at, calendar)
          ? at + step
          : Math.max(at + step, calendar.nextOpen(at));
        refreshAhead(next);
      });
    };
    refreshAhead(Math.ceil(from / step) * step);
  }

  #warmRun(mode: WarmMode): void {
    const now = this.#clock.now();
    const calendar = this.#week.calendar;
    let window: { start: number; end: number } | undefined;
    if (mode === 'scheduled') {
      window = {
        start: now,
        end: nextScheduledRunAt(OPTIMIZED_DEFAULTS.warmingSchedule, NYSE_TIME_ZONE, now),
      };
    } else if (mode === 'pre-open') {
      const open = openWindow(calendar.exchangeDayAt(now).date, calendar);
      if (!open || open.end <= now) return;
      window = open;
    } else {
      window = refreshAheadWindow(now, OPTIMIZED_DEFAULTS.refreshAheadSeconds);
    }
    if (!window) return;
    this.#warmRuns[mode] += 1;
    const deadlineLead = Math.max(1_000, OPTIMIZED_DEFAULTS.refreshFetchTimeoutMs);
    // Candidates: keys with an access record that the planner would not skip as fresh through the
    // window or (refresh-ahead) as absent; their AccessStats are built only for these.
    const l2 = new Map<string, L2State>();
    const stats: AccessStats[] = [];
    this.#access.forEachTracked((dt, id, key) => {
      const asset = this.#week.assets[id]!;
      if (mode === 'pre-open' && asset.assetType !== 'equity') return;
      const entry = this.#l2.get(key);
      const present = entry !== undefined && entry.hardExpiresAt > now;
      if (mode === 'refresh-ahead' && !present) return;
      if (present && entry.softExpiresAt >= window.end) return;
      if (present)
        l2.set(key, { softExpiresAt: entry.softExpiresAt, hardExpiresAt: entry.hardExpiresAt });
      stats.push(this.#access.stats(dt, id, key, now));
    });
    if (stats.length === 0) return;
    const budgets = new Map<string, ProviderBudget>();
    for (const provider of PROVIDERS) {
      const b = this.#budget(provider, now);
      budgets.set(provider, {
        remainingCalls: b.remaining,
        reserveCalls: reservedCalls(b.limit),
        maxBatchSize: maxBatchOf(provider),
      });
    }
    const plan = planWarming({
      now,
      mode,
      window,
      stats,
      l2,
      events: this.#week.earningsCalendar(),
      calendar,
      halfLifeMs: OPTIMIZED_DEFAULTS.halfLifeMs,
      route: (assetType, dataType) => providerFor(assetType, dataType),
      budgets,
      maxKeys: OPTIMIZED_DEFAULTS.warmingBatchSize,
      freshUntilIfWarmed: (s, writtenAt) => {
        const at =
          mode === 'pre-open' ? Math.max(writtenAt, window.start - deadlineLead) : writtenAt;
        return at + this.#noJitterTtl.ttl(s.dataType, s.assetType, at).ttlMs;
      },
    });
    this.#warmRequested += plan.choices.length;
    for (const choice of plan.choices) {
      const asset = this.#access.assetOf(choice.key)!;
      const state = l2.get(choice.key);
      const deadline =
        mode === 'pre-open'
          ? window.start
          : mode === 'refresh-ahead'
            ? state === undefined
              ? window.start
              : Math.floor(state.softExpiresAt / 10_000) * 10_000
            : undefined;
      this.#enqueue(asset, choice.dataType, 2, deadline, true);
    }
  }

  #warmSummary(end: number): WarmSummary {
    let used = 0;
    let wasted = 0;
    let pending = 0;
    for (const record of this.#warmRecords.values()) {
      const outcome = warmOutcome(record, record.firstReadAt, end);
      if (outcome === 'used') used += 1;
      else if (outcome === 'wasted') wasted += 1;
      else pending += 1;
    }
    return {
      runs: { ...this.#warmRuns },
      requested: this.#warmRequested,
      entries: this.#warmRecords.size,
      used,
      wasted,
      pending,
      precision: used + wasted === 0 ? undefined : used / (used + wasted),
    };
  }
}

function snapshotOf(group: Group) {
  const [urgent, normal, low] = group.pending;
  let earliestDeadline: number | undefined;
  for (const k of group.deadlined) {
    if (earliestDeadline === undefined || k.deadline! < earliestDeadline)
      earliestDeadline = k.deadline;
  }
  return {
    urgent: urgent.size,
    normal: normal.size,
    low: low.size,
    oldestUrgentAt: firstOf(urgent)?.firstAt,
    oldestNormalAt: firstOf(normal)?.firstAt,
    oldestLowAt: firstOf(low)?.firstAt,
    earliestDeadline,
  };
}

function firstOf<V>(map: Map<string, V>): V | undefined {
  for (const v of map.values()) return v;
  return undefined;
}

/**
 * The keys a flush takes, at most `max`: keys due by their deadline first, then urgent and
 * normal keys oldest first, then (when the policy allows) low ones.
 */
function claim(
  group: Group,
  max: number,
  includeLow: boolean,
  deadlineBefore: number,
): PendingKey[] {
  const out: PendingKey[] = [];
  const takeOne = (k: PendingKey) => {
    group.pending[k.priority].delete(k.asset.symbol);
    group.deadlined.delete(k);
    group.inFlight.add(k.asset.symbol);
    out.push(k);
  };
  const take = (map: Map<string, PendingKey>) => {
    for (const k of map.values()) {
      if (out.length >= max) return;
      takeOne(k);
    }
  };
  for (const k of [...group.deadlined].sort((a, b) => a.deadline! - b.deadline!)) {
    if (out.length >= max || k.deadline! >= deadlineBefore) break;
    takeOne(k);
  }
  take(group.pending[0]);
  take(group.pending[1]);
  if (includeLow) take(group.pending[2]);
  return out;
}

/**
 * The access history the warmer plans from: per key, reads decayed with the store's half-life,
 * in total and per half-hour bucket of the exchange day (@fiml/cache AccessStats), without the
 * Redis record's 4-bit quantisation of the profile. Decay is applied by weighting each read by
 * 2^((t - origin) / halfLife) and scaling back when read, so a read costs two additions.
 */
class AccessModel {
  readonly #origin: number;
  readonly #halfLifeMs: number;
  readonly #week: MarketWeek;
  readonly #keys: string[][];
  readonly #n: number;
  readonly #sum: Float64Array;
  readonly #last: Float64Array;
  readonly #profile: Float64Array;
  readonly #byKey = new Map<string, WorkloadAsset>();
  #cachedHalfHour = Number.NaN;
  #cachedBucket = 0;
  #cachedWeightHalfHour = Number.NaN;
  #cachedWeight = 1;

  constructor(week: MarketWeek, halfLifeMs: number, keys: string[][]) {
    this.#week = week;
    this.#halfLifeMs = halfLifeMs;
    this.#keys = keys;
    this.#n = week.assets.length;
    // Two weeks of weights stay within 2^2 at a 7-day half-life: no overflow, no precision loss.
    this.#origin = week.weekStart - 14 * 86_400_000;
    this.#sum = new Float64Array(3 * this.#n);
    this.#last = new Float64Array(3 * this.#n).fill(Number.NaN);
    this.#profile = new Float64Array(3 * this.#n * PROFILE_BUCKETS);
    for (const [dt, row] of keys.entries()) {
      for (const [id, key] of row.entries()) this.#byKey.set(key, week.assets[id]!);
      void dt;
    }
  }

  record(dt: number, id: number, at: number): void {
    const half = Math.floor(at / HALF_HOUR);
    if (half !== this.#cachedHalfHour) {
      this.#cachedHalfHour = half;
      this.#cachedBucket = bucketAt(half * HALF_HOUR);
    }
    if (half !== this.#cachedWeightHalfHour) {
      this.#cachedWeightHalfHour = half;
      this.#cachedWeight = Math.pow(2, (half * HALF_HOUR - this.#origin) / this.#halfLifeMs);
    }
    const i = dt * this.#n + id;
    const w = this.#cachedWeight;
    this.#sum[i]! += w;
    this.#profile[i * PROFILE_BUCKETS + this.#cachedBucket]! += w;
    if (!(this.#last[i]! >= at)) this.#last[i] = at;
  }

  forEachTracked(fn: (dt: number, id: number, key: string) => void): void {
    for (let dt = 0; dt < 3; dt++) {
      const base = dt * this.#n;
      for (let id = 0; id < this.#n; id++) {
        if (this.#sum[base + id]! > 0) fn(dt, id, this.#keys[dt]![id]!);
      }
    }
  }

  assetOf(key: string): WorkloadAsset | undefined {
    return this.#byKey.get(key);
  }

  stats(dt: number, id: number, key: string, now: number): AccessStats {
    const i = dt * this.#n + id;
    const scale = Math.pow(2, -(now - this.#origin) / this.#halfLifeMs);
    const profile = new Array<number>(PROFILE_BUCKETS);
    for (let b = 0; b < PROFILE_BUCKETS; b++)
      profile[b] = this.#profile[i * PROFILE_BUCKETS + b]! * scale;
    const asset = this.#week.assets[id]!;
    return {
      key,
      dataType: DATA_TYPE_LIST[dt]!,
      assetType: asset.assetType,
      symbol: asset.symbol,
      frequency: this.#sum[i]! * scale,
      profile,
      lastAccessAt: this.#last[i]!,
      asOf: now,
    };
  }
}
