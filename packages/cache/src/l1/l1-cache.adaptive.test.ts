import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { AdaptiveStrategy } from './adaptive-strategy.js';
import { L1Cache } from './l1-cache.js';
import { NONE } from './slot-lists.js';

const adaptive = (maxEntries: number): L1Cache<string> =>
  new L1Cache<string>({ maxEntries, clock: new ManualClock(0) });

describe('ADAPTIVE (W-TinyLFU) queues', () => {
  // 10 entries: a window of 1, a main space of 9 with at most 7 protected.
  it('starts with a 1 % window and an 80 % protected share of main', () => {
    expect(new AdaptiveStrategy(10).shape).toEqual({ window: 1, protected: 7, maximum: 10 });
    expect(new AdaptiveStrategy(1000).shape).toEqual({ window: 10, protected: 792, maximum: 1000 });
  });

  it('moves window overflow to probation, promotes on a probation hit, demotes overflow', () => {
    const s = new AdaptiveStrategy(10);
    for (let slot = 0; slot < 10; slot++) s.insert(slot, `k${slot}`);
    expect(s.queueOf(9)).toBe('window');
    expect([0, 1, 8].map((slot) => s.queueOf(slot))).toEqual([
      'probation',
      'probation',
      'probation',
    ]);
    for (let slot = 0; slot < 9; slot++) s.access(slot);
    // Promoting k7 and k8 overflowed protected (7): k0 then k1 went back to probation.
    expect([0, 1].map((slot) => s.queueOf(slot))).toEqual(['probation', 'probation']);
    expect([2, 5, 8].map((slot) => s.queueOf(slot))).toEqual([
      'protected',
      'protected',
      'protected',
    ]);
    expect(s.victim()).toBe(9); // the window candidate k9 (seen once) loses to k0 (seen twice)
    expect(s.admissionRejected).toBe(true);
  });

  it('hands back NONE when it holds nothing', () => {
    expect(new AdaptiveStrategy(4).victim()).toBe(NONE);
  });
});

describe('ADAPTIVE eviction', () => {
  const warm = (): L1Cache<string> => {
    // Fill, then read k0..k8 once: k0 and k1 sit on probation (k0 its head),
    // k2..k8 are protected, k9 is alone in the window. Sketch: k0..k8 = 2, k9 = 1.
    const cache = adaptive(10);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, `v${i}`);
    for (let i = 0; i < 9; i++) cache.get(`k${i}`);
    return cache;
  };

  it("rejects a window candidate seen less often than main's victim", () => {
    const cache = warm();
    cache.set('n1', 'N1'); // candidate k9 (1) vs victim k0 (2): k9 goes
    expect(cache.has('k9')).toBe(false);
    expect(cache.has('k0')).toBe(true);
    expect(cache.evictionLog(1)).toEqual([
      { key: 'k9', reason: 'admission-rejected', policy: 'adaptive', at: 0 },
    ]);
    expect(cache.stats().evictions).toEqual({ capacity: 0, expired: 0, 'admission-rejected': 1 });
  });

  it("admits a candidate seen more often, evicting main's victim", () => {
    const cache = warm();
    cache.set('n1', 'N1');
    cache.get('n1');
    cache.get('n1'); // n1 = 3 in the sketch
    cache.set('n2', 'N2'); // candidate n1 (3) vs victim k0 (2): k0 goes, n1 joins probation
    expect(cache.has('n1')).toBe(true);
    expect(cache.has('k0')).toBe(false);
    expect(cache.evictionLog(1)[0]).toMatchObject({ key: 'k0', reason: 'capacity' });
  });

  it('remembers frequency of keys it no longer holds', () => {
    const cache = warm();
    cache.set('n1', 'N1'); // k9 rejected, but the sketch still counts it
    cache.set('k9', 'v9'); // k9 = 2 now; the candidate n1 (1) loses to k0 (2)
    expect(cache.has('n1')).toBe(false);
    cache.set('n3', 'N3'); // candidate k9 (2) vs k0 (2): a tie keeps the incumbent
    expect(cache.has('k9')).toBe(false);
    cache.set('k9', 'v9'); // k9 = 3
    cache.set('n4', 'N4'); // candidate k9 (3) beats k0 (2)
    expect(cache.has('k9')).toBe(true);
    expect(cache.has('k0')).toBe(false);
  });
});

describe('ADAPTIVE hill climbing', () => {
  const read = (cache: L1Cache<number>, key: string): boolean => {
    if (cache.get(key) !== undefined) return true;
    cache.set(key, 0);
    return false;
  };

  /**
   * Recency-friendly traffic: every key is read once more 1 to 40 new keys
   * after its first read, then never again. Only a window big enough to hold
   * the last ~40 newcomers catches the second reads; main and frequency can't
   * help, since every key is seen at most twice.
   */
  const recencyStream = (cache: L1Cache<number>, keys: number): number => {
    const due = new Map<number, number[]>();
    let hits = 0;
    for (let t = 0; t < keys; t++) {
      read(cache, `r${t}`);
      const again = t + 1 + ((t * 7) % 40);
      due.set(again, [...(due.get(again) ?? []), t]);
      for (const k of due.get(t) ?? []) if (read(cache, `r${k}`) && t > keys / 2) hits++;
      due.delete(t);
    }
    return hits;
  };

  /** Frequency-friendly traffic: 90 hot keys read uniformly, every third read a one-off key. */
  const frequencyStream = (cache: L1Cache<number>, reads: number): void => {
    let x = 12345;
    for (let i = 0; i < reads; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      read(cache, i % 3 === 0 ? `once${i}` : `hot${x % 90}`);
    }
  };

  it('grows the window when keys evicted from it come back soon', () => {
    const cache = new L1Cache<number>({ maxEntries: 100, clock: new ManualClock(0) });
    frequencyStream(cache, 2000); // main full of hot keys; the window stays small
    const before = cache.stats().adaptiveWindow!;
    const hits = recencyStream(cache, 6000);
    expect(before).toBeLessThanOrEqual(3);
    // A second read of a key the window had just evicted is a window ghost hit:
    // the window grows until it holds the last ~40 newcomers (it reached 66 when written).
    expect(cache.stats().adaptiveWindow).toBeGreaterThanOrEqual(35);
    expect(hits).toBeGreaterThan(2500); // most second reads in the second half hit
  });

  it('shrinks the window again when keys evicted from main come back instead', () => {
    const cache = new L1Cache<number>({ maxEntries: 100, clock: new ManualClock(0) });
    recencyStream(cache, 6000);
    const grown = cache.stats().adaptiveWindow!;
    expect(grown).toBeGreaterThanOrEqual(35);
    // Now 90 hot keys do not fit in main beside a big window: hot keys evicted
    // from main come back at once (main ghost hits) and the window gives way.
    frequencyStream(cache, 30_000);
    expect(cache.stats().adaptiveWindow!).toBeLessThan(10);
  });
});
