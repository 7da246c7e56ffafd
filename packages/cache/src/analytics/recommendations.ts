import { DATA_TYPES, type DataType } from '@fiml/market';
import { WRITE_SOURCES, type WriteSource } from '../cache-events.js';
import type {
  AnalyticsWindow,
  Recommendation,
  RecommendationThresholds,
  WindowStats,
} from './analytics-report.js';

/**
 * Recommendations from one window's numbers: a pure function, so each rule is
 * tested on made-up figures. Every rule first checks that it has enough
 * samples and says nothing otherwise; a data type without traffic gets no
 * advice (the original recommended "fixing" exactly those). Each message
 * starts with its evidence.
 */

/** "62 %": whole percent, with the space the reports have always used. */
function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}

function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${Number(value.toPrecision(3))} ms`;
}

const TTL_VARIABLE: Readonly<Record<DataType, string>> = {
  price: 'CACHE_TTL_PRICE',
  fundamentals: 'CACHE_TTL_FUNDAMENTALS',
  news: 'CACHE_TTL_NEWS',
};

/** What to change when a source's entries leave L1 unread. */
function pollutionAdvice(source: WriteSource, dataType: DataType): string {
  switch (source) {
    case 'warmer':
      return `warm fewer ${dataType} keys (CACHE_WARMING_BATCH_SIZE) or only keys read recently`;
    case 'scheduler':
      return `refresh fewer ${dataType} symbols ahead of reads, or refresh them on read instead`;
    case 'read-through':
      return 'use ADAPTIVE or LFU on L1 so one-time reads do not displace hot entries';
    case 'manual':
      return `review what sets ${dataType} entries directly`;
  }
}

const SOURCE_LABEL: Readonly<Record<WriteSource, string>> = {
  'read-through': 'written on read',
  warmer: 'written by the warmer',
  scheduler: 'written by the scheduler',
  manual: 'set directly',
};

function forDataType(
  dataType: DataType,
  stats: WindowStats,
  window: AnalyticsWindow,
  t: RecommendationThresholds,
): Recommendation[] {
  const out: Recommendation[] = [];
  const l1HitRate = stats.l1.hitRate;
  const evictions = stats.evictions.total;

  if (stats.reads >= t.minReads && l1HitRate !== null && l1HitRate < t.targetL1HitRate) {
    if (evictions >= t.minEvictions) {
      // Entries pushed out for room (or refused room) point at size; entries
      // that simply expired point at the TTL. Capacity is checked first: it
      // is the cheaper fix and the more common cause.
      const capacityShare =
        (stats.evictions.capacity + stats.evictions['admission-rejected']) / evictions;
      const expiredShare = stats.evictions.expired / evictions;
      if (capacityShare >= t.capacityEvictionShare) {
        out.push({
          code: 'l1-capacity',
          dataType,
          window,
          message:
            `${dataType} L1 hit rate ${percent(l1HitRate)} with ${percent(capacityShare)} capacity evictions: ` +
            'raise L1 maxEntries or use ADAPTIVE',
          evidence: {
            l1HitRate,
            capacityEvictionShare: capacityShare,
            reads: stats.reads,
            evictions,
          },
        });
      } else if (expiredShare >= t.expiredEvictionShare) {
        out.push({
          code: 'ttl-expiry',
          dataType,
          window,
          message:
            `${dataType} L1 hit rate ${percent(l1HitRate)} with ${percent(expiredShare)} of evictions by TTL expiry: ` +
            `lengthen ${TTL_VARIABLE[dataType]} if staler ${dataType} is acceptable, or warm ${dataType} before it expires`,
          evidence: {
            l1HitRate,
            expiredEvictionShare: expiredShare,
            reads: stats.reads,
            evictions,
          },
        });
      }
    }
  }

  for (const source of WRITE_SOURCES) {
    const s = stats.bySource[source];
    if (s.departed < t.minDepartures || s.pollutionRate === null) continue;
    if (s.pollutionRate < t.pollutionRate) continue;
    const wasted =
      s.wastedUpstreamFetches > 0 ? ` (${s.wastedUpstreamFetches} wasted upstream fetches)` : '';
    out.push({
      code: 'source-pollution',
      dataType,
      source,
      window,
      message:
        `${percent(s.pollutionRate)} of ${s.departed} ${dataType} entries ${SOURCE_LABEL[source]} left L1 unread${wasted}: ` +
        pollutionAdvice(source, dataType),
      evidence: {
        pollutionRate: s.pollutionRate,
        departed: s.departed,
        unread: s.unread,
        wastedUpstreamFetches: s.wastedUpstreamFetches,
      },
    });
  }

  const l2 = stats.latency.l2;
  if (l2.count >= t.minReads && l2.p99Ms !== null && l2.p99Ms > t.l2P99Ms) {
    out.push({
      code: 'l2-latency',
      dataType,
      window,
      message:
        `${dataType} L2 p99 read latency ${ms(l2.p99Ms)} over ${l2.count} reads: ` +
        'check the cache Redis (load, network round trips, slow commands)',
      evidence: { l2P99Ms: l2.p99Ms, l2Reads: l2.count },
    });
  }
  return out;
}

/** Recommendations for every data type from one window's statistics, in data-type order. */
export function recommend(
  byDataType: Readonly<Record<DataType, WindowStats>>,
  window: AnalyticsWindow,
  thresholds: RecommendationThresholds,
): Recommendation[] {
  return DATA_TYPES.flatMap((dataType) =>
    forDataType(dataType, byDataType[dataType], window, thresholds),
  );
}
