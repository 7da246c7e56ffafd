import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { L1Cache, type L1EvictEvent } from './l1-cache.js';
import { L1CacheError } from './l1-cache-error.js';

const T0 = Date.UTC(2026, 0, 5, 14, 30);

describe('L1Cache options', () => {
  it('defaults to ADAPTIVE and accepts the policy strings', () => {
    expect(new L1Cache({ maxEntries: 1 }).policy).toBe('adaptive');
    for (const p of ['lru', 'lfu', 'hybrid', 'adaptive'] as const) {
      expect(new L1Cache({ maxEntries: 1, evictionPolicy: p }).policy).toBe(p);
    }
  });

  it.each([
    [{ maxEntries: 0 }, RangeError, /maxEntries must be a positive integer, got 0/],
    [{ maxEntries: -3 }, RangeError, /maxEntries/],
    [{ maxEntries: 1.5 }, RangeError, /maxEntries/],
    [{ maxEntries: Number.NaN }, RangeError, /maxEntries must be finite/],
    [{ maxEntries: '10' }, TypeError, /maxEntries must be a number, got string/],
    [{}, TypeError, /maxEntries must be a number, got undefined/],
    [{ maxEntries: 2 ** 29 }, RangeError, /maxEntries must be at most/],
    [
      { maxEntries: 5, evictionPolicy: 'fifo' },
      RangeError,
      /evictionPolicy must be one of 'lru', 'lfu', 'hybrid', 'adaptive', got "fifo"/,
    ],
    [{ maxEntries: 5, evictionPolicy: 'LRU' }, RangeError, /evictionPolicy/],
    [
      { maxEntries: 5, protectedPatterns: 'price:*' },
      TypeError,
      /protectedPatterns must be an array/,
    ],
    [
      { maxEntries: 5, protectedPatterns: ['ok:*', ''] },
      RangeError,
      /protectedPatterns\[1\] must not be empty/,
    ],
    [
      { maxEntries: 5, protectedPatterns: ['*'] },
      RangeError,
      /protectedPatterns\[0\] "\*" would protect every key/,
    ],
    [
      { maxEntries: 5, protectedPatterns: [42] },
      TypeError,
      /protectedPatterns\[0\] must be a string/,
    ],
    [{ maxEntries: 5, defaultTtlMs: -1 }, RangeError, /defaultTtlMs must be >= 0/],
    [
      { maxEntries: 5, defaultTtlMs: Number.POSITIVE_INFINITY },
      RangeError,
      /defaultTtlMs must be finite/,
    ],
    [{ maxEntries: 5, maxBytes: 100 }, TypeError, /maxBytes needs sizeOf/],
    [{ maxEntries: 5, maxBytes: 0, sizeOf: () => 1 }, RangeError, /maxBytes must be > 0/],
    [{ maxEntries: 5, sizeOf: 3 }, TypeError, /sizeOf must be a function/],
    [{ maxEntries: 5, clock: { now: 1 } }, TypeError, /clock must be a Clock/],
    [{ maxEntries: 5, evictionLogSize: -1 }, RangeError, /evictionLogSize/],
    [{ maxEntries: 5, hybridHalfLife: 0 }, RangeError, /hybridHalfLife must be > 0/],
  ])('rejects %j', (options, errorClass, message) => {
    expect(() => new L1Cache(options as never)).toThrow(errorClass);
    expect(() => new L1Cache(options as never)).toThrow(message);
  });

  it('rejects a bad ttlMs or key at the call, naming it, and writes nothing', () => {
    const cache = new L1Cache<string>({ maxEntries: 5 });
    expect(() => cache.set('a', 'A', { ttlMs: -1 })).toThrow(/ttlMs must be >= 0/);
    expect(() => cache.set('a', 'A', { ttlMs: Number.NaN })).toThrow(/ttlMs must be finite/);
    expect(() => cache.set('a', 'A', { ttlMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => cache.set('a', 'A', { ttlMs: '5' as unknown as number })).toThrow(TypeError);
    expect(() => cache.set(5 as unknown as string, 'A')).toThrow(/key must be a string/);
    expect(cache.size).toBe(0);
    expect(cache.stats().sets).toBe(0);
  });

  it('rejects a bad sizeOf result and an entry larger than maxBytes', () => {
    const cache = new L1Cache<string>({
      maxEntries: 5,
      maxBytes: 8,
      sizeOf: (v) => (v === 'bad' ? -1 : v.length),
    });
    expect(() => cache.set('a', 'bad')).toThrow(/sizeOf returned -1 for "a"/);
    expect(() => cache.set('a', 'nine char')).toThrow(L1CacheError);
    expect(() => cache.set('a', 'nine char')).toThrow(/9 bytes exceed the 8 bytes of maxBytes/);
    expect(cache.size).toBe(0);
  });
});

describe('L1Cache reads and writes', () => {
  it('getMany lines up with its keys; setMany writes in order', () => {
    const cache = new L1Cache<number>({ maxEntries: 10 });
    cache.setMany([
      ['a', 1],
      ['b', 2, { ttlMs: 1000 }],
      ['a', 3],
    ]);
    expect(cache.getMany(['a', 'x', 'b'])).toEqual([3, undefined, 2]);
    expect(cache.stats()).toMatchObject({ sets: 3, hits: 2, misses: 1 });
  });

  it('setMany checks every entry before writing any', () => {
    const cache = new L1Cache<number>({ maxEntries: 10 });
    expect(() =>
      cache.setMany([
        ['a', 1],
        ['b', 2],
        ['c', 3, { ttlMs: -5 }],
      ]),
    ).toThrow(/setMany: entries\[2\] ttlMs must be >= 0/);
    expect(() =>
      cache.setMany([
        ['a', 1],
        [7 as unknown as string, 2],
      ]),
    ).toThrow(/entries\[1\] key/);
    expect(cache.size).toBe(0);
  });

  it('tracks bytes and evicts until the byte bound holds', () => {
    const cache = new L1Cache<string>({
      maxEntries: 100,
      maxBytes: 10,
      sizeOf: (v) => v.length,
      evictionPolicy: 'lru',
    });
    cache.set('a', 'aaaa').set('b', 'bbbb'); // 8
    cache.set('c', 'cccccc'); // 14 > 10: a goes, then 10
    expect(['a', 'b', 'c'].filter((k) => cache.has(k))).toEqual(['b', 'c']);
    expect(cache.bytes).toBe(10);
    // A write that grows a held entry evicts others, never the entry itself.
    cache.set('c', 'cccccccc'); // 12 > 10: b goes
    expect(['b', 'c'].filter((k) => cache.has(k))).toEqual(['c']);
    expect(cache.get('c')).toBe('cccccccc');
    expect(cache.bytes).toBe(8);
    cache.set('c', 'c'); // shrinking needs no room
    expect(cache.stats()).toMatchObject({ bytes: 1, entries: 1, maxBytes: 10 });
  });

  it('clear empties the cache but keeps rules and counters', () => {
    const cache = new L1Cache<string>({
      maxEntries: 3,
      protectedPatterns: ['p:*'],
      sizeOf: (v) => v.length,
    });
    cache.set('p:1', 'xx').set('a', 'yyy');
    cache.get('a');
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.isProtected('p:1')).toBe(true);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, sets: 2, protectedEntries: 0 });
    for (const k of ['x', 'y', 'z', 'w']) cache.set(k, k); // slots are reused from scratch
    expect(cache.size).toBe(3);
  });
});

