import type { DataType } from '@fiml/market';
import type { EvictionCause, WriteSource } from '../cache-events.js';

/**
 * The shape of {@link CacheAnalytics.getComprehensiveReport}: plain JSON
 * (numbers, strings, null), so the api can serve it as it is. A ratio with
 * no denominator is `null`, never 0: a data type without traffic has no hit
 * rate, rather than a bad one.
 */

/** The sliding windows analytics keeps. */
export type AnalyticsWindow = '1m' | '5m' | '1h';
export const ANALYTICS_WINDOWS: readonly AnalyticsWindow[] = ['1m', '5m', '1h'];

/** The windows a report shows: the sliding ones and `total` (since the analytics started). */
export type ReportWindow = AnalyticsWindow | 'total';
export const REPORT_WINDOWS: readonly ReportWindow[] = ['1m', '5m', '1h', 'total'];

/** Lookups at one tier. */
export interface LevelStats {
  readonly hits: number;
  readonly misses: number;
  /** hits / (hits + misses); null without lookups. */
  readonly hitRate: number | null;
}

/** A latency distribution; the quantiles are within 1 % of the exact ones (see LogLinearHistogram). */
export interface LatencyStats {
  readonly count: number;
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
}

/** Where entries came from and what became of them in L1. */
export interface SourceStats {
  /** Entries this source wrote. */
  readonly written: number;
  /** Its entries that left L1 by capacity eviction or TTL expiry. */
  readonly departed: number;
  /** Of those, the ones never read while cached: pollution. */
  readonly unread: number;
  /** unread / departed; null when none departed. */
  readonly pollutionRate: number | null;
  /**
   * Upstream fetches spent on unread entries: one per unread entry the
   * warmer or the scheduler fetched (batched fetches share a call, so this
   * counts symbol-fetches). Zero for read-through entries, whose fetch
   * answered the read that caused it, and for manual ones, which we did not
   * fetch.
   */
  readonly wastedUpstreamFetches: number;
}

/** Pollution summed over sources or data types. */
export interface PollutionStats {
  readonly departed: number;
  readonly unread: number;
  readonly pollutionRate: number | null;
  readonly wastedUpstreamFetches: number;
}

/** Everything counted for one data type (or all of them) over one window. */
export interface WindowStats {
  /** Reads: every read looks in L1 first, so these are L1 lookups. */
  readonly reads: number;
  /** Reads answered by L1 or L2. */
  readonly hits: number;
  /** Reads neither tier answered. */
  readonly misses: number;
  /** hits / reads; null without reads. */
  readonly hitRate: number | null;
  readonly l1: LevelStats;
  readonly l2: LevelStats;
  /** Stale values served, by why. */
  readonly staleServed: {
    readonly revalidate: number;
    readonly 'fetch-error': number;
    readonly 'soft-timeout': number;
  };
  /** Read latency by where the read was answered; `miss` includes the upstream fetch. */
  readonly latency: {
    readonly l1: LatencyStats;
    readonly l2: LatencyStats;
    readonly miss: LatencyStats;
  };
  /** Entries that left L1, by cause. */
  readonly evictions: Readonly<Record<EvictionCause, number>> & { readonly total: number };
  readonly bySource: Readonly<Record<WriteSource, SourceStats>>;
  readonly pollution: PollutionStats;
  /** Upstream fetches made by the read path (one per coalesced batch). */
  readonly fetches: { readonly count: number; readonly keys: number; readonly errors: number };
}

/** What a recommendation is about. */
export type RecommendationCode = 'l1-capacity' | 'ttl-expiry' | 'source-pollution' | 'l2-latency';

/** One change the numbers call for, with the numbers. */
export interface Recommendation {
  readonly code: RecommendationCode;
  readonly dataType: DataType;
  /** For `source-pollution`: whose entries. */
  readonly source?: WriteSource;
  /** The window the evidence is from. */
  readonly window: AnalyticsWindow;
  /** One line: the evidence, then the change. */
  readonly message: string;
  /** The figures behind it (rates as fractions, latencies in ms, counts). */
  readonly evidence: Readonly<Record<string, number>>;
}

/** When the recommendations speak: below these sample sizes they stay silent. */
export interface RecommendationThresholds {
  /** Reads of a data type in the window before a hit-rate or latency rule applies. @defaultValue 1000 */
  readonly minReads: number;
  /** L1 evictions of a data type in the window before eviction shares are trusted. @defaultValue 100 */
  readonly minEvictions: number;
  /** Entries of a source that left L1 in the window before its pollution rate is trusted. @defaultValue 100 */
  readonly minDepartures: number;
  /** L1 hit rate below which the hit-rate rules look for a cause. @defaultValue 0.8 */
  readonly targetL1HitRate: number;
  /** Share of L1 evictions made for capacity that names capacity as the cause. @defaultValue 0.2 */
  readonly capacityEvictionShare: number;
  /** Share of L1 evictions by TTL expiry that names the TTL as the cause. @defaultValue 0.5 */
  readonly expiredEvictionShare: number;
  /** Share of a source's departed entries left unread that calls it pollution. @defaultValue 0.3 */
  readonly pollutionRate: number;
  /** L2 p99 read latency (ms) above which the cache Redis is worth a look. @defaultValue 20 */
  readonly l2P99Ms: number;
}

export const DEFAULT_RECOMMENDATION_THRESHOLDS: RecommendationThresholds = Object.freeze({
  minReads: 1000,
  minEvictions: 100,
  minDepartures: 100,
  targetL1HitRate: 0.8,
  capacityEvictionShare: 0.2,
  expiredEvictionShare: 0.5,
  pollutionRate: 0.3,
  l2P99Ms: 20,
});

/** The memory analytics holds, as counts of its fixed structures. */
export interface AnalyticsFootprint {
  /** Sliding counter rings (one per data type and window). */
  readonly counterRings: number;
  /** Slots across those rings. */
  readonly counterSlots: number;
  /** Latency series allocated (data type x where answered; at most 9, allocated on first use). */
  readonly latencySeries: number;
  /** Histograms across all latency series (window slots plus lifetime). */
  readonly histograms: number;
  /** Buckets across those histograms. */
  readonly histogramBuckets: number;
  /** Bytes held by the typed arrays above. */
  readonly bytes: number;
}

export interface CacheReport {
  /** When the report was made, from the analytics clock (ISO 8601, UTC). */
  readonly generatedAt: string;
  /** All data types together; latency histograms are merged across data types. */
  readonly overall: Readonly<Record<ReportWindow, WindowStats>>;
  readonly byDataType: Readonly<Record<DataType, Readonly<Record<ReportWindow, WindowStats>>>>;
  /** Entries written and then evicted or expired without a read, over the recommendation window. */
  readonly pollution: {
    readonly window: AnalyticsWindow;
    readonly bySource: Readonly<Record<WriteSource, PollutionStats>>;
    readonly byDataType: Readonly<Record<DataType, PollutionStats>>;
  };
  readonly recommendations: readonly Recommendation[];
  readonly settings: {
    readonly recommendationWindow: AnalyticsWindow;
    readonly thresholds: RecommendationThresholds;
  };
  /** Cache events dropped because they broke the event contract (an unknown data type, say). */
  readonly ignoredEvents: number;
}
