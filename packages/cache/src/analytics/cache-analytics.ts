import { DATA_TYPES, systemClock, type Clock, type DataType } from '@fiml/market';
import {
  WRITE_SOURCES,
  type CacheEventSource,
  type CacheEvents,
  type CacheLevel,
  type EvictionCause,
  type WriteSource,
} from '../cache-events.js';
import {
  ANALYTICS_WINDOWS,
  DEFAULT_RECOMMENDATION_THRESHOLDS,
  REPORT_WINDOWS,
  type AnalyticsFootprint,
  type AnalyticsWindow,
  type CacheReport,
  type LatencyStats,
  type PollutionStats,
  type RecommendationThresholds,
  type ReportWindow,
  type SourceStats,
  type WindowStats,
} from './analytics-report.js';
import { LogLinearHistogram, type LogLinearHistogramOptions } from './log-linear-histogram.js';
import { recommend } from './recommendations.js';
import { SlidingCounters, SlidingHistogram } from './sliding-window.js';

/** One lookup at one tier, as the original FIML recorded it. */
export interface CacheAccess {
  readonly isHit: boolean;
  /**
   * Time to answer, in ms. On a hit it goes to the latency of reads answered
   * by `level`; on a miss, to the latency of reads no tier answered, so give
   * it once per read (on the last tier's miss, including the fetch).
   */
  readonly latencyMs?: number;
  /**
   * The tier looked up. A read tries L1 first, so an L2 lookup implies an L1
   * miss: record `{ level: 'l1', isHit: false }` before it.
   * @defaultValue 'l1'
   */
  readonly level?: CacheLevel;
}

/** An entry that left L1. */
export interface CacheEviction {
  readonly cause: EvictionCause;
  /** Who wrote it. @defaultValue 'manual' */
  readonly writer?: WriteSource;
  /** Whether it was read while cached; false is pollution (for capacity and expiry). */
  readonly wasRead: boolean;
}

/** Layout of the latency histograms. */
export type LatencyHistogramOptions = Pick<
  LogLinearHistogramOptions,
  'resolution' | 'highest' | 'subBuckets'
>;

export interface CacheAnalyticsOptions {
  /** Time source for the sliding windows. @defaultValue systemClock */
  readonly clock?: Clock;
  /** The window whose numbers the recommendations and the pollution summary use. @defaultValue '1h' */
  readonly recommendationWindow?: AnalyticsWindow;
  /** Overrides of {@link DEFAULT_RECOMMENDATION_THRESHOLDS}. @defaultValue {} */
  readonly thresholds?: Partial<RecommendationThresholds>;
  /** Latency histogram layout. @defaultValue 10 ns resolution, up to 1 h, 64 sub-buckets (≤ 0.78 % error) */
  readonly histogram?: LatencyHistogramOptions;
}

/**
 * Slot layout per window: counters in 60 slots (1 s, 5 s, 1 min wide);
 * latency histograms in fewer, wider slots because each holds ~9 KB. The
 * latency windows are therefore coarser: the 1 h latency window covers
 * 50-60 minutes of history, the 1 h counters 59-60 minutes.
 */
const WINDOW_LAYOUT: Readonly<
  Record<AnalyticsWindow, { spanMs: number; counterSlots: number; histogramSlots: number }>
> = {
  '1m': { spanMs: 60_000, counterSlots: 60, histogramSlots: 6 },
  '5m': { spanMs: 300_000, counterSlots: 60, histogramSlots: 5 },
  '1h': { spanMs: 3_600_000, counterSlots: 60, histogramSlots: 6 },
};

// Counter fields of one data type. Writer-indexed fields take WRITE_SOURCES order.
const L1_HIT = 0;
const L1_MISS = 1;
const L2_HIT = 2;
const L2_MISS = 3;
const STALE_REVALIDATE = 4;
const STALE_FETCH_ERROR = 5;
const EVICTED: Readonly<Record<EvictionCause, number>> = {
  capacity: 6,
  'admission-rejected': 7,
  expired: 8,
  invalidated: 9,
};
const FETCHES = 10;
const FETCH_KEYS = 11;
const FETCH_ERRORS = 12;
const WRITTEN = 13;
const DEPARTED = 17;
const UNREAD = 21;
const STALE_SOFT_TIMEOUT = 25;
const FIELDS = 26;