describe('L1Cache stats, eviction log and events', () => {
  it('counts hits, misses, sets and evictions by reason', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({ maxEntries: 2, evictionPolicy: 'lru', clock });
    cache.set('a', 'A').set('b', 'B', { ttlMs: 10 });
    cache.get('a');
    cache.get('a');
    cache.get('zz');
    cache.set('c', 'C'); // evicts b (least recent) for capacity
    cache.set('d', 'D', { ttlMs: 10 }); // evicts a
    clock.advance(10);
    cache.get('d'); // expired
    expect(cache.stats()).toEqual({
      policy: 'lru',
      hits: 2,
      misses: 2,
      hitRate: 0.5,
      sets: 4,
      evictions: { capacity: 2, expired: 1, 'admission-rejected': 0 },
      entries: 1,
      bytes: 0,
      protectedEntries: 0,
      maxEntries: 2,
      maxBytes: undefined,
      adaptiveWindow: undefined,
    });
  });

  it('keeps a bounded ring of recent evictions, newest first', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<number>({
      maxEntries: 1,
      evictionPolicy: 'lru',
      clock,
      evictionLogSize: 3,
    });
    for (let i = 0; i < 6; i++) {
      cache.set(`k${i}`, i);
      clock.advance(1000);
    }
    // k0..k4 were evicted when k1..k5 were written, at T0 + 1000 * i.
    expect(cache.evictionLog()).toEqual([
      { key: 'k4', reason: 'capacity', policy: 'lru', at: T0 + 5000 },
      { key: 'k3', reason: 'capacity', policy: 'lru', at: T0 + 4000 },
      { key: 'k2', reason: 'capacity', policy: 'lru', at: T0 + 3000 },
    ]);
    expect(cache.evictionLog(1).map((r) => r.key)).toEqual(['k4']);
    expect(cache.evictionLog(0)).toEqual([]);
    expect(() => cache.evictionLog(-1)).toThrow(/limit must be an integer >= 0/);
    expect(
      new L1Cache({ maxEntries: 1, evictionLogSize: 0 }).set('a', 1).set('b', 2).evictionLog(),
    ).toEqual([]);
  });

  it('emits evict with the value and reason, after the write took effect', () => {
    const cache = new L1Cache<string>({ maxEntries: 1, evictionPolicy: 'lru' });
    const seen: (L1EvictEvent<string> & { heldNew: boolean })[] = [];
    const listener = (event: L1EvictEvent<string>): void => {
      seen.push({ ...event, heldNew: cache.has('b') });
    };
    cache.on('evict', listener);
    cache.set('a', 'A').set('b', 'B');
    expect(seen).toEqual([
      { key: 'a', value: 'A', reason: 'capacity', policy: 'lru', heldNew: true },
    ]);
    cache.off('evict', listener);
    cache.set('c', 'C');
    expect(seen).toHaveLength(1);
    expect(() => cache.on('nope' as 'evict', listener)).toThrow(
      /event must be 'evict' or 'expire'/,
    );
  });

  it('reports the expiries a refused write found before refusing', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({
      maxEntries: 5,
      maxBytes: 10,
      sizeOf: (v) => v.length,
      clock,
      protectedPatterns: ['p:*'],
    });
    const expired: string[] = [];
    cache.on('expire', ({ key }) => expired.push(key));
    cache.set('e', 'e', { ttlMs: 5 }).set('p:1', 'pppppppp'); // 9 bytes, 8 protected
    clock.advance(5);
    // The write's sweep expires e, then 8 protected + 3 new bytes cannot fit in 10.
    expect(() => cache.set('big', 'bbb')).toThrow(/3 bytes exceed the 2 bytes/);
    expect(expired).toEqual(['e']);
    expect(cache.size).toBe(1);
  });

  it('runs every listener even if one throws, then rethrows the first error', () => {
    const cache = new L1Cache<string>({ maxEntries: 1, evictionPolicy: 'lru' });
    const calls: string[] = [];
    cache.on('evict', () => {
      calls.push('first');
      throw new Error('listener failed');
    });
    cache.on('evict', () => calls.push('second'));
    cache.set('a', 'A');
    expect(() => cache.set('b', 'B')).toThrow('listener failed');
    expect(calls).toEqual(['first', 'second']);
    expect(cache.get('b')).toBe('B'); // the write happened
  });
});
