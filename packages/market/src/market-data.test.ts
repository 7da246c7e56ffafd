import { describe, expect, it } from '@jest/globals';
import { ManualClock, isAssetType, isDataType, normalizeSymbol } from './index.js';

describe('normalizeSymbol', () => {
  it.each([
    ['aapl', 'AAPL'],
    [' brk.b ', 'BRK.B'],
    ['BF-B', 'BF-B'],
    ['btc', 'BTC'],
    ['BTC-USD', 'BTC-USD'],
    ['1INCH', '1INCH'],
  ])('accepts %j as %j', (raw, expected) => {
    expect(normalizeSymbol(raw)).toBe(expected);
  });

  it.each([
    '',
    ' ',
    'AAPL;DROP',
    'TOO-LONG-SUFFIX',
    'ABCDEFGHIJK',
    '.B',
    'A..B',
    'A B',
    'ÄPFEL',
    '*',
  ])('rejects %j', (raw) => {
    expect(normalizeSymbol(raw)).toBeUndefined();
  });
});

describe('type guards', () => {
  it('know the asset and data types', () => {
    expect(['equity', 'crypto', 'bond'].map(isAssetType)).toEqual([true, true, false]);
    expect(['price', 'fundamentals', 'news', 'PRICE'].map(isDataType)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
});

describe('ManualClock', () => {
  it('starts where told and moves only forward when advanced', () => {
    const clock = new ManualClock('2026-11-27T09:30:00-05:00');
    expect(clock.now()).toBe(Date.UTC(2026, 10, 27, 14, 30));
    clock.advance(60_000);
    expect(clock.now()).toBe(Date.UTC(2026, 10, 27, 14, 31));
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });

  it('refuses ambiguous local instants', () => {
    expect(() => new ManualClock('2026-11-27T09:30:00')).toThrow(/offset/);
    expect(() => new ManualClock('not a date')).toThrow(RangeError);
    expect(new ManualClock(0).set('2026-03-08T07:00:00Z').now()).toBe(Date.UTC(2026, 2, 8, 7));
  });
});
