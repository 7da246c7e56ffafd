import type {
  CacheErrorComponent,
  CacheErrorEvent,
  CacheErrorOperation,
  CacheEventSource,
  CacheStaleServedEvent,
  CacheEvents,
  CacheLevel,
  EvictionCause,
} from '@fiml/cache';
import { DATA_TYPES, type DataType } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  cellCounter,
  cellHistogram,
  type CounterCell,
  type HistogramCell,
} from './cell-metrics.js';
import { listenerGuard, seconds, type MetricsBridge } from './metrics-bridge.js';

/**
 * Read latency buckets (seconds): L1 hits take microseconds, L2 hits about a
 * millisecond, misses the upstream's 50-500 ms and more.
 */
export const CACHE_LATENCY_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5,
];

/**
 * Keys per upstream fetch: 1 up to a large provider batch. One list for both
 * exporters of fiml_batch_size (the api's read-through fetches, the
 * batch-scheduler's flushes), so a query across services aggregates.
 */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

const EVICTION_CAUSES: readonly EvictionCause[] = [
  'capacity',
  'admission-rejected',
  'expired',
  'invalidated',
];

/**
 * Where a cache error happened: the bounded `component` label of
 * fiml_cache_errors_total (the cache's CacheErrorEvent contract). A value
 * outside it is counted as `other`, so the label stays bounded whatever a
 * source emits.
 */
export const CACHE_ERROR_COMPONENTS = [
  'l2',
  'lock',
  'invalidation',
  'fetch',
  'revalidate',
  'writer',
  'listener',
] as const satisfies readonly CacheErrorComponent[];

/** What was being done: the bounded `operation` label (values outside it count as `other`). */
export const CACHE_ERROR_OPERATIONS = [
  'get',
  'set',
  'delete',
  'publish',
  'subscribe',
  'parse',
  'acquire',
  'release',
  'renew',
  'decode',
  'l1-set',
  'enqueue',
  'load',
  'timeout',
  'emit',
] as const satisfies readonly CacheErrorOperation[];

/** Why a stale value was served: the `reason` label of fiml_cache_stale_served_total. */
const STALE_REASONS = [
  'revalidate',
  'fetch-error',
  'soft-timeout',
] as const satisfies readonly CacheStaleServedEvent['reason'][];

// Compile-time: the label sets above name every value the cache's contract has.
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : Exclude<All, Listed>;
const complete: [
  Missing<CacheErrorComponent, (typeof CACHE_ERROR_COMPONENTS)[number]>,
  Missing<CacheErrorOperation, (typeof CACHE_ERROR_OPERATIONS)[number]>,
  Missing<CacheStaleServedEvent['reason'], (typeof STALE_REASONS)[number]>,
] = [true, true, true];
void complete;

/**
 * The (component, operation) pairs a CacheManager or CacheWriter can fail
 * in. Their series start at 0, so `increase()` sees the first error; a pair
 * not listed still counts, from its first error on.
 */
export const CACHE_ERROR_SERIES: Readonly<
  Record<
    (typeof CACHE_ERROR_COMPONENTS)[number],
    readonly (typeof CACHE_ERROR_OPERATIONS)[number][]
  >
> = {
  l2: ['get', 'set', 'delete', 'decode', 'l1-set'],
  lock: ['acquire', 'release', 'renew'],
  invalidation: ['publish', 'subscribe', 'parse'],
  fetch: ['load', 'timeout'],
  revalidate: ['enqueue', 'load'],
  writer: ['set'],
  listener: ['emit'],
};

/** States of the cache's L2 circuit breaker: the `state` label of fiml_cache_circuit_state. */
export const CIRCUIT_STATES = ['closed', 'half-open', 'open'] as const;

/** Entries and bytes per tier, as the process sees them at a scrape; absent fields are not exported. */
export interface CacheSizes {
  /** Entries in this process's L1. */
  readonly l1Entries?: number;
  /** Bytes in this process's L1 (only meaningful when the L1 has a sizeOf). */
  readonly l1Bytes?: number;
  /** Entries in the shared L2 (a Redis DBSIZE or key count). */
  readonly l2Entries?: number;
  /** Bytes of the shared L2 (Redis used_memory). */
  readonly l2Bytes?: number;
}

