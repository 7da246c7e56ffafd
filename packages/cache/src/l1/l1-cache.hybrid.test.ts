import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { HybridStrategy } from './hybrid-strategy.js';
import { L1Cache } from './l1-cache.js';

const hybrid = (maxEntries: number, hybridHalfLife: number): L1Cache<string> =>
  new L1Cache<string>({
    maxEntries,
    evictionPolicy: 'hybrid',
    hybridHalfLife,
    clock: new ManualClock(0),
  });

const keysOf = (cache: L1Cache<string>, candidates: string[]): string[] =>
  candidates.filter((k) => cache.has(k));

describe('HYBRID (LRFU) eviction', () => {
  it('keeps a frequently used key over newer single-use ones', () => {
    // Half-life 4 operations. Operations 1-4: set a, get a x3; 5: set b; 6: set c.
    // Scores at 6: a = 2^-5/4 + 2^-4/4 + 2^-3/4 + 2^-2/4 = 2.22, b = 2^-1/4 = 0.84, c = 1.
    const cache = hybrid(3, 4).set('a', 'A');
    for (let i = 0; i < 3; i++) cache.get('a');
    cache.set('b', 'B').set('c', 'C');
    cache.set('d', 'D'); // b has the lowest score
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
  });

  it('lets an old burst fade: recency wins once it is many half-lives old', () => {
    const cache = hybrid(3, 4).set('a', 'A');
    for (let i = 0; i < 3; i++) cache.get('a');
    cache.set('b', 'B').set('c', 'C');
    for (let i = 0; i < 10; i++) {
      cache.get('b');
      cache.get('c');
    }
    // 20 operations later a's 2.22 has halved five times (0.07); b and c are near 3.
    cache.set('d', 'D');
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
  });

  it('behaves like LRU with a tiny half-life and like LFU with a huge one', () => {
    const script = (cache: L1Cache<string>): string[] => {
      cache.set('a', 'A');
      for (let i = 0; i < 5; i++) cache.get('a');
      cache.set('b', 'B').set('c', 'C').set('d', 'D');
      return keysOf(cache, ['a', 'b', 'c', 'd']);
    };
    expect(script(hybrid(3, 0.01))).toEqual(['b', 'c', 'd']); // a is the least recent
    expect(script(hybrid(3, 1e9))).toEqual(['a', 'c', 'd']); // a is the most frequent
  });

  it('scores are the decayed sum of accesses, and survive rescaling', () => {
    const strategy = new HybridStrategy(2, 1);
    strategy.insert(0); // t1
    strategy.access(0); // t2: 1 + 1/2
    expect(strategy.scoreOf(0)).toBeCloseTo(1.5, 12);
    strategy.insert(1); // t3: slot 0 decays to 0.75
    expect(strategy.scoreOf(0)).toBeCloseTo(0.75, 12);
    expect(strategy.victim()).toBe(0);
    // 600 more operations on slot 1 force two rescales (every 256 half-lives).
    for (let i = 0; i < 600; i++) strategy.access(1);
    expect(strategy.scoreOf(1)).toBeCloseTo(2, 9); // 1 + 1/2 + 1/4 + ... -> 2
    expect(strategy.victim()).toBe(0);
    strategy.remove(0);
    expect(strategy.victim()).toBe(1);
  });
});
