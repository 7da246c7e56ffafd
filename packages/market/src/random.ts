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
 * mulberry32: a 32-bit seeded generator, fast and good enough to spread
 * expiries and sample workloads; not for anything secret.
 */
export class SeededRandom implements Random {
  #state: number;

  /** @param seed any integer; only its low 32 bits count */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`a seed is an integer, got ${seed}`);
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
}

/** A fresh 32-bit seed from the OS, for production generators; log it to replay a run. */
export function randomSeed(): number {
  return randomInt(0, 2 ** 32);
}