export interface CacheMetricsOptions {
  /**
   * Read at every scrape for fiml_cache_entries and fiml_cache_size_bytes.
   * Without it those gauges are not registered. When it throws or rejects,
   * the last values are exported and the failure is logged.
   * @defaultValue undefined
   */
  readonly sizes?: () => CacheSizes | Promise<CacheSizes>;
  /**
   * Read at every scrape for fiml_cache_hit_rate: the hit rate (0..1) per data
   * type over a recent window, typically `() => analytics.hitRates('5m')`.
   * Data types it leaves out (no reads) are not exported. Without it the
   * gauge is not registered.
   * @defaultValue undefined
   */
  readonly hitRates?: () => Partial<Record<DataType, number>>;
  /** Buckets of fiml_cache_latency_seconds. @defaultValue CACHE_LATENCY_BUCKETS */
  readonly latencyBuckets?: readonly number[];
  /** Buckets of fiml_batch_size. @defaultValue BATCH_SIZE_BUCKETS */
  readonly batchSizeBuckets?: readonly number[];
  /** Where snapshot failures are logged. @defaultValue no logging */
  readonly logger?: Logger;
}

/**
 * Registers the cache metric families in a registry and feeds them from a
 * cache's events (a CacheManager). The cache never imports prom-client; this
 * bridge is the only place its events become series. Labels come from the
 * event contract's bounded sets; keys never become labels.
 *
 * Counting rules, per read: every read looks in L1 first, so an L1 hit counts
 * `hits{cache_level="l1"}`; an L2 hit counts an L1 miss and an L2 hit; a miss
 * counts a miss at both tiers; a stale value served because the fetch failed
 * or outlived the soft timeout counts a miss at the tiers it was looked up in
 * (the cache did not save the upstream call). So `hits / (hits + misses)` per `cache_level` is that tier's
 * hit ratio, and L1 lookups are the reads.
 */
