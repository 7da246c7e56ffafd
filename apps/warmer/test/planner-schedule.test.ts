import { describe, expect, it } from '@jest/globals';
import { ManualClock, NyseCalendar } from '@fiml/market';
import {
  inSession,
  nextPreOpenRunAt,
  nextScheduledRunAt,
  openWindow,
  preOpenRunAt,
  refreshAheadWindow,
} from '../src/planner/index.js';

const calendar = new NyseCalendar();
const NY = 'America/New_York';

describe('preOpenRunAt', () => {
  it.each([
    ['Tuesday', '2026-11-24', 30, '2026-11-24T09:00:00-05:00'],
    ['Black Friday (early close, normal open)', '2026-11-27', 30, '2026-11-27T09:00:00-05:00'],
    ['Thanksgiving', '2026-11-26', 30, undefined],
    ['Saturday', '2026-11-28', 30, undefined],
    ['Monday after the spring DST switch', '2026-03-09', 30, '2026-03-09T09:00:00-04:00'],
    ['Monday after the fall DST switch', '2026-11-02', 45, '2026-11-02T08:45:00-05:00'],
    ['a trading day, pre-open off', '2026-11-24', 0, undefined],
  ])('%s %s, %i minutes: %s', (_name, day, minutes, expected) => {
    expect(preOpenRunAt(day, calendar, minutes)).toBe(
      expected === undefined ? undefined : Date.parse(expected),
    );
  });

  it('finds the next run past holidays and weekends', () => {
    const clock = new ManualClock('2026-11-25T10:00:00-05:00');
    // Wednesday after its run: Thursday is Thanksgiving, so Friday.
    expect(nextPreOpenRunAt(clock.now(), calendar, 30)).toBe(
      Date.parse('2026-11-27T09:00:00-05:00'),
    );
    clock.set('2026-11-27T08:59:59-05:00');
    expect(nextPreOpenRunAt(clock.now(), calendar, 30)).toBe(
      Date.parse('2026-11-27T09:00:00-05:00'),
    );
    clock.set('2026-11-27T09:00:00-05:00');
    expect(nextPreOpenRunAt(clock.now(), calendar, 30)).toBe(
      Date.parse('2026-11-30T09:00:00-05:00'),
    );
    expect(nextPreOpenRunAt(clock.now(), calendar, 0)).toBeUndefined();
  });

  it('prepares the open: the first half hour of the regular session', () => {
    expect(openWindow('2026-11-24', calendar)).toEqual({
      start: Date.parse('2026-11-24T09:30:00-05:00'),
      end: Date.parse('2026-11-24T10:00:00-05:00'),
    });
    expect(openWindow('2026-11-26', calendar)).toBeUndefined();
  });
});

describe('inSession', () => {
  it.each([
    ['2026-11-24T10:00:00-05:00', true, true],
    ['2026-11-24T09:00:00-05:00', false, true],
    ['2026-11-24T03:00:00-05:00', false, false],
    ['2026-11-26T11:00:00-05:00', false, false], // Thanksgiving
    ['2026-11-27T12:59:00-05:00', true, true], // Black Friday, before the 13:00 close
    ['2026-11-27T13:30:00-05:00', false, true], // after it: after-hours until 17:00
    ['2026-11-28T11:00:00-05:00', false, false],
    ['2026-03-09T09:45:00-04:00', true, true],
  ])('%s: regular %s, extended %s', (instant, regular, extended) => {
    const now = Date.parse(instant);
    expect(inSession(now, calendar)).toBe(regular);
    expect(inSession(now, calendar, ['pre-market', 'regular', 'after-hours'])).toBe(extended);
  });

  it('refresh-ahead covers until the next run plus the refresh lag, and is off at 0', () => {
    expect(refreshAheadWindow(1_000_000, 60)).toEqual({ start: 1_000_000, end: 1_070_000 });
    expect(refreshAheadWindow(1_000_000, 60, 0)).toEqual({ start: 1_000_000, end: 1_060_000 });
    expect(refreshAheadWindow(1_000_000, 0)).toBeUndefined();
  });
});

describe('nextScheduledRunAt', () => {
  it.each([
    // The original's hour list, as config turns it into cron, on the exchange clock.
    ['0 0,6,12,18 * * *', '2026-11-24T07:00:00-05:00', '2026-11-24T12:00:00-05:00'],
    ['0 0,6,12,18 * * *', '2026-11-24T18:00:00-05:00', '2026-11-25T00:00:00-05:00'],
    // Across the fall-back switch: 06:00 EST comes 7 real hours after 00:00 EDT.
    ['0 0,6,12,18 * * *', '2026-11-01T00:00:00-04:00', '2026-11-01T06:00:00-05:00'],
    // Across spring-forward: 06:00 EDT is 5 real hours after 00:00 EST.
    ['0 0,6,12,18 * * *', '2026-03-08T00:00:00-05:00', '2026-03-08T06:00:00-04:00'],
    ['*/5 * * * *', '2026-11-24T09:31:00-05:00', '2026-11-24T09:35:00-05:00'],
  ])('%s after %s: %s', (pattern, after, next) => {
    expect(nextScheduledRunAt(pattern, NY, Date.parse(after))).toBe(Date.parse(next));
  });
});
