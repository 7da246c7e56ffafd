import { describe, expect, it } from '@jest/globals';
import { walkAt } from './price-walk.js';
import { gaussian, hash32, sampleLatency, toSeed } from './random.js';
import { SeededRandom, hashString } from '@fiml/market';

describe('seeded randomness', () => {
  it('repeats a stream for a seed and differs between seeds', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const draws = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(draws);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(draws);
    for (const x of draws) expect(x >= 0 && x < 1).toBe(true);
    expect(toSeed('market-week')).toBe(toSeed('market-week'));
    expect(hash32(1, 2, 3)).toBe(hash32(1, 2, 3));
    expect(hash32(1, 2, 3)).not.toBe(hash32(1, 2, 4));
    expect(hashString('AAPL')).not.toBe(hashString('AAPM'));
  });

  it('draws standard normal numbers from hashes', () => {
    const xs = Array.from({ length: 20_000 }, (_, i) => gaussian(hash32(7, i)));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('draws latencies with the configured median and 99th percentile', () => {
    const random = new SeededRandom(1);
    const model = { medianMs: 120, p99Ms: 400 };
    const xs = Array.from({ length: 20_000 }, () => sampleLatency(model, random)).sort(
      (a, b) => a - b,
    );
    expect(xs[10_000]! / 120).toBeGreaterThan(0.93);
    expect(xs[10_000]! / 120).toBeLessThan(1.07);
    expect(xs[19_800]! / 400).toBeGreaterThan(0.85);
    expect(xs[19_800]! / 400).toBeLessThan(1.15);
  });
});

describe('walkAt (Lévy construction)', () => {
  it('is a pure function of (seed, symbol, step)', () => {
    expect(walkAt(1, 2, 29_000_000)).toBe(walkAt(1, 2, 29_000_000));
    expect(walkAt(1, 2, 29_000_000)).not.toBe(walkAt(1, 3, 29_000_000));
    expect(walkAt(1, 2, 0)).toBe(0);
  });

  it('has independent standard normal increments, and variance growing with the lag', () => {
    const start = 29_500_000;
    const steps = Array.from({ length: 4_001 }, (_, i) => walkAt(9, 11, start + i));
    const increments = steps.slice(1).map((w, i) => w - steps[i]!);
    const variance = increments.reduce((s, x) => s + x * x, 0) / increments.length;
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    const lag1 =
      increments.slice(1).reduce((s, x, i) => s + x * increments[i]!, 0) / increments.length;
    expect(Math.abs(lag1)).toBeLessThan(0.1);
    // Over 64 steps the variance is 64: averaged over many symbols.
    const far = Array.from(
      { length: 3_000 },
      (_, sym) => walkAt(9, sym, start + 64) - walkAt(9, sym, start),
    );
    const farVariance = far.reduce((s, x) => s + x * x, 0) / far.length;
    expect(farVariance / 64).toBeGreaterThan(0.9);
    expect(farVariance / 64).toBeLessThan(1.1);
  });
});