export function registerCacheMetrics(
  registry: Registry,
  source: CacheEventSource,
  options: CacheMetricsOptions = {},
): MetricsBridge {
  const registers = [registry];
  const log = options.logger?.child({ component: 'cache-metrics' });

  // Hits and latencies are the hot path (every L1 read): cells, read at scrape time.
  const hits = cellCounter(registry, {
    name: 'fiml_cache_hits_total',
    help: 'Cache lookups answered, by data type and tier. L1 lookups are all reads.',
    labelNames: ['data_type', 'cache_level'],
  });
  const misses = new Counter({
    name: 'fiml_cache_misses_total',
    help: 'Cache lookups not answered, by data type and tier (an L2 hit is an L1 miss).',
    labelNames: ['data_type', 'cache_level'],
    registers,
  });
  const latency = cellHistogram(registry, {
    name: 'fiml_cache_latency_seconds',
    help: 'Read latency by data type and the tier that answered; cache_level="miss" includes the upstream fetch.',
    labelNames: ['data_type', 'cache_level'],
    buckets: options.latencyBuckets ?? CACHE_LATENCY_BUCKETS,
  });
  const evictions = new Counter({
    name: 'fiml_cache_evictions_total',
    help: 'Entries that left the tier, by reason (capacity, admission-rejected, expired, invalidated).',
    labelNames: ['cache_level', 'reason'],
    registers,
  });
  const staleServed = new Counter({
    name: 'fiml_cache_stale_served_total',
    help: 'Reads answered with a stale value, by data type and reason (revalidate, fetch-error or soft-timeout).',
    labelNames: ['data_type', 'reason'],
    registers,
  });
  const batchSize = new Histogram({
    name: 'fiml_batch_size',
    help: 'Keys per upstream fetch of the read path (coalesced read-through batches), by loader.',
    labelNames: ['provider'],
    buckets: [...(options.batchSizeBuckets ?? BATCH_SIZE_BUCKETS)],
    registers,
  });

  const errors = cacheErrorCounter(registry);
  // An enum gauge: one series per state, 1 for the current one. The breaker starts closed.
  const circuit = new Gauge({
    name: 'fiml_cache_circuit_state',
    help: 'State of the L2 circuit breaker: 1 on the current state (closed, half-open, open), 0 on the others.',
    labelNames: ['state'],
    registers,
  });
  const setCircuit = (current: string) => {
    for (const state of CIRCUIT_STATES) circuit.set({ state }, state === current ? 1 : 0);
  };
  setCircuit('closed');

  // Every series exists from the start at 0, so rate() and absent() behave
  // before the first event of a kind.
  const levels: readonly CacheLevel[] = ['l1', 'l2'];
  for (const data_type of DATA_TYPES) {
    for (const cache_level of levels) {
      hits({ data_type, cache_level });
      misses.inc({ data_type, cache_level }, 0);
    }
    for (const cache_level of [...levels, 'miss']) latency({ data_type, cache_level });
    for (const reason of STALE_REASONS) staleServed.inc({ data_type, reason }, 0);
  }
  for (const reason of EVICTION_CAUSES) evictions.inc({ cache_level: 'l1', reason }, 0);

  if (options.sizes) registerSizeGauges(registry, options.sizes, log);
  if (options.hitRates) {
    const hitRates = options.hitRates;
    new Gauge({
      name: 'fiml_cache_hit_rate',
      help: 'Share of reads answered by L1 or L2 over the last minutes (0..1), by data type.',
      labelNames: ['data_type'],
      registers,
      collect() {
        this.reset();
        try {
          for (const [data_type, rate] of Object.entries(hitRates())) {
            if (Number.isFinite(rate)) this.set({ data_type }, rate);
          }
        } catch (error) {
          log?.warn({ err: error }, 'hit-rate snapshot failed; fiml_cache_hit_rate left empty');
        }
      },
    });
  }

  // The cells of each (data type, tier), found without building a label object or key per read.
  type HitSeries = { hits: CounterCell; latency: HistogramCell };
  const hitSeries = new Map<string, Map<string, HitSeries>>();
  const seriesFor = (data_type: string, cache_level: string) => {
    let byLevel = hitSeries.get(data_type);
    if (!byLevel) hitSeries.set(data_type, (byLevel = new Map<string, HitSeries>()));
    let series = byLevel.get(cache_level);
    if (!series) {
      series = {
        hits: hits({ data_type, cache_level }),
        latency: latency({ data_type, cache_level }),
      };
      byLevel.set(cache_level, series);
    }
    return series;
  };
  const listeners: { [E in keyof CacheEvents]?: CacheEvents[E] } = {
    hit: (e) => {
      if (e.level === 'l2') misses.inc({ data_type: e.dataType, cache_level: 'l1' });
      const series = seriesFor(e.dataType, e.level);
      series.hits.inc();
      series.latency.observe(seconds(e.latencyMs));
    },
    miss: (e) => {
      misses.inc({ data_type: e.dataType, cache_level: 'l1' });
      misses.inc({ data_type: e.dataType, cache_level: 'l2' });
      latency({ data_type: e.dataType, cache_level: 'miss' }).observe(seconds(e.latencyMs));
    },
    'stale-served': (e) => {
      staleServed.inc({ data_type: e.dataType, reason: e.reason });
      if (e.reason !== 'revalidate') {
        // A fallback after a failed or slow fetch comes with no hit or miss event: count the read here.
        misses.inc({ data_type: e.dataType, cache_level: 'l1' });
        if (e.level === 'l2') misses.inc({ data_type: e.dataType, cache_level: 'l2' });
      }
    },
    evict: (e) => evictions.inc({ cache_level: e.level, reason: e.cause }),
    fetch: (e) => batchSize.observe({ provider: e.loader }, e.keys),
    error: (e) => errors.count(e),
    circuit: (e) => {
      if ((CIRCUIT_STATES as readonly string[]).includes(e.state)) setCircuit(e.state);
    },
  };
  return attach(source, listeners, log);
}

