/**
 * Throughput of L1Cache under each policy beside lru-cache: get-hit, get-miss
 * and set-with-eviction, in one process, on the same keys, candidates
 * interleaved round by round so that machine noise hits all of them alike.
 *
 *   pnpm --filter @fiml/bench bench:l1:throughput
 *
 * Reports the median ops/s over the measured rounds, the spread (min-max) and
 * the ratio of medians to lru-cache. Not a test: nothing here passes or fails.
 * ROUNDS=n and RESULT_NAME=name (default l1-throughput) in the environment
 * change the number of measured rounds and the results file.
 */
import { L1Cache, type EvictionPolicy } from '@fiml/cache';
import { LRUCache } from 'lru-cache';
import { Prng } from '../lib/prng.js';
import { machineLine, markdownTable, saveResults } from '../lib/report.js';

const CAPACITY = 10_000;
const WARMUP_ROUNDS = 3;
const ROUNDS = Number(process.env.ROUNDS ?? 11);
const GET_OPS = 2_000_000;
const SET_OPS = 500_000;
/** Keys written by the set case; far more than any cache keeps, so every set inserts. */
const SET_POOL = 2 ** 21;

type Value = { readonly price: number };
const VALUE: Value = { price: 1 };
type CaseName = 'get-hit' | 'get-miss' | 'set-with-eviction';

interface Candidate {
  readonly label: string;
  /** An L1Cache policy, or lru-cache. */
  readonly kind: EvictionPolicy | 'lru-cache';
  readonly evictionLogSize?: number;
  readonly cases: readonly CaseName[];
}
const ALL: readonly CaseName[] = ['get-hit', 'get-miss', 'set-with-eviction'];
const candidates: readonly Candidate[] = [
  { label: 'L1 LRU', kind: 'lru', cases: ALL },
  { label: 'L1 LFU', kind: 'lfu', cases: ALL },
  { label: 'L1 HYBRID', kind: 'hybrid', cases: ALL },
  { label: 'L1 ADAPTIVE', kind: 'adaptive', cases: ALL },
  // The eviction log reads the clock once per eviction; these show what that costs.
  {
    label: 'L1 LRU, evictionLogSize 0',
    kind: 'lru',
    evictionLogSize: 0,
    cases: ['set-with-eviction'],
  },
  {
    label: 'L1 ADAPTIVE, evictionLogSize 0',
    kind: 'adaptive',
    evictionLogSize: 0,
    cases: ['set-with-eviction'],
  },
  { label: 'lru-cache', kind: 'lru-cache', cases: ALL },
];

const prng = new Prng(7);
const name = (prefix: string, i: number, width: number): string =>
  `price:${prefix}${i.toString(36).padStart(width, '0')}`;
const hitKeys = Array.from({ length: CAPACITY }, (_, i) => name('H', i, 5));
const missKeys = Array.from({ length: CAPACITY }, (_, i) => name('M', i, 5));
const setKeys = Array.from({ length: SET_POOL }, (_, i) => name('S', i, 6));
const ORDER_MASK = 2 ** 20 - 1;
/** A seeded uniform random order of key indexes, shared by every candidate. */
const order = Int32Array.from({ length: ORDER_MASK + 1 }, () => prng.nextInt(CAPACITY));

// One loop per cache class, written out twice on purpose: a shared loop would
// make the get/set call site polymorphic and slow both candidates down alike.
function l1Gets(cache: L1Cache<Value>, keys: readonly string[], n: number): number {
  let found = 0;
  for (let i = 0; i < n; i++) if (cache.get(keys[order[i & ORDER_MASK]!]!) !== undefined) found++;
  return found;
}
function lruCacheGets(cache: LRUCache<string, Value>, keys: readonly string[], n: number): number {
  let found = 0;
  for (let i = 0; i < n; i++) if (cache.get(keys[order[i & ORDER_MASK]!]!) !== undefined) found++;
  return found;
}
function l1Sets(cache: L1Cache<Value>, from: number, n: number): void {
  for (let i = 0; i < n; i++) cache.set(setKeys[(from + i) & (SET_POOL - 1)]!, VALUE);
}
function lruCacheSets(cache: LRUCache<string, Value>, from: number, n: number): void {
  for (let i = 0; i < n; i++) cache.set(setKeys[(from + i) & (SET_POOL - 1)]!, VALUE);
}

/** A full cache per candidate and case (the set case must not disturb what the get cases read). */
type Instance =
  | { readonly kind: 'l1'; readonly cache: L1Cache<Value> }
  | { readonly kind: 'lru-cache'; readonly cache: LRUCache<string, Value> };
function build(candidate: Candidate): Instance {
  if (candidate.kind === 'lru-cache') {
    const cache = new LRUCache<string, Value>({ max: CAPACITY });
    for (const key of hitKeys) cache.set(key, VALUE);
    return { kind: 'lru-cache', cache };
  }
  const cache = new L1Cache<Value>({
    maxEntries: CAPACITY,
    evictionPolicy: candidate.kind,
    ...(candidate.evictionLogSize === undefined
      ? {}
      : { evictionLogSize: candidate.evictionLogSize }),
  });
  for (const key of hitKeys) cache.set(key, VALUE);
  return { kind: 'l1', cache };
}

