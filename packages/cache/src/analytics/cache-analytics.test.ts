import { describe, expect, it } from '@jest/globals';
import { DATA_TYPES, DataType, ManualClock, SeededRandom } from '@fiml/market';
import { CacheEventBus } from '../testing/index.js';
import { CacheAnalytics, type Recommendation } from './index.js';

const T0 = '2026-03-02T14:30:00Z';

function setup(options: ConstructorParameters<typeof CacheAnalytics>[0] = {}) {
  const clock = new ManualClock(T0);
  const analytics = new CacheAnalytics({ clock, ...options });
  const bus = new CacheEventBus();
  const detach = analytics.attach(bus);
  return { clock, analytics, bus, detach };
}

function repeat(n: number, fn: (i: number) => void): void {
  for (let i = 0; i < n; i++) fn(i);
}

/** The scripted read sequence of the accuracy test, through the cache's events. */
function scriptedTraffic(bus: CacheEventBus): void {
  const key = 'v1:price:equity:AAPL';
  repeat(60, () =>
    bus.emit('hit', {
      key,
      dataType: 'price',
      level: 'l1',
      latencyMs: 0.002,
      stale: false,
      writer: 'read-through',
      fetchedAt: 0,
    }),
  );
  repeat(30, () =>
    bus.emit('hit', {
      key,
      dataType: 'price',
      level: 'l2',
      latencyMs: 1.5,
      stale: false,
      writer: 'warmer',
      fetchedAt: 0,
    }),
  );
  repeat(9, () => bus.emit('miss', { key, dataType: 'price', latencyMs: 200 }));
  repeat(3, () =>
    bus.emit('stale-served', {
      key,
      dataType: 'price',
      level: 'l1',
      ageMs: 1_000,
      reason: 'revalidate',
    }),
  );
  // The tenth miss: a too-stale L2 entry served because the fetch failed.
  bus.emit('stale-served', {
    key,
    dataType: 'price',
    level: 'l2',
    ageMs: 9,
    reason: 'fetch-error',
  });
  bus.emit('fetch', {
    dataType: 'price',
    loader: 'equity:price',
    keys: 7,
    latencyMs: 180,
    outcome: 'ok',
  });
  bus.emit('fetch', {
    dataType: 'price',
    loader: 'equity:price',
    keys: 3,
    latencyMs: 5,
    outcome: 'error',
  });
  repeat(10, () =>
    bus.emit('set', {
      key,
      dataType: 'price',
      writer: 'read-through',
      ttlMs: 300_000,
      levels: ['l1', 'l2'],
    }),
  );
  repeat(5, () =>
    bus.emit('set', {
      key,
      dataType: 'price',
      writer: 'warmer',
      ttlMs: 300_000,
      levels: ['l1', 'l2'],
    }),
  );
  const evict = (
    cause: 'capacity' | 'expired' | 'invalidated' | 'admission-rejected',
    writer: 'read-through' | 'warmer',
    wasRead: boolean,
  ) => bus.emit('evict', { key, dataType: 'price', level: 'l1', cause, writer, wasRead });
  repeat(4, () => evict('capacity', 'warmer', false));
  evict('expired', 'warmer', true);
  repeat(2, () => evict('expired', 'read-through', false));
  evict('capacity', 'read-through', true);
  // Neither is pollution: a newer value replaced it; it never held L1 space.
  evict('invalidated', 'read-through', false);
  evict('admission-rejected', 'warmer', false);
}

