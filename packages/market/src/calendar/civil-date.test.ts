import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  civilDate,
  dayNumber,
  easterSunday,
  formatDay,
  lastWeekday,
  nthWeekday,
  parseDay,
  weekday,
  MONDAY,
  THURSDAY,
} from './civil-date.js';

describe('civil dates as day numbers', () => {
  it('round-trips and agrees with luxon on the date and weekday', () => {
    fc.assert(
      fc.property(fc.integer({ min: -25_000, max: 100_000 }), (n) => {
        const { year, month, day } = civilDate(n);
        expect(dayNumber(year, month, day)).toBe(n);
        const dt = DateTime.fromMillis(n * 86_400_000, { zone: 'utc' });
        expect([year, month, day, weekday(n)]).toEqual([dt.year, dt.month, dt.day, dt.weekday]);
      }),
    );
  });

  it('formats and parses strictly', () => {
    expect(formatDay(dayNumber(2028, 2, 29))).toBe('2028-02-29');
    expect(parseDay('2028-02-29')).toBe(dayNumber(2028, 2, 29));
    expect(() => parseDay('2027-02-29')).toThrow(/no such date/);
    expect(() => parseDay('2027-00-10')).toThrow(RangeError);
    expect(() => parseDay('2027-1-10')).toThrow(/YYYY-MM-DD/);
  });

  it('finds nth and last weekdays', () => {
    expect(formatDay(nthWeekday(2026, 11, THURSDAY, 4))).toBe('2026-11-26');
    expect(formatDay(nthWeekday(2028, 1, MONDAY, 3))).toBe('2028-01-17');
    expect(formatDay(lastWeekday(2027, 5, MONDAY))).toBe('2027-05-31');
    expect(formatDay(lastWeekday(2026, 12, THURSDAY))).toBe('2026-12-31');
  });

  it.each([
    [2008, '2008-03-23'], // earliest in the window: March 23
    [2011, '2011-04-24'],
    [2019, '2019-04-21'],
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2028, '2028-04-16'],
    [2038, '2038-04-25'], // latest possible: April 25
  ])('Easter %i is %s', (year, date) => {
    expect(formatDay(easterSunday(year))).toBe(date);
  });
});
