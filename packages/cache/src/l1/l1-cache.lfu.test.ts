import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { L1Cache } from './l1-cache.js';

const lfu = (maxEntries: number): L1Cache<string> =>
  new L1Cache<string>({ maxEntries, evictionPolicy: 'lfu', clock: new ManualClock(0) });

const keysOf = (cache: L1Cache<string>, candidates: string[]): string[] =>
  candidates.filter((k) => cache.has(k));

describe('LFU eviction', () => {
  it('evicts the least frequently used key', () => {
    const cache = lfu(3).set('a', 'A').set('b', 'B').set('c', 'C'); // counts a1 b1 c1
    cache.get('a');
    cache.get('a');
    cache.get('b'); // a3 b2 c1
    cache.set('d', 'D'); // c has the lowest count
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'b', 'd']);
  });

  it('breaks ties by recency within a count', () => {
    const cache = lfu(3).set('a', 'A').set('b', 'B').set('c', 'C'); // all 1, a oldest
    cache.set('d', 'D');
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
    cache.get('b'); // b2 c1 d1: c entered bucket 1 before d
    cache.set('e', 'E');
    expect(keysOf(cache, ['b', 'c', 'd', 'e'])).toEqual(['b', 'd', 'e']);
  });

  it('lets a newcomer go before an established key of higher count', () => {
    const cache = lfu(3).set('a', 'A').set('b', 'B').set('c', 'C');
    for (const k of ['a', 'b', 'c']) cache.get(k); // all 2
    cache.set('d', 'D'); // evicts a (count 2, least recent among the 2s)
    cache.set('e', 'E'); // d has count 1: it goes, not b or c
    expect(keysOf(cache, ['a', 'b', 'c', 'd', 'e'])).toEqual(['b', 'c', 'e']);
  });

  it('ages counts so that a once-hot key cannot squat forever', () => {
    // Capacity 2: counts halve every 20 accesses (inserts and hits).
    const cache = lfu(2).set('old', 'O');
    for (let i = 0; i < 9; i++) cache.get('old'); // old = 10 after 10 accesses
    // Then x and y alternate. With one free slot they evict each other (count 1
    // each) while old's 10 keeps it in; each halving takes old closer to 1.
    const rounds: boolean[] = [];
    for (let round = 0; round < 40; round++) {
      let hit = true;
      for (const k of ['x', 'y']) {
        if (cache.get(k) === undefined) {
          hit = false;
          cache.set(k, k);
        }
      }
      rounds.push(hit);
    }
    // Early on: thrashing, old stays.
    expect(rounds.slice(0, 5)).toEqual([false, false, false, false, false]);
    // Three halvings (10 -> 5 -> 2 -> 1) later old is no better than a
    // newcomer and leaves; from then on x and y both stay and hit.
    expect(cache.has('old')).toBe(false);
    expect(rounds.slice(-5)).toEqual([true, true, true, true, true]);
    expect(cache.evictionLog().some((r) => r.key === 'old')).toBe(true);
  });

  it('does not age a count below 1 or lose entries while aging', () => {
    const cache = lfu(4);
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, k);
    // 200 hits spread over the keys: many agings; every key is still held.
    for (let i = 0; i < 200; i++) cache.get(['a', 'b', 'c', 'd'][i % 4]!);
    expect(cache.size).toBe(4);
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'b', 'c', 'd']);
    cache.set('e', 'E');
    expect(cache.size).toBe(4);
  });
});
