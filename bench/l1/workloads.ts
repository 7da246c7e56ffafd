import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Prng } from '../lib/prng.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared directory holding traces/ (never copied into the repo). */
export function sharedDir(): string {
  return process.env.FIML_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
}

/** A workload as dense key ids 0..distinct-1, in access order. */
export interface Workload {
  readonly name: string;
  readonly ids: Int32Array;
  readonly distinct: number;
  /** Accesses before this index warm the cache and are not counted. */
  readonly measureFrom: number;
}

/**
 * Loads a cache2k trace (gzip of big-endian int32 keys) and renumbers its keys
 * densely in order of first appearance. Returns undefined when the file is absent.
 */
export function loadTrace(name: string): Workload | undefined {
  const file = path.join(sharedDir(), 'traces', `${name}.trace.gz`);
  if (!existsSync(file)) return undefined;
  const raw = gunzipSync(readFileSync(file));
  const n = raw.length >>> 2;
  const ids = new Int32Array(n);
  const dense = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = raw.readInt32BE(i * 4);
    let id = dense.get(key);
    if (id === undefined) {
      id = dense.size;
      dense.set(key, id);
    }
    ids[i] = id;
  }
  return { name, ids, distinct: dense.size, measureFrom: 0 };
}

/** Zipf(alpha) over `items` keys: key k (0-based) has probability (k+1)^-alpha / H. */
export interface ZipfSpec {
  readonly items: number;
  readonly alpha: number;
  readonly warmup: number;
  readonly measured: number;
  readonly seed: number;
}

/** Independent draws from the Zipf distribution (inverse CDF by binary search), seeded. */
export function zipfWorkload(spec: ZipfSpec): Workload & { readonly probabilities: Float64Array } {
  const { items, alpha, warmup, measured, seed } = spec;
  const probabilities = new Float64Array(items);
  let total = 0;
  for (let k = 0; k < items; k++) {
    probabilities[k] = (k + 1) ** -alpha;
    total += probabilities[k]!;
  }
  const cdf = new Float64Array(items);
  let running = 0;
  for (let k = 0; k < items; k++) {
    probabilities[k]! /= total;
    running += probabilities[k]!;
    cdf[k] = running;
  }
  const prng = new Prng(seed);
  const n = warmup + measured;
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = prng.next() * running;
    let lo = 0;
    let hi = items - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    ranks[i] = lo;
  }
  // Shuffle which key id carries which rank, so hot keys are not simply the
  // lowest ids (hashing or slot order must not get an easy ride).
  const permutation = new Int32Array(items);
  for (let k = 0; k < items; k++) permutation[k] = k;
  for (let k = items - 1; k > 0; k--) {
    const j = prng.nextInt(k + 1);
    const t = permutation[k]!;
    permutation[k] = permutation[j]!;
    permutation[j] = t;
  }
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = permutation[ranks[i]!]!;
  return {
    name: `zipf(${alpha}, ${items} keys)`,
    ids,
    distinct: items,
    measureFrom: warmup,
    probabilities,
  };
}

/** The best any policy without knowledge of the future can do on independent draws: keep the C most probable keys. */
export function zipfOptimum(probabilities: Float64Array, capacity: number): number {
  let sum = 0;
  for (let k = 0; k < Math.min(capacity, probabilities.length); k++) sum += probabilities[k]!;
  return sum;
}