const WRITER_INDEX: Readonly<Record<WriteSource, number>> = {
  'read-through': 0,
  warmer: 1,
  scheduler: 2,
  manual: 3,
};
/** Sources whose entries cost an upstream fetch nobody asked for when left unread. */
const SPECULATIVE: Readonly<Record<WriteSource, boolean>> = {
  'read-through': false,
  warmer: true,
  scheduler: true,
  manual: false,
};

/** Where a read was answered: the latency series. */
type AnsweredBy = CacheLevel | 'miss';
const ANSWERED_BY: readonly AnsweredBy[] = ['l1', 'l2', 'miss'];
const ANSWERED_INDEX: Readonly<Record<AnsweredBy, number>> = { l1: 0, l2: 1, miss: 2 };

interface LatencySeries {
  readonly lifetime: LogLinearHistogram;
  /** In ANALYTICS_WINDOWS order. */
  readonly windows: readonly SlidingHistogram[];
}

interface DataTypeSeries {
  /** In ANALYTICS_WINDOWS order. */
  readonly windows: readonly SlidingCounters[];
  readonly totals: Float64Array;
  /** In ANSWERED_BY order; allocated on the first latency recorded. */
  readonly latency: (LatencySeries | undefined)[];
}

const DATA_TYPE_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  DATA_TYPES.map((d, i) => [d, i]),
);

function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

