import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { TtlPolicy } from '../ttl/index.js';
import { Freshness } from './freshness.js';

const T0 = Date.parse('2026-11-24T10:00:00-05:00');

describe('Freshness.refreshAheadDue', () => {
  const clock = new ManualClock(T0);
  const ttlPolicy = new TtlPolicy({ clock, jitter: 0 });
  const fetched = { value: 1, source: 'sim' };

  it('is due in the last share of a value’s freshness, never before, after, or for a "not found"', () => {
    const f = new Freshness({ ttlPolicy, refreshAheadFraction: 0.2 });
    const entry = f.entry('price', 'equity', fetched, 'read-through', T0);
    const start = entry.softExpiresAt - entry.ttlMs * 0.2;
    expect(f.refreshAheadDue(entry, start - 1)).toBe(false);
    expect(f.refreshAheadDue(entry, start)).toBe(true);
    expect(f.refreshAheadDue(entry, entry.softExpiresAt - 1)).toBe(true);
    expect(f.refreshAheadDue(entry, entry.softExpiresAt)).toBe(false);
    const missing = f.entry(
      'price',
      'equity',
      { notFound: true, source: 'sim' },
      'read-through',
      T0,
    );
    expect(f.refreshAheadDue(missing, missing.softExpiresAt - 1)).toBe(false);
  });

  it('is off by default, and refuses a fraction outside 0-1', () => {
    const entry = new Freshness({ ttlPolicy }).entry(
      'price',
      'equity',
      fetched,
      'read-through',
      T0,
    );
    expect(new Freshness({ ttlPolicy }).refreshAheadDue(entry, entry.softExpiresAt - 1)).toBe(
      false,
    );
    expect(() => new Freshness({ ttlPolicy, refreshAheadFraction: 1.5 })).toThrow(RangeError);
    expect(() => new Freshness({ ttlPolicy, refreshAheadFraction: Number.NaN })).toThrow(
      RangeError,
    );
  });
});
