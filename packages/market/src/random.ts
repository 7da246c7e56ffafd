import { randomInt } from 'node:crypto';

/**
 * The randomness port. Policies that need chance (TTL jitter, sampling) take
 * a Random, so a test or a simulator replays the same run from a seed.
 */
export interface Random {
  /** A number in [0, 1). */
  next(): number;
}

/**
 * A 32-bit hash of a string, unsigned: FNV-1a over the UTF-16 code units,
 * finished with murmur3's fmix32 so that every output bit depends on every
 * input bit. The one string hash of the project: the L1 frequency sketch takes
 * its block and counter indexes from different bit ranges of it, the
 * simulator its per-symbol values and string seeds. Not for anything secret.
 *
 * Hot path on purpose: `Math.imul` keeps the arithmetic in 32-bit integers.
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's finalizer, unsigned: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * mulberry32: a 32-bit seeded generator (period 2^32), fast and good enough to
 * spread expiries, sample workloads and draw simulated latencies; not for
 * anything secret. The same seed and the same sequence of calls give the same
 * draws in every process.
 */
export class SeededRandom implements Random {
  #state: number;

  /** @param seed an integer (only its low 32 bits count) or a text, hashed with {@link hashString} */
  constructor(seed: number | string) {
    if (typeof seed === 'string') {
      this.#state = hashString(seed);
      return;
    }
    if (!Number.isInteger(seed)) throw new RangeError(`a seed is an integer, got ${seed}`);
    this.#state = seed >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A standard normal number (Box–Muller on two draws). */
  gaussian(): number {
    const u1 = 1 - this.next(); // (0, 1]: log(0) must not happen
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/** A fresh 32-bit seed from the OS, for production generators; log it to replay a run. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}