function orNull(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/**
 * Cache analytics: hits and misses per data type and tier over sliding
 * windows (1 min, 5 min, 1 h), read latency quantiles from mergeable
 * log-linear histograms, pollution (entries evicted or expired without a read)
 * by data type and by the source that wrote them, and recommendations backed
 * by enough samples.
 *
 * Pure and bounded: no I/O, time from the injected clock, and every
 * structure sized at construction (latency series on first use, at most
 * nine), so memory stays flat however many events arrive. Nothing is kept per
 * key; pollution comes from the `wasRead` flag the cache puts on evictions.
 *
 * Feed it with {@link attach} (a CacheManager's events) or the library face
 * {@link recordCacheAccess}, and read {@link getComprehensiveReport}.
 */
export class CacheAnalytics {
  readonly #clock: Clock;
  readonly #window: AnalyticsWindow;
  readonly #thresholds: RecommendationThresholds;
  readonly #histogramOptions: LatencyHistogramOptions;
  readonly #series: readonly DataTypeSeries[];
  /** Scratch for reports: merged window histograms and summed counters. */
  readonly #scratch: LogLinearHistogram;
  #ignored = 0;

  constructor(options: CacheAnalyticsOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#window = options.recommendationWindow ?? '1h';
    this.#thresholds = Object.freeze({
      ...DEFAULT_RECOMMENDATION_THRESHOLDS,
      ...options.thresholds,
    });
    this.#histogramOptions = { ...options.histogram };
    this.#scratch = new LogLinearHistogram(this.#histogramOptions);
    this.#series = DATA_TYPES.map(() => ({
      windows: ANALYTICS_WINDOWS.map((w) => {
        const layout = WINDOW_LAYOUT[w];
        return new SlidingCounters(layout.spanMs, layout.counterSlots, FIELDS);
      }),
      totals: new Float64Array(FIELDS),
      latency: ANSWERED_BY.map(() => undefined),
    }));
  }

  /**
   * Records one lookup at one tier (the original FIML's
   * `recordCacheAccess(dataType, isHit, latencyMs, cacheLevel)`).
   * Throws RangeError for an unknown data type or a negative latency.
   */
  recordCacheAccess(dataType: DataType, access: CacheAccess): void {
    const series = this.#seriesOf(dataType);
    const latency = access.latencyMs;
    if (latency !== undefined && !(latency >= 0 && latency < Number.POSITIVE_INFINITY)) {
      throw new RangeError(`latencyMs must be a finite number >= 0, got ${latency}`);
    }
    const now = this.#clock.now();
    const level = access.level ?? 'l1';
    if (level === 'l1') this.#add(series, now, access.isHit ? L1_HIT : L1_MISS);
    else this.#add(series, now, access.isHit ? L2_HIT : L2_MISS);
    if (latency !== undefined) this.#latency(series, now, access.isHit ? level : 'miss', latency);
  }

  /** Records an entry written to the cache. */
  recordWrite(dataType: DataType, writer: WriteSource = 'manual'): void {
    const series = this.#seriesOf(dataType);
    this.#add(series, this.#clock.now(), WRITTEN + this.#writerIndex(writer));
  }

  /**
   * Records an entry that left L1. Capacity evictions and expiries of unread
   * entries count as pollution for their writer; invalidations (a newer value
   * replaced it) and admission rejections (it never held L1 space) do not.
   */
  recordEviction(dataType: DataType, eviction: CacheEviction): void {
    const series = this.#seriesOf(dataType);
    const field = EVICTED[eviction.cause];
    if (field === undefined) throw new RangeError(`unknown eviction cause ${eviction.cause}`);
    const writer = this.#writerIndex(eviction.writer ?? 'manual');
    const now = this.#clock.now();
    this.#add(series, now, field);
    if (eviction.cause === 'capacity' || eviction.cause === 'expired') {
      this.#add(series, now, DEPARTED + writer);
      if (!eviction.wasRead) this.#add(series, now, UNREAD + writer);
    }
  }

  /**
   * Subscribes to a cache's events (a CacheManager) and returns the function
   * that unsubscribes. A `hit` at L2 counts an L1 miss and an L2 hit; a `miss`
   * counts a miss at both tiers; a stale value served because the fetch failed
   * counts a miss at the tiers it was looked up in. Listeners never throw into the cache: an
   * event that breaks the contract is counted in `ignoredEvents` and dropped.
   */
  attach(source: CacheEventSource): () => void {
    const guard =
      <A>(fn: (event: A) => void) =>
      (event: A): void => {
        try {
          fn(event);
        } catch {
          // Counted, and visible in every report: a contract break, not a crash in the read path.
          this.#ignored += 1;
        }
      };
    const listeners: { [E in keyof CacheEvents]?: CacheEvents[E] } = {
      hit: guard((e) => {
        if (e.level === 'l2') {
          this.recordCacheAccess(e.dataType, { isHit: false, level: 'l1' });
        }
        this.recordCacheAccess(e.dataType, { isHit: true, level: e.level, latencyMs: e.latencyMs });
      }),
      miss: guard((e) => {
        this.recordCacheAccess(e.dataType, { isHit: false, level: 'l1' });
        this.recordCacheAccess(e.dataType, { isHit: false, level: 'l2', latencyMs: e.latencyMs });
      }),
      'stale-served': guard((e) => {
        const series = this.#seriesOf(e.dataType);
        if (e.reason === 'revalidate') {
          // The read was also a `hit` event; this only marks it stale.
          this.#add(series, this.#clock.now(), STALE_REVALIDATE);
          return;
        }
        // Too stale to serve unless the fetch failed or passed its soft timeout,
        // and it did: the cache did not answer from fresh data, so the read
        // counts as a miss at the tiers it looked in (a CacheManager emits no
        // hit or miss for it).
        this.#add(
          series,
          this.#clock.now(),
          e.reason === 'soft-timeout' ? STALE_SOFT_TIMEOUT : STALE_FETCH_ERROR,
        );
        this.recordCacheAccess(e.dataType, { isHit: false, level: 'l1' });
        if (e.level === 'l2') this.recordCacheAccess(e.dataType, { isHit: false, level: 'l2' });
      }),
      fetch: guard((e) => {
        const series = this.#seriesOf(e.dataType);
        const now = this.#clock.now();
        this.#add(series, now, FETCHES);
        this.#add(series, now, FETCH_KEYS, e.keys);
        if (e.outcome === 'error') this.#add(series, now, FETCH_ERRORS);
      }),
      set: guard((e) => this.recordWrite(e.dataType, e.writer)),
      evict: guard((e) =>
        this.recordEviction(e.dataType, { cause: e.cause, writer: e.writer, wasRead: e.wasRead }),
      ),
    };
    const names = Object.keys(listeners) as (keyof CacheEvents)[];
    for (const name of names) source.on(name, listeners[name]!);
    return () => {
      for (const name of names) source.off(name, listeners[name]!);
    };
  }

  /** Hit rate (L1 or L2) per data type over a window; data types without reads are absent. */
  hitRates(window: AnalyticsWindow = '5m'): Partial<Record<DataType, number>> {
    const out: Partial<Record<DataType, number>> = {};
    const sums = new Float64Array(FIELDS);
    const w = ANALYTICS_WINDOWS.indexOf(window);
    const now = this.#clock.now();
    DATA_TYPES.forEach((dataType, i) => {
      this.#series[i]!.windows[w]!.sum(now, sums);
      const reads = sums[L1_HIT]! + sums[L1_MISS]!;
      if (reads > 0) out[dataType] = (sums[L1_HIT]! + sums[L2_HIT]!) / reads;
    });
    return out;
  }

  /** Everything analytics knows, as JSON, with the recommendations it supports. */
  getComprehensiveReport(): CacheReport {
    const now = this.#clock.now();
    const byDataType = {} as Record<DataType, Record<ReportWindow, WindowStats>>;
    const overall = {} as Record<ReportWindow, WindowStats>;
    const sums = DATA_TYPES.map(() => new Float64Array(FIELDS));
    const all = new Float64Array(FIELDS);
    for (const window of REPORT_WINDOWS) {
      all.fill(0);
      DATA_TYPES.forEach((dataType, i) => {
        const s = sums[i]!;
        const series = this.#series[i]!;
        if (window === 'total') s.set(series.totals);
        else series.windows[ANALYTICS_WINDOWS.indexOf(window)]!.sum(now, s);
        for (let f = 0; f < FIELDS; f++) all[f] = all[f]! + s[f]!;
        (byDataType[dataType] ??= {} as Record<ReportWindow, WindowStats>)[window] =
          this.#windowStats(s, (answered) => this.#latencyStats([i], answered, window, now));
      });
      overall[window] = this.#windowStats(all, (answered) =>
        this.#latencyStats(
          DATA_TYPES.map((_, i) => i),
          answered,
          window,
          now,
        ),
      );
    }

    const window = this.#window;
    const inWindow = Object.fromEntries(
      DATA_TYPES.map((d) => [d, byDataType[d][window]]),
    ) as Record<DataType, WindowStats>;
    const bySource = {} as Record<WriteSource, PollutionStats>;
    for (const source of WRITE_SOURCES) {
      bySource[source] = pollutionOf(DATA_TYPES.map((d) => inWindow[d].bySource[source]));
    }
    const pollutionByType = {} as Record<DataType, PollutionStats>;
    for (const d of DATA_TYPES) pollutionByType[d] = inWindow[d].pollution;

    return {
      generatedAt: new Date(now).toISOString(),
      overall,
      byDataType,
      pollution: { window, bySource, byDataType: pollutionByType },
      recommendations: recommend(inWindow, window, this.#thresholds),
      settings: { recommendationWindow: window, thresholds: this.#thresholds },
      ignoredEvents: this.#ignored,
    };
  }

  /** The fixed structures analytics holds; constant once every latency series is in use. */
  footprint(): AnalyticsFootprint {
    let counterRings = 0;
    let counterSlots = 0;
    let latencySeries = 0;
    let histograms = 0;
    let histogramBuckets = 0;
    let bytes = this.#scratch.byteLength;
    for (const series of this.#series) {
      bytes += series.totals.byteLength;
      for (const ring of series.windows) {
        counterRings += 1;
        counterSlots += ring.slots;
        bytes += ring.byteLength;
      }
      for (const latency of series.latency) {
        if (!latency) continue;
        latencySeries += 1;
        histograms += 1;
        histogramBuckets += latency.lifetime.layout.bucketCount;
        bytes += latency.lifetime.byteLength;
        for (const ring of latency.windows) {
          histograms += ring.histogramCount;
          histogramBuckets += ring.histogramCount * latency.lifetime.layout.bucketCount;
          bytes += ring.byteLength;
        }
      }
    }
    return { counterRings, counterSlots, latencySeries, histograms, histogramBuckets, bytes };
  }

  #seriesOf(dataType: DataType): DataTypeSeries {
    const index = DATA_TYPE_INDEX[dataType];
    if (index === undefined) throw new RangeError(`unknown data type ${String(dataType)}`);
    return this.#series[index]!;
  }

  #writerIndex(writer: WriteSource): number {
    const index = WRITER_INDEX[writer];
    if (index === undefined) throw new RangeError(`unknown write source ${String(writer)}`);
    return index;
  }

  /** Hot path: one increment per window ring plus the lifetime total. */
  #add(series: DataTypeSeries, now: number, field: number, amount = 1): void {
    for (const ring of series.windows) ring.add(now, field, amount);
    series.totals[field] = series.totals[field]! + amount;
  }

  /** Hot path: the bucket index is computed once for the lifetime and the three window rings. */
  #latency(series: DataTypeSeries, now: number, answered: AnsweredBy, latencyMs: number): void {
    const i = ANSWERED_INDEX[answered];
    let latency = series.latency[i];
    if (!latency) {
      latency = {
        lifetime: new LogLinearHistogram(this.#histogramOptions),
        windows: ANALYTICS_WINDOWS.map((w) => {
          const layout = WINDOW_LAYOUT[w];
          return new SlidingHistogram(layout.spanMs, layout.histogramSlots, this.#histogramOptions);
        }),
      };
      series.latency[i] = latency;
    }
    const bucket = latency.lifetime.bucketIndex(latencyMs);
    latency.lifetime.addToBucket(bucket, latencyMs);
    for (const ring of latency.windows) ring.addToBucket(now, bucket, latencyMs);
  }

  #latencyStats(
    dataTypes: readonly number[],
    answered: AnsweredBy,
    window: ReportWindow,
    now: number,
  ): LatencyStats {
    const merged = this.#scratch;
    merged.reset();
    for (const i of dataTypes) {
      const latency = this.#series[i]!.latency[ANSWERED_INDEX[answered]];
      if (!latency) continue;
      if (window === 'total') merged.merge(latency.lifetime);
      else latency.windows[ANALYTICS_WINDOWS.indexOf(window)]!.mergeInto(now, merged);
    }
    return {
      count: merged.count,
      meanMs: orNull(merged.mean),
      p50Ms: orNull(merged.quantile(0.5)),
      p95Ms: orNull(merged.quantile(0.95)),
      p99Ms: orNull(merged.quantile(0.99)),
    };
  }

  #windowStats(s: Float64Array, latency: (answered: AnsweredBy) => LatencyStats): WindowStats {
    const f = (field: number): number => s[field]!;
    const reads = f(L1_HIT) + f(L1_MISS);
    const hits = f(L1_HIT) + f(L2_HIT);
    const bySource = {} as Record<WriteSource, SourceStats>;
    for (const source of WRITE_SOURCES) {
      const w = WRITER_INDEX[source];
      const departed = f(DEPARTED + w);
      const unread = f(UNREAD + w);
      bySource[source] = {
        written: f(WRITTEN + w),
        departed,
        unread,
        pollutionRate: ratio(unread, departed),
        wastedUpstreamFetches: SPECULATIVE[source] ? unread : 0,
      };
    }
    const evictions = {
      capacity: f(EVICTED.capacity),
      'admission-rejected': f(EVICTED['admission-rejected']),
      expired: f(EVICTED.expired),
      invalidated: f(EVICTED.invalidated),
      total: 0,
    };
    evictions.total =
      evictions.capacity +
      evictions['admission-rejected'] +
      evictions.expired +
      evictions.invalidated;
    return {
      reads,
      hits,
      misses: reads - hits,
      hitRate: ratio(hits, reads),
      l1: {
        hits: f(L1_HIT),
        misses: f(L1_MISS),
        hitRate: ratio(f(L1_HIT), f(L1_HIT) + f(L1_MISS)),
      },
      l2: {
        hits: f(L2_HIT),
        misses: f(L2_MISS),
        hitRate: ratio(f(L2_HIT), f(L2_HIT) + f(L2_MISS)),
      },
      staleServed: {
        revalidate: f(STALE_REVALIDATE),
        'fetch-error': f(STALE_FETCH_ERROR),
        'soft-timeout': f(STALE_SOFT_TIMEOUT),
      },
      latency: { l1: latency('l1'), l2: latency('l2'), miss: latency('miss') },
      evictions,
      bySource,
      pollution: pollutionOf(WRITE_SOURCES.map((source) => bySource[source])),
      fetches: { count: f(FETCHES), keys: f(FETCH_KEYS), errors: f(FETCH_ERRORS) },
    };
  }
}

function pollutionOf(parts: readonly SourceStats[]): PollutionStats {
  let departed = 0;
  let unread = 0;
  let wastedUpstreamFetches = 0;
  for (const p of parts) {
    departed += p.departed;
    unread += p.unread;
    wastedUpstreamFetches += p.wastedUpstreamFetches;
  }
  return { departed, unread, pollutionRate: ratio(unread, departed), wastedUpstreamFetches };
}
