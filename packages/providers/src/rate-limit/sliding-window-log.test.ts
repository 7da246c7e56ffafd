import { describe, expect, it } from '@jest/globals';
import { SlidingWindowLog } from './sliding-window-log.js';
import { formatRateLimits, parseRateLimits } from './rate-limit-window.js';

describe('parseRateLimits', () => {
  it('reads several windows joined by +', () => {
    expect(parseRateLimits('5/min+500/day')).toEqual([
      { limit: 5, windowMs: 60_000 },
      { limit: 500, windowMs: 86_400_000 },
    ]);
    expect(parseRateLimits(' 30/s + 100/15min + 10000/month ')).toEqual([
      { limit: 30, windowMs: 1_000 },
      { limit: 100, windowMs: 900_000 },
      { limit: 10_000, windowMs: 2_592_000_000 },
    ]);
    expect(parseRateLimits('')).toEqual([]);
  });

  it.each(['5', '5/fortnight', 'x/min', '0/min', '5/0min', '5/min+'])('rejects %j', (text) => {
    expect(() => parseRateLimits(text)).toThrow(RangeError);
  });

  it('formats back', () => {
    expect(formatRateLimits(parseRateLimits('5/min+500/day+30/s+100/15min'))).toBe(
      '5/min+500/day+30/s+100/15min',
    );
  });
});

describe('SlidingWindowLog', () => {
  it('grants up to the limit, then says exactly when the next call fits', () => {
    const log = new SlidingWindowLog([{ limit: 3, windowMs: 1_000 }]);
    expect(log.tryAcquire(0)).toEqual({ granted: true });
    expect(log.tryAcquire(200)).toEqual({ granted: true });
    expect(log.tryAcquire(400)).toEqual({ granted: true });
    expect(log.tryAcquire(500)).toEqual({ granted: false, retryAfterMs: 500 });
    expect(log.tryAcquire(999)).toEqual({ granted: false, retryAfterMs: 1 });
    expect(log.tryAcquire(1_000)).toEqual({ granted: true });
    expect(log.remaining(1_000)).toEqual([
      { limit: 3, windowMs: 1_000, used: 3, remaining: 0, resetInMs: 200 },
    ]);
  });

  it('counts a call in every window or in none', () => {
    const log = new SlidingWindowLog([
      { limit: 2, windowMs: 1_000 },
      { limit: 3, windowMs: 10_000 },
    ]);
    log.tryAcquire(0, 2);
    expect(log.tryAcquire(1_000)).toEqual({ granted: true });
    // The 10 s window is full until the first two calls leave it at 10 000.
    expect(log.tryAcquire(2_000)).toEqual({ granted: false, retryAfterMs: 8_000 });
    expect(log.remaining(2_000).map((w) => w.used)).toEqual([0, 3]);
  });

  it('takes n calls at once and refuses n that do not fit', () => {
    const log = new SlidingWindowLog([{ limit: 5, windowMs: 1_000 }]);
    expect(log.tryAcquire(0, 4)).toEqual({ granted: true });
    expect(log.tryAcquire(10, 2)).toEqual({ granted: false, retryAfterMs: 990 });
    expect(log.tryAcquire(10, 1)).toEqual({ granted: true });
  });

  it('scales limits by a share, never below one call', () => {
    expect(SlidingWindowLog.scaledLimit(10, 0.5)).toBe(5);
    expect(SlidingWindowLog.scaledLimit(1, 0.5)).toBe(1);
    expect(SlidingWindowLog.scaledLimit(7, 1)).toBe(7);
    const log = new SlidingWindowLog([{ limit: 4, windowMs: 1_000 }]);
    log.tryAcquire(0, 1, 0.5);
    log.tryAcquire(0, 1, 0.5);
    expect(log.tryAcquire(0, 1, 0.5).granted).toBe(false);
  });

  it('records calls granted elsewhere, out of order too', () => {
    const log = new SlidingWindowLog([{ limit: 3, windowMs: 1_000 }]);
    log.record(500);
    log.record(100, 2);
    expect(log.tryAcquire(600)).toEqual({ granted: false, retryAfterMs: 500 });
  });
});
