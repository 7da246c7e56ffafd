import { describe, expect, it } from '@jest/globals';
import {
  accountPrecision,
  warmOutcome,
  type ServedRead,
  type WarmedEntry,
} from '../src/planner/index.js';

const MIN = 60_000;
const t = (minutes: number) => Date.parse('2026-11-24T14:00:00Z') + minutes * MIN;

/**
 * A scripted morning: five warmed entries, reads of some of them (and of
 * values the warmer did not write), and the accounting at four instants.
 */
const warmed: WarmedEntry[] = [
  // Read at +3, fresh until +10: used.
  { key: 'price:equity:AAPL', fetchedAt: t(0), expiresAt: t(10) },
  // Read only at +12, after it expired (served stale): wasted once expired.
  { key: 'price:equity:MSFT', fetchedAt: t(0), expiresAt: t(10) },
  // Never read: wasted at +20, pending before.
  { key: 'price:equity:NVDA', fetchedAt: t(0), expiresAt: t(20) },
  // Its key was read, but the value served was an older one: not this entry's read.
  { key: 'price:equity:TSLA', fetchedAt: t(5), expiresAt: t(15) },
  // Read twice: counted once.
  { key: 'price:crypto:BTC', fetchedAt: t(1), expiresAt: t(30) },
];
const reads: ServedRead[] = [
  { key: 'price:equity:AAPL', at: t(3), fetchedAt: t(0) },
  { key: 'price:equity:MSFT', at: t(12), fetchedAt: t(0) },
  { key: 'price:equity:TSLA', at: t(6), fetchedAt: t(-4) },
  { key: 'price:crypto:BTC', at: t(25), fetchedAt: t(1) },
  { key: 'price:crypto:BTC', at: t(26), fetchedAt: t(1) },
  // A value the warmer never wrote.
  { key: 'price:equity:AMZN', at: t(4), fetchedAt: t(2) },
];

describe('accountPrecision', () => {
  it.each([
    // now, used, wasted, pending, precision
    [t(2), 0, 0, 5, undefined],
    [t(5), 1, 0, 4, 1],
    [t(12), 1, 1, 3, 0.5],
    [t(16), 1, 2, 2, 1 / 3],
    [t(26), 2, 3, 0, 0.4],
  ])(
    'at %i: %i used, %i wasted, %i pending, precision %p',
    (now, used, wasted, pending, precision) => {
      const visible = reads.filter((r) => r.at <= now);
      const report = accountPrecision(warmed, visible, now);
      expect([report.used, report.wasted, report.pending]).toEqual([used, wasted, pending]);
      expect(report.precision).toBe(precision);
    },
  );

  it('names each entry’s outcome in input order', () => {
    const report = accountPrecision(warmed, reads, t(40));
    expect(report.outcomes.map((o) => [o.entry.key, o.outcome])).toEqual([
      ['price:equity:AAPL', 'used'],
      ['price:equity:MSFT', 'wasted'],
      ['price:equity:NVDA', 'wasted'],
      ['price:equity:TSLA', 'wasted'],
      ['price:crypto:BTC', 'used'],
    ]);
  });

  it.each([
    [t(9), t(12), 'used'],
    [t(10), t(12), 'wasted'], // a read at the expiry instant is a read of a stale value
    [undefined, t(9), 'pending'],
    [undefined, t(10), 'wasted'],
    [t(-1), t(5), 'pending'], // a read before the fetch cannot be of this value
  ] as const)(
    'an entry fresh from 0 to 10 min, first read %p, at %p: %s',
    (readAt, now, outcome) => {
      expect(warmOutcome({ key: 'k', fetchedAt: t(0), expiresAt: t(10) }, readAt, now)).toBe(
        outcome,
      );
    },
  );
});