const instances = new Map<string, Instance>();
const setCursor = new Map<string, number>();
for (const candidate of candidates) {
  for (const c of candidate.cases) instances.set(`${c}/${candidate.label}`, build(candidate));
  setCursor.set(candidate.label, 0);
}

/** Runs one case on one candidate; returns the number of ops and the count of found keys. */
function run(c: CaseName, candidate: Candidate): { ops: number; found: number } {
  const instance = instances.get(`${c}/${candidate.label}`)!;
  if (c === 'set-with-eviction') {
    const from = setCursor.get(candidate.label)!;
    if (instance.kind === 'l1') l1Sets(instance.cache, from, SET_OPS);
    else lruCacheSets(instance.cache, from, SET_OPS);
    setCursor.set(candidate.label, from + SET_OPS);
    return { ops: SET_OPS, found: 0 };
  }
  const keys = c === 'get-hit' ? hitKeys : missKeys;
  const found =
    instance.kind === 'l1'
      ? l1Gets(instance.cache, keys, GET_OPS)
      : lruCacheGets(instance.cache, keys, GET_OPS);
  return { ops: GET_OPS, found };
}

const caseNames: readonly CaseName[] = ['get-hit', 'get-miss', 'set-with-eviction'];
const samples = new Map<string, number[]>();
for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
  for (const c of caseNames) {
    const these = candidates.filter((candidate) => candidate.cases.includes(c));
    // Rotate the order each round so that no candidate always runs first.
    for (let k = 0; k < these.length; k++) {
      const candidate = these[(round + k) % these.length]!;
      const started = performance.now();
      const { ops, found } = run(c, candidate);
      const seconds = (performance.now() - started) / 1000;
      // Sanity: every get-hit finds its key, no get-miss does.
      const want = c === 'get-hit' ? ops : 0;
      if (found !== want)
        throw new Error(`${c} on ${candidate.label}: found ${found}, expected ${want}`);
      if (round < WARMUP_ROUNDS) continue;
      const id = `${c}/${candidate.label}`;
      samples.set(id, [...(samples.get(id) ?? []), ops / seconds]);
    }
  }
  process.stderr.write(
    `round ${round + 1}/${WARMUP_ROUNDS + ROUNDS}${round < WARMUP_ROUNDS ? ' (warm-up)' : ''}\n`,
  );
}

// Sanity: every set inserted a new key and evicted one.
const evictionsPerSet = candidates
  .filter((candidate) => candidate.kind !== 'lru-cache' && candidate.evictionLogSize === undefined)
  .map((candidate) => {
    const instance = instances.get(`set-with-eviction/${candidate.label}`)!;
    if (instance.kind !== 'l1') return '';
    const stats = instance.cache.stats();
    const evictions = stats.evictions.capacity + stats.evictions['admission-rejected'];
    return `${candidate.kind} ${(evictions / (stats.sets - CAPACITY)).toFixed(3)}`;
  });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mops = (x: number): string => (x / 1e6).toFixed(2);

const rows: string[][] = [];
const json: Record<string, unknown>[] = [];
for (const c of caseNames) {
  const base = median(samples.get(`${c}/lru-cache`)!);
  for (const candidate of candidates.filter((k) => k.cases.includes(c))) {
    const xs = samples.get(`${c}/${candidate.label}`)!;
    const m = median(xs);
    rows.push([
      c,
      candidate.label,
      mops(m),
      `${mops(Math.min(...xs))}–${mops(Math.max(...xs))}`,
      `${(m / base).toFixed(2)}x`,
    ]);
    json.push({
      case: c,
      candidate: candidate.label,
      medianOpsPerSecond: m,
      samples: xs,
      ratioToLruCache: m / base,
    });
  }
}

const markdown = [
  '## L1 throughput (million ops/s)',
  '',
  `Command: \`pnpm --filter @fiml/bench bench:l1:throughput\`. ${machineLine()}`,
  '',
  `maxEntries ${CAPACITY}, string keys like \`price:H0000a\`, one shared value object, default options otherwise.`,
  'get-hit reads keys the cache holds and get-miss keys it never held, both in one seeded uniform random order;',
  'set-with-eviction writes keys the cache does not hold into a full cache',
  `(evictions per set: ${evictionsPerSet.join(', ')}). lru-cache 11 with \`{ max }\` only.`,
  `${WARMUP_ROUNDS} warm-up rounds, then ${ROUNDS} measured rounds; in each round every candidate runs every case once,`,
  'in a rotating order. Median of the rounds; spread = slowest–fastest round; ratio = median / lru-cache median.',
  '',
  markdownTable(['case', 'cache', 'median', 'spread', 'vs lru-cache'], rows),
].join('\n');

saveResults(process.env.RESULT_NAME ?? 'l1-throughput', markdown, {
  capacity: CAPACITY,
  warmupRounds: WARMUP_ROUNDS,
  rounds: ROUNDS,
  results: json,
});
