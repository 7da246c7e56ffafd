import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { EVICTION_POLICIES, EvictionPolicy } from './eviction-policy.js';
import { L1Cache } from './l1-cache.js';
import { L1CacheError } from './l1-cache-error.js';

const keysOf = (cache: L1Cache<string>, candidates: string[]): string[] =>
  candidates.filter((k) => cache.has(k));

describe('protected keys', () => {
  it.each(EVICTION_POLICIES)('%s: never evicts a protected key for capacity', (evictionPolicy) => {
    const cache = new L1Cache<string>({ maxEntries: 3, evictionPolicy, clock: new ManualClock(0) });
    cache.protectKey('a');
    cache.set('a', 'A');
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, 'v');
    expect(cache.get('a')).toBe('A');
    expect(cache.size).toBe(3);
    expect(cache.evictionLog().every((r) => r.key !== 'a')).toBe(true);
  });

  it('LRU skips a protected least-recent key and takes the next one', () => {
    const cache = new L1Cache<string>({ maxEntries: 3, evictionPolicy: EvictionPolicy.LRU });
    cache.set('a', 'A').set('b', 'B').set('c', 'C');
    cache.protectKey('a'); // a is the least recent, but protected
    cache.set('d', 'D');
    expect(keysOf(cache, ['a', 'b', 'c', 'd'])).toEqual(['a', 'c', 'd']);
    expect(cache.stats().protectedEntries).toBe(1);
  });

  it('matches wildcard patterns: prefix, suffix, infix and exact', () => {
    const cache = new L1Cache<string>({
      maxEntries: 10,
      protectedPatterns: ['price:AAPL*', '*:BTC', 'news:*:US', 'fundamentals:MSFT'],
    });
    const protectedKeys = [
      'price:AAPL',
      'price:AAPL.X',
      'price:BTC',
      'news:TSLA:US',
      'news::US',
      'fundamentals:MSFT',
    ];
    const plainKeys = [
      'price:MSFT',
      'price:AAP',
      'BTC:price',
      'news:TSLA:USD',
      'fundamentals:MSFT2',
      'xprice:AAPL',
    ];
    expect(protectedKeys.filter((k) => cache.isProtected(k))).toEqual(protectedKeys);
    expect(plainKeys.filter((k) => cache.isProtected(k))).toEqual([]);
    // Regular-expression characters in a pattern are literal.
    cache.protectKey('a.b*');
    expect(cache.isProtected('a.bc')).toBe(true);
    expect(cache.isProtected('axbc')).toBe(false);
  });

  it('protects entries already held when a pattern is added, and releases them when removed', () => {
    const cache = new L1Cache<string>({ maxEntries: 3, evictionPolicy: 'lru' });
    cache.set('price:AAPL', '1').set('price:MSFT', '2').set('price:GOOG', '3');
    cache.protectKey('price:AAPL*');
    cache.set('price:X', 'x'); // AAPL is least recent but protected: MSFT goes
    expect(keysOf(cache, ['price:AAPL', 'price:MSFT'])).toEqual(['price:AAPL']);
    cache.unprotectKey('price:AAPL*');
    expect(cache.isProtected('price:AAPL')).toBe(false);
    // Released entries rejoin as if just written: GOOG (older) goes first, then X, then AAPL.
    cache.set('n1', '').set('n2', '');
    expect(keysOf(cache, ['price:AAPL', 'price:GOOG', 'price:X'])).toEqual(['price:AAPL']);
    cache.set('n3', '');
    expect(cache.has('price:AAPL')).toBe(false);
  });

  it('keeps an entry protected while any rule still matches it', () => {
    const cache = new L1Cache<string>({ maxEntries: 2, protectedPatterns: ['price:*'] });
    cache.protectKey('price:AAPL');
    cache.set('price:AAPL', '1');
    cache.unprotectKey('price:AAPL');
    expect(cache.isProtected('price:AAPL')).toBe(true);
    expect(cache.protectedRules()).toEqual({ keys: [], patterns: ['price:*'] });
  });

  it('refuses a write when every entry is protected, and leaves the cache unchanged', () => {
    const cache = new L1Cache<string>({ maxEntries: 2, protectedPatterns: ['p:*'] });
    cache.set('p:1', 'one').set('p:2', 'two');
    let error: unknown;
    try {
      cache.set('x', 'X');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(L1CacheError);
    expect(error).toMatchObject({ code: 'FIML_L1_ALL_PROTECTED' });
    expect((error as Error).message).toMatch(/all 2 entries are protected/);
    expect(() => cache.set('p:3', 'three')).toThrow(L1CacheError);
    expect(cache.size).toBe(2);
    expect(cache.stats().sets).toBe(2);
    // Writing a held key needs no room.
    cache.set('p:1', 'uno');
    expect(cache.get('p:1')).toBe('uno');
    // Deleting one makes room again.
    cache.delete('p:2');
    cache.set('x', 'X');
    expect(cache.get('x')).toBe('X');
  });

  it('does not stop TTL expiry', () => {
    const clock = new ManualClock(0);
    const cache = new L1Cache<string>({ maxEntries: 2, clock, protectedPatterns: ['p:*'] });
    cache.set('p:1', 'one', { ttlMs: 1000 });
    clock.advance(1000);
    expect(cache.get('p:1')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ protectedEntries: 0, evictions: { expired: 1 } });
    expect(cache.isProtected('p:1')).toBe(true); // the rule stays for the next write
  });

  it('counts protected bytes against maxBytes', () => {
    const cache = new L1Cache<string>({
      maxEntries: 10,
      maxBytes: 10,
      sizeOf: (v) => v.length,
      protectedPatterns: ['p:*'],
    });
    cache.set('p:1', 'xxxxxx'); // 6 protected bytes
    cache.set('a', 'yyyy'); // 10
    cache.set('b', 'zzzz'); // a goes: 4 + 6
    expect(keysOf(cache, ['p:1', 'a', 'b'])).toEqual(['p:1', 'b']);
    expect(() => cache.set('c', 'wwwww')).toThrow(
      /5 bytes exceed the 4 bytes that protected entries leave/,
    );
    expect(cache.bytes).toBe(10);
  });

  it('bounds the registrations and rejects invalid patterns, naming the argument', () => {
    const cache = new L1Cache<string>({ maxEntries: 2 });
    cache.protectKey('a').protectKey('b');
    expect(() => cache.protectKey('c')).toThrow(/at most 2 protected keys/);
    expect(() => cache.protectKey('')).toThrow(RangeError);
    expect(() => cache.protectKey('**')).toThrow(
      /protectKey\(keyOrPattern\) "\*\*" would protect every key/,
    );
    expect(() => cache.protectKey(7 as unknown as string)).toThrow(TypeError);
    expect(() => cache.unprotectKey('*')).toThrow(RangeError);
    for (let i = 0; i < 256; i++) cache.protectKey(`p${i}:*`);
    expect(() => cache.protectKey('q:*')).toThrow(/at most 256 protected patterns/);
  });
});
