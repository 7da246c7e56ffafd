import { fmix32, hashString, type SeededRandom } from '@fiml/market';
import type { LatencyModel } from '@fiml/providers';

/**
 * Seeded randomness for the simulator. Two kinds, for two needs:
 *
 * - `SeededRandom` (@fiml/market's mulberry32) is a stream: latency and failure draws,
 *   call after call. The same seed and the same sequence of calls give the
 *   same draws.
 * - {@link hash32} is stateless: a value that depends only on its inputs
 *   (seed, symbol, day, step), so a price at an instant is the same in every
 *   process and in any call order. That is what makes the HTTP server and the
 *   in-process provider agree.
 *
 * Neither is for cryptography.
 */

const TWO_POW_32 = 4_294_967_296;

/** A 32-bit hash of a sequence of integers (murmur3's block mixing; inputs are taken mod 2^32). */
export function hash32(...values: readonly number[]): number {
  let h = 0x9747b28c ^ values.length;
  for (const value of values) {
    let k = Math.imul(value | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h);
}

/** A hash as a uniform number in [0, 1). */
export function unit(hash: number): number {
  return (hash >>> 0) / TWO_POW_32;
}

/** A standard normal number determined by a hash (Box–Muller on two derived uniforms). */
export function gaussian(hash: number): number {
  const u1 = ((hash >>> 0) + 1) / (TWO_POW_32 + 1); // (0, 1): log(0) must not happen
  const u2 = unit(fmix32(hash ^ 0x9e3779b9));
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A seed from a number or a string ("42", "market-week"). */
export function toSeed(seed: number | string): number {
  if (typeof seed === 'number' && Number.isInteger(seed)) return seed >>> 0;
  return hashString(String(seed));
}

/** The z-score of the 99th percentile of a standard normal distribution. */
const Z99 = 2.326_347_874;

/** Draws one latency from a {@link LatencyModel}, in whole milliseconds (at least 1). */
export function sampleLatency(model: LatencyModel, random: SeededRandom): number {
  const mu = Math.log(model.medianMs);
  const sigma = Math.max(0, Math.log(model.p99Ms / model.medianMs) / Z99);
  return Math.max(1, Math.round(Math.exp(mu + sigma * random.gaussian())));
}