describe('CacheAnalytics report', () => {
  it('counts a scripted sequence exactly, per data type, tier, source and window', () => {
    const { analytics, bus } = setup();
    scriptedTraffic(bus);
    const report = analytics.getComprehensiveReport();
    expect(report.generatedAt).toBe('2026-03-02T14:30:00.000Z');

    for (const window of ['1m', '5m', '1h', 'total'] as const) {
      const price = report.byDataType.price[window];
      expect(price).toMatchObject({
        reads: 100,
        hits: 90,
        misses: 10,
        hitRate: 0.9,
        l1: { hits: 60, misses: 40, hitRate: 0.6 },
        l2: { hits: 30, misses: 10, hitRate: 0.75 },
        staleServed: { revalidate: 3, 'fetch-error': 1, 'soft-timeout': 0 },
        evictions: { capacity: 5, expired: 3, invalidated: 1, 'admission-rejected': 1, total: 10 },
        fetches: { count: 2, keys: 10, errors: 1 },
        pollution: { departed: 8, unread: 6, pollutionRate: 0.75, wastedUpstreamFetches: 4 },
      });
      expect(price.bySource.warmer).toEqual({
        written: 5,
        departed: 5,
        unread: 4,
        pollutionRate: 0.8,
        wastedUpstreamFetches: 4,
      });
      expect(price.bySource['read-through']).toEqual({
        written: 10,
        departed: 3,
        unread: 2,
        pollutionRate: 2 / 3,
        // The fetch answered the read that caused it: not wasted.
        wastedUpstreamFetches: 0,
      });
      expect(price.bySource.scheduler.pollutionRate).toBeNull();

      expect(price.latency.l1.count).toBe(60);
      expect(price.latency.l2.count).toBe(30);
      expect(price.latency.miss.count).toBe(9);
      for (const [stats, exact] of [
        [price.latency.l1, 0.002],
        [price.latency.l2, 1.5],
        [price.latency.miss, 200],
      ] as const) {
        for (const p of [stats.p50Ms, stats.p95Ms, stats.p99Ms]) {
          expect(Math.abs(p! - exact) / exact).toBeLessThanOrEqual(0.01);
        }
        expect(stats.meanMs).toBeCloseTo(exact, 9);
      }

      // Data types without traffic have no rates at all, rather than bad ones.
      expect(report.byDataType.news[window]).toMatchObject({
        reads: 0,
        hitRate: null,
        l1: { hitRate: null },
        latency: { l1: { count: 0, p99Ms: null } },
        pollution: { pollutionRate: null },
      });
      expect(report.overall[window]).toMatchObject({ reads: 100, hits: 90, hitRate: 0.9 });
    }
    expect(report.pollution.window).toBe('1h');
    expect(report.pollution.bySource.warmer).toEqual({
      departed: 5,
      unread: 4,
      pollutionRate: 0.8,
      wastedUpstreamFetches: 4,
    });
    expect(report.pollution.byDataType.price.unread).toBe(6);
    expect(report.recommendations).toEqual([]);
    expect(report.ignoredEvents).toBe(0);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('slides each window: counts leave the 1 min window after 60 s, the 1 h window after an hour', () => {
    const { analytics, bus, clock } = setup();
    scriptedTraffic(bus);
    const reads = () => {
      const r = analytics.getComprehensiveReport().byDataType.price;
      return {
        '1m': r['1m'].reads,
        '5m': r['5m'].reads,
        '1h': r['1h'].reads,
        total: r.total.reads,
      };
    };
    clock.advance(59_999);
    expect(reads()).toEqual({ '1m': 100, '5m': 100, '1h': 100, total: 100 });
    clock.advance(1);
    expect(reads()).toEqual({ '1m': 0, '5m': 100, '1h': 100, total: 100 });
    expect(analytics.getComprehensiveReport().byDataType.price['1m'].latency.l1.count).toBe(0);
    clock.advance(240_000);
    expect(reads()).toEqual({ '1m': 0, '5m': 0, '1h': 100, total: 100 });
    clock.advance(3_300_000);
    expect(reads()).toEqual({ '1m': 0, '5m': 0, '1h': 0, total: 100 });
    expect(analytics.getComprehensiveReport().byDataType.price.total.latency.miss.count).toBe(9);
  });

  it('gives latency percentiles within 1 % of exact for 100,000 reads spread over the 5 min window', () => {
    const clock = new ManualClock(T0);
    const analytics = new CacheAnalytics({ clock });
    const random = new SeededRandom(7);
    const values = new Float64Array(100_000);
    for (let i = 0; i < values.length; i++) {
      // 0.5 ms .. 50 ms, log-uniform; 2.9 ms apart, so 290 s of reads across every slot.
      values[i] = 0.5 * 100 ** random.next();
      analytics.recordCacheAccess(DataType.PRICE, {
        isHit: true,
        latencyMs: values[i]!,
        level: 'l2',
      });
      clock.advance(2.9);
    }
    const sorted = values.sort();
    const stats = analytics.getComprehensiveReport().byDataType.price['5m'].latency.l2;
    expect(stats.count).toBe(100_000);
    const errors = (
      [
        [0.5, stats.p50Ms],
        [0.95, stats.p95Ms],
        [0.99, stats.p99Ms],
      ] as const
    ).map(([q, reported]) => {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      return Math.abs(reported! - exact) / exact;
    });
    process.stdout.write(
      `report percentile error (5m window, 100,000 reads): p50 ${(errors[0]! * 100).toFixed(3)} %, ` +
        `p95 ${(errors[1]! * 100).toFixed(3)} %, p99 ${(errors[2]! * 100).toFixed(3)} %\n`,
    );
    for (const e of errors) expect(e).toBeLessThanOrEqual(0.01);
  });

  it('mirrors the original library face: recordCacheAccess(dataType, { isHit, latencyMs, level })', () => {
    const analytics = new CacheAnalytics({ clock: new ManualClock(T0) });
    analytics.recordCacheAccess(DataType.PRICE, { isHit: true, latencyMs: 12 });
    analytics.recordCacheAccess(DataType.PRICE, { isHit: false, latencyMs: 0.01 });
    analytics.recordCacheAccess(DataType.PRICE, { isHit: true, latencyMs: 3, level: 'l2' });
    analytics.recordCacheAccess(DataType.FUNDAMENTALS, { isHit: false });
    analytics.recordCacheAccess(DataType.FUNDAMENTALS, {
      isHit: false,
      level: 'l2',
      latencyMs: 90,
    });
    const r = analytics.getComprehensiveReport().byDataType;
    expect(r.price['5m']).toMatchObject({
      reads: 2,
      hits: 2,
      l1: { hits: 1, misses: 1 },
      l2: { hits: 1, misses: 0 },
    });
    expect(r.price['5m'].latency.l1.count).toBe(1);
    expect(r.price['5m'].latency.miss.count).toBe(1);
    expect(r.fundamentals['5m']).toMatchObject({ reads: 1, hits: 0, misses: 1, hitRate: 0 });
    expect(analytics.hitRates('5m')).toEqual({ price: 1, fundamentals: 0 });

    expect(() =>
      analytics.recordCacheAccess('quotes' as DataType, { isHit: true, latencyMs: 1 }),
    ).toThrow(RangeError);
    expect(() =>
      analytics.recordCacheAccess(DataType.NEWS, { isHit: true, latencyMs: -1 }),
    ).toThrow(RangeError);
    expect(analytics.getComprehensiveReport().byDataType.news.total.reads).toBe(0);
  });

  it('stops counting when detached, and never throws into the cache on a contract break', () => {
    const { analytics, bus, detach } = setup();
    expect(bus.listeners()).toBe(6);
    bus.emit('miss', { key: 'k', dataType: 'bonds' as DataType, latencyMs: 1 });
    bus.emit('evict', {
      key: 'k',
      dataType: 'news',
      level: 'l1',
      cause: 'compacted' as 'capacity',
      writer: 'warmer',
      wasRead: false,
    });
    expect(analytics.getComprehensiveReport().ignoredEvents).toBe(2);
    detach();
    expect(bus.listeners()).toBe(0);
    bus.emit('miss', { key: 'k', dataType: 'news', latencyMs: 1 });
    expect(analytics.getComprehensiveReport().overall.total.reads).toBe(0);
  });

  it('counts stale data served at the soft timeout on its own, and as a miss', () => {
    const { analytics, bus } = setup();
    bus.emit('stale-served', {
      key: 'price:equity:AAPL',
      dataType: 'price',
      level: 'l2',
      ageMs: 400_000,
      reason: 'soft-timeout',
    });
    const price = analytics.getComprehensiveReport().byDataType.price.total;
    expect(price).toMatchObject({
      reads: 1,
      misses: 1,
      staleServed: { revalidate: 0, 'fetch-error': 0, 'soft-timeout': 1 },
    });
  });
});

/** Reads and evictions of one data type that produce the given L1 figures. */
function l1Traffic(
  analytics: CacheAnalytics,
  dataType: DataType,
  f: { reads: number; l1Hits: number; capacity: number; expired: number },
): void {
  repeat(f.l1Hits, () => analytics.recordCacheAccess(dataType, { isHit: true, latencyMs: 0.003 }));
  repeat(f.reads - f.l1Hits, () => {
    analytics.recordCacheAccess(dataType, { isHit: false });
    analytics.recordCacheAccess(dataType, { isHit: true, level: 'l2', latencyMs: 0.9 });
  });
  repeat(f.capacity, () =>
    analytics.recordEviction(dataType, {
      cause: 'capacity',
      writer: 'read-through',
      wasRead: true,
    }),
  );
  repeat(f.expired, () =>
    analytics.recordEviction(dataType, { cause: 'expired', writer: 'read-through', wasRead: true }),
  );
}

describe('CacheAnalytics recommendations', () => {
  const fresh = () => new CacheAnalytics({ clock: new ManualClock(T0) });
  const messages = (recommendations: readonly Recommendation[]) =>
    recommendations.map((r) => r.message);

  it('names the evidence: "price L1 hit rate 62 % with 31 % capacity evictions"', () => {
    const analytics = fresh();
    l1Traffic(analytics, DataType.PRICE, { reads: 1000, l1Hits: 620, capacity: 31, expired: 69 });
    const report = analytics.getComprehensiveReport();
    expect(report.recommendations).toEqual([
      {
        code: 'l1-capacity',
        dataType: 'price',
        window: '1h',
        message:
          'price L1 hit rate 62 % with 31 % capacity evictions: raise L1 maxEntries or use ADAPTIVE',
        evidence: { l1HitRate: 0.62, capacityEvictionShare: 0.31, reads: 1000, evictions: 100 },
      },
    ]);
  });

  it('says nothing about data types without traffic, or with too few samples', () => {
    const idle = fresh();
    expect(idle.getComprehensiveReport().recommendations).toEqual([]);

    const thin = fresh();
    // The same ratios as the example, one read short of the minimum.
    l1Traffic(thin, DataType.PRICE, { reads: 999, l1Hits: 619, capacity: 31, expired: 69 });
    l1Traffic(thin, DataType.NEWS, { reads: 2000, l1Hits: 1900, capacity: 80, expired: 20 });
    const report = thin.getComprehensiveReport();
    expect(report.recommendations).toEqual([]);
    // Fundamentals had no reads: no hit rate, so nothing to "fix".
    expect(report.byDataType.fundamentals['1h'].hitRate).toBeNull();
  });

  it('blames the TTL when entries expire rather than get pushed out', () => {
    const analytics = fresh();
    l1Traffic(analytics, DataType.NEWS, { reads: 1500, l1Hits: 600, capacity: 10, expired: 190 });
    expect(messages(analytics.getComprehensiveReport().recommendations)).toEqual([
      'news L1 hit rate 40 % with 95 % of evictions by TTL expiry: lengthen CACHE_TTL_NEWS if staler news is acceptable, or warm news before it expires',
    ]);
  });

  it('reports polluting sources with the upstream fetches they wasted', () => {
    const analytics = fresh();
    repeat(300, (i) =>
      analytics.recordEviction(DataType.FUNDAMENTALS, {
        cause: i % 3 === 0 ? 'expired' : 'capacity',
        writer: 'warmer',
        wasRead: i % 5 === 0,
      }),
    );
    repeat(150, (i) =>
      analytics.recordEviction(DataType.PRICE, {
        cause: 'capacity',
        writer: 'read-through',
        wasRead: i % 2 === 0,
      }),
    );
    // Below the pollution threshold: 10 % unread.
    repeat(200, (i) =>
      analytics.recordEviction(DataType.PRICE, {
        cause: 'expired',
        writer: 'scheduler',
        wasRead: i % 10 !== 0,
      }),
    );
    const report = analytics.getComprehensiveReport();
    expect(messages(report.recommendations)).toEqual([
      '50 % of 150 price entries written on read left L1 unread: use ADAPTIVE or LFU on L1 so one-time reads do not displace hot entries',
      '80 % of 300 fundamentals entries written by the warmer left L1 unread (240 wasted upstream fetches): warm fewer fundamentals keys (CACHE_WARMING_BATCH_SIZE) or only keys read recently',
    ]);
    expect(report.recommendations[1]).toMatchObject({
      code: 'source-pollution',
      source: 'warmer',
      evidence: { pollutionRate: 0.8, departed: 300, unread: 240, wastedUpstreamFetches: 240 },
    });
    expect(report.pollution.bySource.scheduler).toEqual({
      departed: 200,
      unread: 20,
      pollutionRate: 0.1,
      wastedUpstreamFetches: 20,
    });
  });

  it('points at the cache Redis when L2 reads are slow', () => {
    const analytics = fresh();
    repeat(1200, (i) => {
      analytics.recordCacheAccess(DataType.PRICE, { isHit: true, latencyMs: 0.002 });
      analytics.recordCacheAccess(DataType.PRICE, { isHit: false });
      analytics.recordCacheAccess(DataType.PRICE, {
        isHit: true,
        level: 'l2',
        latencyMs: i < 1180 ? 2 : 45,
      });
    });
    const [rec, ...rest] = analytics.getComprehensiveReport().recommendations;
    expect(rest).toEqual([]);
    expect(rec?.code).toBe('l2-latency');
    expect(rec?.message).toMatch(
      /^price L2 p99 read latency 4[45]\.\d ms over 1200 reads: check the cache Redis/,
    );
  });

  it('uses the configured window and thresholds', () => {
    const clock = new ManualClock(T0);
    const analytics = new CacheAnalytics({
      clock,
      recommendationWindow: '5m',
      thresholds: { minReads: 10, minEvictions: 10 },
    });
    l1Traffic(analytics, DataType.PRICE, { reads: 20, l1Hits: 10, capacity: 10, expired: 0 });
    expect(analytics.getComprehensiveReport().recommendations).toHaveLength(1);
    clock.advance(300_000);
    const report = analytics.getComprehensiveReport();
    expect(report.recommendations).toEqual([]);
    expect(report.settings.thresholds.minReads).toBe(10);
    expect(report.settings.recommendationWindow).toBe('5m');
  });
});

describe('CacheAnalytics memory', () => {
  it('stays flat over 1,000,000 records', () => {
    const clock = new ManualClock(T0);
    const analytics = new CacheAnalytics({ clock });
    const random = new SeededRandom(99);
    const record = (i: number): void => {
      const dataType = DATA_TYPES[i % 3]!;
      const u = random.next();
      if (u < 0.6) {
        analytics.recordCacheAccess(dataType, { isHit: true, latencyMs: 0.001 + u / 100 });
      } else {
        analytics.recordCacheAccess(dataType, { isHit: false });
        analytics.recordCacheAccess(dataType, {
          isHit: u < 0.9,
          level: 'l2',
          latencyMs: u < 0.9 ? u : 100 * u,
        });
      }
      if (i % 4 === 0) analytics.recordWrite(dataType, 'read-through');
      if (i % 4 === 1) {
        analytics.recordEviction(dataType, {
          cause: 'capacity',
          writer: 'warmer',
          wasRead: u < 0.5,
        });
      }
      // 5 ms apart: 1,000,000 records span 83 minutes, so every ring wraps.
      clock.advance(5);
    };

    for (let i = 0; i < 10_000; i++) record(i);
    const early = analytics.footprint();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 10_000; i < 1_000_000; i++) record(i);
    const late = analytics.footprint();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    analytics.getComprehensiveReport();

    process.stdout.write(
      `footprint after 10,000 and 1,000,000 records: ${JSON.stringify(early)} / ${JSON.stringify(late)}; ` +
        `heap growth ${(heapGrowth / 1e6).toFixed(1)} MB\n`,
    );
    expect(late).toEqual(early);
    expect(late.latencySeries).toBe(9);
    expect(late.counterRings).toBe(9);
    // Heap figures are noisy (no forced GC); this only catches per-record growth
    // (1,000,000 records retained would be far more than this).
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    const total = analytics.getComprehensiveReport().overall.total;
    expect(total.reads).toBe(1_000_000);
  });
});
