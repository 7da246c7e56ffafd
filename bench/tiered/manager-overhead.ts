/**
 * What CacheManager adds to an L1 hit: `await manager.get(key)` and
 * `await manager.getWithReadThrough(...)` on hot keys against a bare
 * `L1Cache.get(key)` on the manager's own L1, the same keys, the same process.
 *
 *   pnpm --filter @fiml/bench bench:tiered:manager
 *
 * The manager is L1-only (no Redis), with the market TTL policy on a frozen
 * ManualClock, so every read is a fresh L1 hit and nothing but the read path
 * is timed. The manager's API is async, so a row times a bare L1 get wrapped
 * in an async function and awaited: the floor any promise-returning get pays.
 * Candidates are interleaved in a rotating order in every round. Not a test:
 * nothing here passes or fails.
 */
import { ManualClock, SeededRandom } from '@fiml/market';
import { CacheManager, TtlPolicy } from '@fiml/cache';
import { T0, priceQuote } from './fixtures.js';
import {
  fixed,
  markdownTable,
  median,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';

const WARMUP_ROUNDS = 3;
const ROUNDS = Number(process.env.ROUNDS ?? 15);
const KEYS = 1_000;
/** Reads per timed batch; the batch of 100-key getMany calls reads the same number of keys. */
const OPS = 200_000;
const BATCH = 100;

const info = runInfo('bench:tiered:manager');
const clock = new ManualClock(T0);
const ttlPolicy = new TtlPolicy({ clock, jitter: 0 });
const manager = new CacheManager({ ttlPolicy, clock });
// As metrics would run: a second manager, identical but for a 'hit' listener.
const observed = new CacheManager({ ttlPolicy, clock });
let hitEvents = 0;
observed.on('hit', () => void hitEvents++);

const symbols = Array.from(
  { length: KEYS },
  (_, i) => `S${i.toString(36).toUpperCase().padStart(3, '0')}`,
);
const keys = symbols.map((symbol) => `price:equity:${symbol}`);
const assets = symbols.map((symbol) => ({ symbol, assetType: 'equity' as const }));
const random = new SeededRandom(7);
for (const m of [manager, observed]) {
  await m.setMany(
    symbols.map((symbol, i) => [
      keys[i]!,
      priceQuote(symbol, random),
      { dataType: 'price', source: 'polygon', assetType: 'equity' },
    ]),
  );
}
const l1 = manager.l1;
if (l1.size !== KEYS || observed.l1.size !== KEYS) {
  throw new Error('the managers did not keep every entry in their L1');
}

/** A seeded uniform order of key indexes, the same for every candidate. */
const ORDER_MASK = 2 ** 16 - 1;
const order = Int32Array.from({ length: ORDER_MASK + 1 }, () => Math.floor(random.next() * KEYS));
/** The same order cut into batches of 100 keys for the getMany rows. */
const batches = Array.from({ length: (ORDER_MASK + 1) / BATCH }, (_, b) =>
  Array.from(order.subarray(b * BATCH, (b + 1) * BATCH), (i) => keys[i]!),
);

let fetches = 0;
const fetchFn = () => {
  fetches++;
  return Promise.resolve({ value: priceQuote('X'), source: 'polygon' });
};
// eslint-disable-next-line @typescript-eslint/require-await -- async on purpose: it is the floor being measured
const bareAsync = async (key: string) => l1.get(key);

// Each loop counts what it found, so no read can be optimized away and a miss would show.
const candidates: readonly { name: string; run: () => number | Promise<number> }[] = [
  {
    name: 'bare L1Cache.get(key)',
    run: () => {
      let found = 0;
      for (let i = 0; i < OPS; i++)
        if (l1.get(keys[order[i & ORDER_MASK]!]!) !== undefined) found++;
      return found;
    },
  },
  {
    name: 'ref: await (async () => L1Cache.get(key))()',
    run: async () => {
      let found = 0;
      for (let i = 0; i < OPS; i++) {
        if ((await bareAsync(keys[order[i & ORDER_MASK]!]!)) !== undefined) found++;
      }
      return found;
    },
  },
  {
    name: 'await CacheManager.get(key)',
    run: async () => {
      let found = 0;
      for (let i = 0; i < OPS; i++) {
        if ((await manager.get(keys[order[i & ORDER_MASK]!]!))?.from === 'l1') found++;
      }
      return found;
    },
  },
  {
    name: 'await CacheManager.getWithReadThrough(hot key)',
    run: async () => {
      let found = 0;
      for (let i = 0; i < OPS; i++) {
        const k = order[i & ORDER_MASK]!;
        const read = await manager.getWithReadThrough(keys[k]!, 'price', fetchFn, assets[k]!);
        if (read.from === 'l1') found++;
      }
      return found;
    },
  },
  {
    name: "await CacheManager.get(key), with a 'hit' listener",
    run: async () => {
      let found = 0;
      for (let i = 0; i < OPS; i++) {
        if ((await observed.get(keys[order[i & ORDER_MASK]!]!))?.from === 'l1') found++;
      }
      return found;
    },
  },
  {
    name: 'bare L1Cache.getMany(100 keys), per key',
    run: () => {
      let found = 0;
      for (let b = 0; b < OPS / BATCH; b++) {
        for (const held of l1.getMany(batches[b % batches.length]!)) if (held) found++;
      }
      return found;
    },
  },
  {
    name: 'await CacheManager.getMany(100 keys), per key',
    run: async () => {
      let found = 0;
      for (let b = 0; b < OPS / BATCH; b++) {
        for (const read of await manager.getMany(batches[b % batches.length]!)) {
          if (read?.from === 'l1') found++;
        }
      }
      return found;
    },
  },
];

const samples = candidates.map((): number[] => []);
for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
  for (let k = 0; k < candidates.length; k++) {
    const i = (k + round) % candidates.length;
    const started = performance.now();
    const found = await candidates[i]!.run();
    const ns = ((performance.now() - started) * 1e6) / OPS;
    if (found !== OPS) throw new Error(`${candidates[i]!.name}: ${OPS - found} reads missed L1`);
    if (round >= WARMUP_ROUNDS) samples[i]!.push(ns);
  }
}
if (fetches !== 0) throw new Error(`getWithReadThrough fetched ${fetches} times on hot keys`);

