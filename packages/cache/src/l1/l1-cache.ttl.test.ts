import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { EVICTION_POLICIES } from './eviction-policy.js';
import { L1Cache, type L1ExpireEvent } from './l1-cache.js';

const T0 = Date.UTC(2026, 10, 27, 14, 30);

describe('TTL', () => {
  it('keeps an entry forever on a frozen clock', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({ maxEntries: 4, clock, defaultTtlMs: 60_000 });
    cache.set('a', 'A');
    for (let i = 0; i < 100; i++) expect(cache.get('a')).toBe('A');
    expect(cache.stats().evictions.expired).toBe(0);
  });

  it.each(EVICTION_POLICIES)('%s: an entry lives for ttlMs, then reads miss', (evictionPolicy) => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({ maxEntries: 4, clock, evictionPolicy });
    const expired: L1ExpireEvent<string>[] = [];
    cache.on('expire', (event) => expired.push(event));
    cache.set('a', 'A', { ttlMs: 1000 });
    clock.advance(999);
    expect(cache.get('a')).toBe('A');
    clock.advance(1);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(1); // peek and has have no side effects
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(expired).toEqual([{ key: 'a', value: 'A' }]);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, evictions: { expired: 1 } });
    expect(cache.evictionLog()).toEqual([
      { key: 'a', reason: 'expired', policy: evictionPolicy, at: T0 + 1000 },
    ]);
  });

  it('applies defaultTtlMs; ttlMs 0 means never; a write restarts the TTL', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({ maxEntries: 4, clock, defaultTtlMs: 100 });
    cache.set('d', 'D').set('forever', 'F', { ttlMs: 0 }).set('w', 'W1');
    clock.advance(60);
    cache.set('w', 'W2'); // expires at T0 + 160 now
    clock.advance(60); // T0 + 120
    expect(cache.get('d')).toBeUndefined();
    expect(cache.get('w')).toBe('W2');
    clock.advance(40);
    expect(cache.get('w')).toBeUndefined();
    clock.advance(1e9);
    expect(cache.get('forever')).toBe('F');
    // A write without ttlMs takes the default again, replacing "never".
    cache.set('forever', 'F2');
    clock.advance(100);
    expect(cache.get('forever')).toBeUndefined();
  });

  it('sweeps expired entries a few slots per write, without reads', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<number>({ maxEntries: 1000, clock });
    for (let i = 0; i < 100; i++) cache.set(`old${i}`, i, { ttlMs: 10 });
    clock.advance(10);
    // Each write examines 4 slots: 25 writes cover the 100 expired ones.
    for (let i = 0; i < 24; i++) cache.set(`new${i}`, i);
    expect(cache.stats().evictions.expired).toBe(96);
    cache.set('new24', 24);
    expect(cache.stats().evictions.expired).toBe(100);
    expect(cache.size).toBe(25);
  });

  it('sweepExpired() removes every expired entry at once', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<number>({ maxEntries: 100, clock });
    expect(cache.sweepExpired()).toBe(0); // no TTL ever set
    for (let i = 0; i < 50; i++) cache.set(`k${i}`, i, { ttlMs: i < 30 ? 5 : 50 });
    clock.advance(5);
    expect(cache.sweepExpired()).toBe(30);
    expect(cache.size).toBe(20);
    expect(cache.sweepExpired(10)).toBe(0);
    expect(() => cache.sweepExpired(-1)).toThrow(/maxSlots must be an integer >= 0/);
    expect(() => cache.sweepExpired(Number.NaN)).toThrow(RangeError);
  });

  it('counts an expired victim as expired, not as a capacity eviction', () => {
    const clock = new ManualClock(T0);
    const cache = new L1Cache<string>({ maxEntries: 8, clock, evictionPolicy: 'lru' });
    for (let i = 0; i < 7; i++) cache.set(`k${i}`, 'v'); // slots 0-6, no TTL yet: no sweep
    cache.set('a', 'A', { ttlMs: 5 }); // slot 7
    for (let i = 0; i < 7; i++) cache.get(`k${i}`); // a is the least recent
    clock.advance(5);
    cache.set('c', 'C'); // the sweep looks at slots 0-3 only; the victim a has expired
    expect(cache.stats().evictions).toEqual({ capacity: 0, expired: 1, 'admission-rejected': 0 });
    expect(cache.evictionLog(1)).toEqual([
      { key: 'a', reason: 'expired', policy: 'lru', at: T0 + 5 },
    ]);
  });
});
