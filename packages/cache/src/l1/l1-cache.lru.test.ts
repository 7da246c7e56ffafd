import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { L1Cache } from './l1-cache.js';

const lru = (maxEntries: number): L1Cache<string> =>
  new L1Cache<string>({ maxEntries, evictionPolicy: 'lru', clock: new ManualClock(0) });

const keysOf = (cache: L1Cache<string>, candidates: string[]): string[] =>
  candidates.filter((k) => cache.has(k));

describe('LRU eviction', () => {
  it('evicts the least recently used key: a read refreshes a', () => {
    const cache = lru(3).set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.get('a')).toBe('A'); // recency now b < c < a
    cache.set('d', 'D'); // full: b is the least recent
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(cache.evictionLog(1)).toEqual([{ key: 'b', reason: 'capacity', policy: 'lru', at: 0 }]);
  });

  it('counts a write to an existing key as a use', () => {
    const cache = lru(3).set('a', 'A').set('b', 'B').set('c', 'C');
    cache.set('a', 'A2'); // b < c < a
    cache.set('d', 'D');
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(cache.get('a')).toBe('A2');
  });

  it('does not refresh on peek or has', () => {
    const cache = lru(3).set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.peek('a')).toBe('A');
    expect(cache.has('a')).toBe(true);
    cache.set('d', 'D'); // a is still the least recent
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['b', 'c', 'd']);
  });

  it('reuses the slot of a deleted key without evicting', () => {
    const cache = lru(3).set('a', 'A').set('b', 'B').set('c', 'C');
    expect(cache.delete('b')).toBe(true);
    expect(cache.delete('b')).toBe(false);
    cache.set('d', 'D');
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(cache.stats().evictions.capacity).toBe(0);
  });

  it('keeps exact LRU order through head, middle and tail moves', () => {
    // Order after the reads: e (head) < a < c < b < d (tail)... worked step by step:
    const cache = lru(5);
    for (const k of ['a', 'b', 'c', 'd', 'e']) cache.set(k, k); // a b c d e
    cache.get('a'); // b c d e a   (head moved)
    cache.get('c'); // b d e a c   (middle moved)
    cache.get('c'); // b d e a c   (already the tail)
    cache.get('b'); // d e a c b   (head moved)
    cache.delete('e'); // d a c b
    cache.get('d'); // a c b d
    const evicted: string[] = [];
    cache.on('evict', (event) => evicted.push(event.key));
    for (const k of ['v', 'w', 'x', 'y', 'z']) cache.set(k, k);
    // v fills e's slot; w..z evict a, c, b, d in that order.
    expect(evicted).toEqual(['a', 'c', 'b', 'd']);
  });

  it('survives a one-entry cache', () => {
    const cache = lru(1).set('a', 'A');
    expect(cache.get('a')).toBe('A');
    cache.set('b', 'B');
    expect(keysOf(cache, ['a', 'b'])).toEqual(['b']);
    cache.delete('b');
    cache.set('c', 'C').set('d', 'D');
    expect(keysOf(cache, ['c', 'd'])).toEqual(['d']);
  });
});