const bare = median(samples[0]!);
const bareMany = median(samples[5]!);
const results = candidates.map((c, i) => ({
  candidate: c.name,
  medianNsPerOp: median(samples[i]!),
  minNsPerOp: Math.min(...samples[i]!),
  maxNsPerOp: Math.max(...samples[i]!),
  vsBareGet: median(samples[i]!) / bare,
  runsNsPerOp: samples[i]!.map((ns) => Math.round(ns * 10) / 10),
}));
const [asyncFloor, viaGet, viaReadThrough, withListener, viaGetMany] = [1, 2, 3, 4, 6].map(
  (i) => results[i]!,
) as [
  (typeof results)[0],
  (typeof results)[0],
  (typeof results)[0],
  (typeof results)[0],
  (typeof results)[0],
];

const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${fixed(Math.abs(n), 0)}`;

const markdown = [
  '## CacheManager overhead on an L1 hit',
  '',
  runInfoLine(info),
  '',
  `An L1-only CacheManager (no Redis; \`new TtlPolicy({ clock, jitter: 0 })\` on a frozen ManualClock) with its default L1 ` +
    `(${l1.policy.toUpperCase()}, maxEntries ${l1.maxEntries}), holding ${KEYS} price entries written through \`setMany\`; ` +
    `every read is a fresh L1 hit (checked). Keys in one seeded uniform order shared by all rows; ${OPS.toLocaleString('en-US')} reads per timed batch, ` +
    'each async row awaiting every call before the next, as a request handler does. ' +
    `${WARMUP_ROUNDS} warm-up rounds, then ${ROUNDS} rounds, all rows in a rotating order in every round. ` +
    'ns per key read: median over rounds (fastest–slowest round); "× bare get" = median / bare `L1Cache.get` median.',
  '',
  markdownTable(
    ['read', 'ns / key (median)', 'spread', '× bare get'],
    results.map((r) => [
      r.candidate,
      fixed(r.medianNsPerOp, 0),
      `${fixed(r.minNsPerOp, 0)}–${fixed(r.maxNsPerOp, 0)}`,
      ratio(r.vsBareGet),
    ]),
  ),
  '',
  `**Overhead ratio: an L1 hit through \`CacheManager.get\` costs ${fixed(viaGet.vsBareGet, 1)}× a bare \`L1Cache.get\`** ` +
    `(${fixed(viaGet.medianNsPerOp, 0)} vs ${fixed(bare, 0)} ns); \`getWithReadThrough\` on a hot key ${fixed(viaReadThrough.vsBareGet, 1)}×. ` +
    `Of the ${fixed(viaGet.medianNsPerOp - bare, 0)} ns added, about ${fixed(asyncFloor.medianNsPerOp - bare, 0)} ns is the price of ` +
    'being async at all (a promise per call and a microtask turn per await, the "ref" row); the rest is the manager\'s own work ' +
    '(key check, clock and `performance.now()` reads, key parsing, freshness phase, the read object). ' +
    `With a 'hit' listener (as metrics subscribe) \`get\` took ${fixed(withListener.medianNsPerOp, 0)} ns ` +
    `(${signed(withListener.medianNsPerOp - viaGet.medianNsPerOp)} ns against the row without; ` +
    'the event payload is built on every hit whether anyone listens or not, so a listener adds only the emit). ' +
    `In batches of 100, \`getMany\` spreads the promise over 100 keys: ${fixed(viaGetMany.medianNsPerOp, 0)} ns per key, ` +
    `${fixed(viaGetMany.medianNsPerOp / bareMany, 1)}× a bare \`L1Cache.getMany\`.`,
].join('\n');

saveResults('tiered-manager-overhead', markdown, {
  benchmark: 'tiered-manager-overhead',
  ...info,
  warmupRounds: WARMUP_ROUNDS,
  rounds: ROUNDS,
  keys: KEYS,
  opsPerBatch: OPS,
  l1Policy: l1.policy,
  hitEventsObserved: hitEvents,
  results,
});
