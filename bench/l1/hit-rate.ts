/**
 * Hit rate of every L1 eviction policy beside lru-cache and the optimum, on
 * the shared cache2k traces, on a trading day of the market-week request
 * stream and on a seeded Zipf workload.
 *
 *   pnpm --filter @fiml/bench bench:l1:hit-rate
 *
 * Each access is a read; a miss is followed by a write of the key (a
 * read-through cache). Belady's OPT is computed here on the same accesses;
 * for Zipf the analytic optimum (the C most probable keys) is shown as well,
 * and hit rates are counted after a warm-up.
 */
import { EvictionPolicy, L1Cache } from '@fiml/cache';
import { LRUCache } from 'lru-cache';
import { beladyHitRate } from './belady.js';
import { machineLine, markdownTable, pct, saveResults } from '../lib/report.js';
import { loadTrace, sharedDir, zipfOptimum, zipfWorkload, type Workload } from './workloads.js';
import { MarketWeek } from '../workload/market-week.js';

interface Cache {
  get(key: string): unknown;
  set(key: string, value: number): unknown;
}

const POLICIES = [
  EvictionPolicy.LRU,
  EvictionPolicy.LFU,
  EvictionPolicy.HYBRID,
  EvictionPolicy.ADAPTIVE,
] as const;

const ZIPF = { items: 100_000, alpha: 0.9, warmup: 1_000_000, measured: 4_000_000, seed: 20260 };

const traceRows: readonly { trace: string; capacities: readonly number[] }[] = [
  { trace: 'web07', capacities: [500, 1000, 2000, 4000] },
  { trace: 'orm-busy', capacities: [1000, 5000, 10000, 20000] },
];
const zipfCapacities = [500, 1000, 5000, 10000];

/**
 * The market-week request stream's keys (bench/workload/market-week.ts): one trading day, every
 * key of every request in order (a batch read is its keys in turn). 9,300 distinct keys exist, so
 * the sizes stay below that. Eviction only, as for the traces: TTLs are the simulator's business.
 */
const MARKET_WEEK = {
  seed: 1,
  from: '2026-11-23T00:00:00-05:00',
  to: '2026-11-24T00:00:00-05:00',
  capacities: [250, 500, 1000, 2000],
};

function marketWeekWorkload(): Workload {
  const week = new MarketWeek({
    seed: MARKET_WEEK.seed,
    window: { from: MARKET_WEEK.from, to: MARKET_WEEK.to },
  });
  const n = week.assets.length;
  const dataTypeIndex = { price: 0, fundamentals: 1, news: 2 } as const;
  let ids = new Int32Array(1 << 22);
  let length = 0;
  const dense = new Map<number, number>();
  for (const request of week) {
    for (const asset of request.assets) {
      const raw = dataTypeIndex[request.dataType] * n + asset.id;
      let id = dense.get(raw);
      if (id === undefined) {
        id = dense.size;
        dense.set(raw, id);
      }
      if (length === ids.length) {
        const grown = new Int32Array(ids.length * 2);
        grown.set(ids);
        ids = grown;
      }
      ids[length++] = id;
    }
  }
  return {
    name: `market-week Monday (seed ${MARKET_WEEK.seed})`,
    ids: ids.subarray(0, length),
    distinct: dense.size,
    measureFrom: 0,
  };
}

interface Row {
  workload: string;
  capacity: number;
  hitRate: Record<string, number>;
  /** The optimum the gap is measured against. */
  optimum: number;
  optimumKind: 'belady' | 'analytic';
  belady: number;
  /** The admission window ADAPTIVE ended with, in entries. */
  adaptiveWindow: number;
}

function simulate(workload: Workload, keys: readonly string[], cache: Cache): number {
  const { ids, measureFrom } = workload;
  let hits = 0;
  for (let i = 0; i < ids.length; i++) {
    const key = keys[ids[i]!]!;
    if (cache.get(key) !== undefined) {
      if (i >= measureFrom) hits++;
    } else {
      cache.set(key, 1);
    }
  }
  return hits / (ids.length - measureFrom);
}