/**
 * Registers fiml_cache_errors_total alone and feeds it from a source's
 * `error` events: for processes that write the cache without reading it (a
 * CacheWriter in the batch-scheduler). registerCacheMetrics includes it.
 */
export function registerCacheErrorMetrics(
  registry: Registry,
  source: CacheEventSource,
  options: { readonly logger?: Logger } = {},
): MetricsBridge {
  const errors = cacheErrorCounter(registry);
  const log = options.logger?.child({ component: 'cache-metrics' });
  return attach(source, { error: (e) => errors.count(e) }, log);
}

/** Subscribes guarded listeners (a failing one never throws into the cache) and returns their detach. */
function attach(
  source: CacheEventSource,
  listeners: { [E in keyof CacheEvents]?: CacheEvents[E] },
  log: Logger | undefined,
): MetricsBridge {
  const guard = listenerGuard(log);
  const names = Object.keys(listeners) as (keyof CacheEvents)[];
  const attached = names.map((name) => {
    const listener = guard(name, listeners[name]! as (...args: unknown[]) => void);
    source.on(name, listener);
    return () => source.off(name, listener);
  });
  return {
    detach() {
      for (const off of attached) off();
    },
  };
}

const inSet = <T extends string>(set: readonly T[], value: string): T | 'other' =>
  (set as readonly string[]).includes(value) ? (value as T) : 'other';

/**
 * fiml_cache_errors_total, shared by every cache bridge of a registry (the
 * api's manager and a writer may both feed it), with its known series at 0.
 */
function cacheErrorCounter(registry: Registry): { count(e: CacheErrorEvent): void } {
  const name = 'fiml_cache_errors_total';
  let counter = registry.getSingleMetric(name) as Counter<'component' | 'operation'> | undefined;
  if (!counter) {
    counter = new Counter({
      name,
      help: 'Cache operations that failed, by component (l2, lock, invalidation, fetch, revalidate, writer, listener) and operation.',
      labelNames: ['component', 'operation'],
      registers: [registry],
    });
    for (const [component, operations] of Object.entries(CACHE_ERROR_SERIES)) {
      for (const operation of operations) counter.inc({ component, operation }, 0);
    }
  }
  const errors = counter;
  return {
    count(e) {
      errors.inc({
        component: inSet(CACHE_ERROR_COMPONENTS, e.component),
        operation: inSet(CACHE_ERROR_OPERATIONS, e.operation),
      });
    },
  };
}

function registerSizeGauges(
  registry: Registry,
  sizes: () => CacheSizes | Promise<CacheSizes>,
  log: Logger | undefined,
): void {
  // One snapshot per scrape feeds both gauges; the second collect reuses it.
  let last: CacheSizes = {};
  let pending: Promise<CacheSizes> | undefined;
  let failing = false;
  const snapshot = (): Promise<CacheSizes> =>
    (pending ??= (async () => {
      try {
        last = await sizes();
        if (failing) log?.info('cache size snapshot works again');
        failing = false;
      } catch (error) {
        if (!failing)
          log?.warn({ err: error }, 'cache size snapshot failed; exporting the last values');
        failing = true;
      }
      return last;
    })().finally(() => {
      queueMicrotask(() => (pending = undefined));
    }));

  new Gauge({
    name: 'fiml_cache_entries',
    help: 'Entries held, by tier (l1: this process; l2: the shared Redis).',
    labelNames: ['cache_level'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s.l1Entries !== undefined) this.set({ cache_level: 'l1' }, s.l1Entries);
      if (s.l2Entries !== undefined) this.set({ cache_level: 'l2' }, s.l2Entries);
    },
  });
  new Gauge({
    name: 'fiml_cache_size_bytes',
    help: 'Bytes held, by tier (l1: this process; l2: the shared Redis).',
    labelNames: ['cache_level'],
    registers: [registry],
    async collect() {
      const s = await snapshot();
      if (s.l1Bytes !== undefined) this.set({ cache_level: 'l1' }, s.l1Bytes);
      if (s.l2Bytes !== undefined) this.set({ cache_level: 'l2' }, s.l2Bytes);
    },
  });
}