function runRow(workload: Workload, capacity: number): Omit<Row, 'optimum' | 'optimumKind'> {
  const keys = Array.from({ length: workload.distinct }, (_, id) => `key:${id}`);
  const hitRate: Record<string, number> = {};
  let adaptiveWindow = 0;
  for (const policy of POLICIES) {
    const started = performance.now();
    const cache = new L1Cache<number>({ maxEntries: capacity, evictionPolicy: policy });
    hitRate[policy] = simulate(workload, keys, cache);
    if (policy === EvictionPolicy.ADAPTIVE) adaptiveWindow = cache.stats().adaptiveWindow ?? 0;
    process.stderr.write(
      `  ${workload.name} ${capacity} ${policy}: ${pct(hitRate[policy])} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  hitRate['lru-cache'] = simulate(workload, keys, new LRUCache<string, number>({ max: capacity }));
  const belady = beladyHitRate(workload, capacity);
  return { workload: workload.name, capacity, hitRate, belady, adaptiveWindow };
}

const rows: Row[] = [];
const skipped: string[] = [];
for (const { trace, capacities } of traceRows) {
  const workload = loadTrace(trace);
  if (workload === undefined) {
    const message = `trace ${trace} not found under ${sharedDir()}/traces (set FIML_SHARED_DIR); skipping its rows`;
    console.log(message);
    skipped.push(message);
    continue;
  }
  for (const capacity of capacities) {
    const row = runRow(workload, capacity);
    rows.push({ ...row, optimum: row.belady, optimumKind: 'belady' });
  }
}
{
  const workload = marketWeekWorkload();
  for (const capacity of MARKET_WEEK.capacities) {
    const row = runRow(workload, capacity);
    rows.push({ ...row, optimum: row.belady, optimumKind: 'belady' });
  }
}
const zipf = zipfWorkload(ZIPF);
for (const capacity of zipfCapacities) {
  const row = runRow(zipf, capacity);
  rows.push({
    ...row,
    optimum: zipfOptimum(zipf.probabilities, capacity),
    optimumKind: 'analytic',
  });
}

const header = [
  'workload',
  'size',
  'LRU',
  'LFU',
  'HYBRID',
  'ADAPTIVE',
  'lru-cache',
  'optimum',
  'ADAPTIVE − best(LRU, LFU)',
  'optimum − ADAPTIVE',
  'ADAPTIVE window at the end',
];
const table = rows.map((row) => {
  const r = row.hitRate;
  const best = Math.max(r.lru!, r.lfu!);
  const optimum =
    row.optimumKind === 'belady'
      ? `${pct(row.optimum)} (OPT)`
      : `${pct(row.optimum)} (analytic; OPT ${pct(row.belady)})`;
  return [
    row.workload,
    String(row.capacity),
    pct(r.lru!),
    pct(r.lfu!),
    pct(r.hybrid!),
    pct(r.adaptive!),
    pct(r['lru-cache']!),
    optimum,
    (100 * (r.adaptive! - best)).toFixed(2),
    (100 * (row.optimum - r.adaptive!)).toFixed(2),
    `${((100 * row.adaptiveWindow) / row.capacity).toFixed(1)} %`,
  ];
});

const gaps = rows.map((row) => row.optimum - row.hitRate.adaptive!);
const traceGaps = rows
  .filter((row) => traceRows.some((t) => t.trace === row.workload))
  .map((row) => row.optimum - row.hitRate.adaptive!);
const marketWeekGaps = rows
  .filter((row) => row.workload.startsWith('market-week'))
  .map((row) => row.optimum - row.hitRate.adaptive!);
const worst = Math.min(
  ...rows.map((row) => row.hitRate.adaptive! - Math.max(row.hitRate.lru!, row.hitRate.lfu!)),
);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const markdown = [
  '## L1 hit rate (%)',
  '',
  `Command: \`pnpm --filter @fiml/bench bench:l1:hit-rate\`. ${machineLine()}`,
  '',
  'Read-through simulation: every access is a get, every miss a set. Traces are counted from the first access;',
  `market-week is every key read of one trading day of the market-week stream (${MARKET_WEEK.from} to ${MARKET_WEEK.to}, seed ${MARKET_WEEK.seed}, bench/workload/market-week.ts), also from the first access, OPT by Belady;`,
  `Zipf(α = ${ZIPF.alpha}) over ${ZIPF.items} keys is ${ZIPF.warmup} warm-up draws then ${ZIPF.measured} counted draws (seed ${ZIPF.seed}).`,
  'OPT is Belady (evict the key used farthest in the future; a newcomer may be declined), computed on the same accesses.',
  'The Zipf optimum is the sum of the top-C probabilities: the best hit rate without knowledge of the future.',
  '',
  markdownTable(header, table),
  '',
  `ADAPTIVE vs best of LRU and LFU, worst row: ${(100 * worst).toFixed(2)} points (target: no worse than −1.00).`,
  `Mean gap of ADAPTIVE to the optimum: ${(100 * mean(gaps)).toFixed(2)} points over all ${gaps.length} rows; ` +
    (traceGaps.length === 0
      ? 'no trace rows (target: at most 8).'
      : `${(100 * mean(traceGaps)).toFixed(2)} points over the ${traceGaps.length} trace rows (target: at most 8).`) +
    ` On the market-week rows: ${(100 * mean(marketWeekGaps)).toFixed(2)} points.`,
  ...skipped.map((s) => `\nSkipped: ${s}`),
].join('\n');

saveResults('l1-hit-rate', markdown, { zipf: ZIPF, marketWeek: MARKET_WEEK, rows, skipped });
