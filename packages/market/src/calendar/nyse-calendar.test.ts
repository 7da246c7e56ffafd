import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  NYSE_AD_HOC_CLOSURES,
  NyseCalendar,
  nyseRuleEarlyCloses,
  nyseRuleHolidays,
  type CalendarOverride,
} from '../index.js';

const NY = 'America/New_York';
/** An exchange-local wall-clock time ("2026-11-27T13:05") as epoch ms. */
const et = (local: string): number => {
  const dt = DateTime.fromISO(local, { zone: NY });
  if (!dt.isValid) throw new Error(`bad fixture ${local}`);
  return dt.toMillis();
};
const utc = (iso: string): number => DateTime.fromISO(iso, { zone: 'utc' }).toMillis();

/**
 * The NYSE's published full-day closures, typed in from the Exchange's
 * announcements (2024-11-08 for 2025-2027, 2025-12-23 for 2028), independent
 * of the rule engine. 2028 has no New Year's Day closure: January 1 is a
 * Saturday and the Exchange stays open on Friday December 31, 2027.
 */
const PUBLISHED_HOLIDAYS: Record<number, string[]> = {
  2025: [
    '2025-01-01',
    '2025-01-20',
    '2025-02-17',
    '2025-04-18',
    '2025-05-26',
    '2025-06-19',
    '2025-07-04',
    '2025-09-01',
    '2025-11-27',
    '2025-12-25',
  ],
  2026: [
    '2026-01-01',
    '2026-01-19',
    '2026-02-16',
    '2026-04-03',
    '2026-05-25',
    '2026-06-19',
    '2026-07-03',
    '2026-09-07',
    '2026-11-26',
    '2026-12-25',
  ],
  2027: [
    '2027-01-01',
    '2027-01-18',
    '2027-02-15',
    '2027-03-26',
    '2027-05-31',
    '2027-06-18',
    '2027-07-05',
    '2027-09-06',
    '2027-11-25',
    '2027-12-24',
  ],
  2028: [
    '2028-01-17',
    '2028-02-21',
    '2028-04-14',
    '2028-05-29',
    '2028-06-19',
    '2028-07-04',
    '2028-09-04',
    '2028-11-23',
    '2028-12-25',
  ],
};

/** The published 13:00 early closes for the same years. */
const PUBLISHED_EARLY_CLOSES: Record<number, string[]> = {
  2025: ['2025-07-03', '2025-11-28', '2025-12-24'],
  2026: ['2026-11-27', '2026-12-24'],
  2027: ['2027-11-26'],
  2028: ['2028-07-03', '2028-11-24'],
};

const YEARS = [2025, 2026, 2027, 2028] as const;

describe('NYSE holiday rules against the published calendars', () => {
  it.each(YEARS)('full-day holidays of %i', (year) => {
    expect(nyseRuleHolidays(year).map((h) => h.date)).toEqual(PUBLISHED_HOLIDAYS[year]);
  });

  it.each(YEARS)('early closes of %i', (year) => {
    expect(nyseRuleEarlyCloses(year).map((h) => h.date)).toEqual(PUBLISHED_EARLY_CLOSES[year]);
  });

  it('marks weekend holidays moved to a weekday as observed', () => {
    const observed = YEARS.flatMap((y) => nyseRuleHolidays(y).filter((h) => h.observed));
    expect(observed.map((h) => `${h.date} ${h.name}`)).toEqual([
      '2026-07-03 Independence Day',
      '2027-06-18 Juneteenth National Independence Day',
      '2027-07-05 Independence Day',
      '2027-12-24 Christmas Day',
    ]);
  });

  it('keeps Friday 2027-12-31 open although New Year 2028 is a Saturday (month-end rule)', () => {
    const calendar = new NyseCalendar();
    expect(calendar.isTradingDay('2027-12-31')).toBe(true);
    expect(calendar.exchangeDay('2027-12-31').earlyClose).toBe(false);
    expect(calendar.isTradingDay('2028-01-01')).toBe(false);
    expect(calendar.exchangeDay('2028-01-01').status).toBe('weekend');
    // and the earlier instance: New Year 2022 on a Saturday, 2021-12-31 open
    expect(calendar.isTradingDay('2021-12-31')).toBe(true);
  });

  it('moves a Sunday New Year to Monday January 2 (2023)', () => {
    expect(nyseRuleHolidays(2023)[0]).toEqual({
      date: '2023-01-02',
      name: "New Year's Day",
      observed: true,
    });
  });

  it('adds Juneteenth from 2022 only', () => {
    expect(nyseRuleHolidays(2021).some((h) => h.date.startsWith('2021-06'))).toBe(false);
    expect(nyseRuleHolidays(2022).find((h) => h.date.startsWith('2022-06'))?.date).toBe(
      '2022-06-20',
    );
  });

  it('has no early close on Thursday 2026-07-02 (July 3 is the observed holiday)', () => {
    const calendar = new NyseCalendar();
    const day = calendar.exchangeDay('2026-07-02');
    expect(day).toMatchObject({ status: 'trading', earlyClose: false });
    expect(day.sessions?.regular.end).toBe(et('2026-07-02T16:00'));
  });

  it('every day of 2025-2028 is trading exactly when it is a weekday off the published list', () => {
    const calendar = new NyseCalendar();
    const closed = new Set(YEARS.flatMap((y) => PUBLISHED_HOLIDAYS[y] ?? []));
    closed.add('2025-01-09'); // the ad-hoc closure in the default override table
    let day = DateTime.fromISO('2025-01-01', { zone: NY });
    const tradingDays: Record<number, number> = {};
    while (day.year <= 2028) {
      const date = day.toISODate() ?? '';
      const expected = day.weekday <= 5 && !closed.has(date);
      expect([date, calendar.isTradingDay(date)]).toEqual([date, expected]);
      if (expected) tradingDays[day.year] = (tradingDays[day.year] ?? 0) + 1;
      day = day.plus({ days: 1 });
    }
    // weekdays minus closures: 261-11, 261-10, 261-10, 260-9 (2028 starts on a Saturday)
    expect(tradingDays).toEqual({ 2025: 250, 2026: 251, 2027: 251, 2028: 251 });
  });
});

describe('sessions on the exchange clock', () => {
  const calendar = new NyseCalendar();

  it.each([
    ['2026-11-24T03:59:59.999', 'closed'],
    ['2026-11-24T04:00', 'pre-market'],
    ['2026-11-24T09:29:59.999', 'pre-market'],
    ['2026-11-24T09:30', 'regular'],
    ['2026-11-24T15:59:59.999', 'regular'],
    ['2026-11-24T16:00', 'after-hours'],
    ['2026-11-24T19:59:59.999', 'after-hours'],
    ['2026-11-24T20:00', 'closed'],
    // Thanksgiving: closed all day
    ['2026-11-26T04:00', 'closed'],
    ['2026-11-26T10:00', 'closed'],
    ['2026-11-26T17:00', 'closed'],
    // the 2026-11-27 early close: regular until 13:00, after-hours until 17:00
    ['2026-11-27T09:30', 'regular'],
    ['2026-11-27T12:59', 'regular'],
    ['2026-11-27T12:59:59.999', 'regular'],
    ['2026-11-27T13:00', 'after-hours'],
    ['2026-11-27T16:59', 'after-hours'],
    ['2026-11-27T17:00', 'closed'],
    ['2026-11-27T19:00', 'closed'],
    // Christmas Eve 2026 closes early too
    ['2026-12-24T12:59', 'regular'],
    ['2026-12-24T13:00', 'after-hours'],
    // weekend
    ['2026-11-28T10:00', 'closed'],
    ['2026-11-29T23:59', 'closed'],
    ['2026-11-30T04:00', 'pre-market'],
    // ad-hoc closure: national day of mourning, 2025-01-09
    ['2025-01-09T10:00', 'closed'],
  ])('%s ET is %s', (local, session) => {
    expect(calendar.sessionAt(et(local))).toBe(session);
    expect(calendar.sessionAt(et(local), 'equity')).toBe(session);
  });

  it('crypto is always open', () => {
    for (const local of ['2026-11-26T10:00', '2026-11-29T03:00', '2026-03-08T02:30Z']) {
      const t = local.endsWith('Z') ? utc(local) : et(local);
      expect(calendar.sessionAt(t, 'crypto')).toBe('open');
    }
  });

  it('Sunday 23:59 is closed until Monday 04:00 pre-market', () => {
    const sunday = et('2026-11-29T23:59');
    const window = calendar.sessionWindowAt(sunday);
    expect(window.session).toBe('closed');
    expect(window.start).toBe(et('2026-11-27T17:00')); // after the early-close after-hours
    expect(window.end).toBe(et('2026-11-30T04:00'));
    expect(window.nonTradingDays.map((d) => d.date)).toEqual(['2026-11-28', '2026-11-29']);
    expect(calendar.nextSessionChange(sunday)).toBe(utc('2026-11-30T09:00'));
    expect(calendar.sessionAt(calendar.nextSessionChange(sunday))).toBe('pre-market');
    expect(calendar.nextOpen(sunday)).toBe(utc('2026-11-30T14:30'));
  });

  it('a weeknight is an overnight closed window with no non-trading days', () => {
    const window = calendar.sessionWindowAt(et('2026-11-24T23:00'));
    expect(window).toMatchObject({
      session: 'closed',
      start: et('2026-11-24T20:00'),
      end: et('2026-11-25T04:00'),
      nonTradingDays: [],
    });
  });

  it('the closed window before Thanksgiving spans the holiday', () => {
    const window = calendar.sessionWindowAt(et('2026-11-25T21:00'));
    expect(window.start).toBe(et('2026-11-25T20:00'));
    expect(window.end).toBe(et('2026-11-27T04:00'));
    expect(window.nonTradingDays.map((d) => [d.date, d.status, d.reason])).toEqual([
      ['2026-11-26', 'holiday', 'Thanksgiving Day'],
    ]);
  });

  it('nextOpen skips Thanksgiving: Wednesday evening -> Friday 09:30', () => {
    const friday = utc('2026-11-27T14:30');
    expect(calendar.nextOpen(et('2026-11-25T19:00'))).toBe(friday);
    expect(calendar.nextOpen(et('2026-11-25T09:30:00.001'))).toBe(friday);
    expect(calendar.nextOpen(et('2026-11-26T12:00'))).toBe(friday);
    expect(calendar.nextOpen(et('2026-11-27T09:29'))).toBe(friday);
  });

  it('nextOpen is the instant itself at exactly 09:30, the next day after it', () => {
    const open = et('2026-11-24T09:30');
    expect(calendar.nextOpen(open)).toBe(open);
    expect(calendar.nextOpen(open + 1)).toBe(et('2026-11-25T09:30'));
    expect(calendar.nextOpen(et('2026-11-24T00:00'))).toBe(open);
  });

  it('describes a trading day, an early close, a holiday and a weekend day', () => {
    expect(calendar.exchangeDay('2026-11-27')).toEqual({
      date: '2026-11-27',
      weekday: 'Friday',
      status: 'trading',
      reason: 'Day after Thanksgiving',
      source: 'rule',
      earlyClose: true,
      range: { start: et('2026-11-27T00:00'), end: et('2026-11-28T00:00') },
      sessions: {
        preMarket: { start: et('2026-11-27T04:00'), end: et('2026-11-27T09:30') },
        regular: { start: et('2026-11-27T09:30'), end: et('2026-11-27T13:00') },
        afterHours: { start: et('2026-11-27T13:00'), end: et('2026-11-27T17:00') },
      },
    });
    expect(calendar.exchangeDay('2026-11-26')).toMatchObject({
      status: 'holiday',
      reason: 'Thanksgiving Day',
      source: 'rule',
      earlyClose: false,
    });
    expect(calendar.exchangeDay('2026-11-26').sessions).toBeUndefined();
    expect(calendar.exchangeDay('2026-11-28')).toMatchObject({
      status: 'weekend',
      weekday: 'Saturday',
    });
    expect(calendar.exchangeDay('2026-11-28').reason).toBeUndefined();
  });

  it('accepts a luxon DateTime and takes its own calendar date', () => {
    const inNewYork = DateTime.fromISO('2026-11-26T23:30', { zone: NY });
    expect(calendar.isTradingDay(inNewYork)).toBe(false);
    // the same instant seen in UTC is already Friday the 27th
    expect(calendar.isTradingDay(inNewYork.setZone('utc'))).toBe(true);
    expect(calendar.exchangeDayAt(inNewYork.toMillis()).date).toBe('2026-11-26');
  });

  it('lists a year’s closures and early closes, rules and overrides merged', () => {
    expect(calendar.closures(2025).slice(0, 3)).toEqual([
      { date: '2025-01-01', reason: "New Year's Day", source: 'rule' },
      {
        date: '2025-01-09',
        reason: 'National Day of Mourning for President Jimmy Carter',
        source: 'override',
      },
      { date: '2025-01-20', reason: 'Martin Luther King, Jr. Day', source: 'rule' },
    ]);
    expect(calendar.earlyCloses(2026)).toEqual([
      { date: '2026-11-27', reason: 'Day after Thanksgiving', source: 'rule', close: '13:00' },
      { date: '2026-12-24', reason: 'Christmas Eve', source: 'rule', close: '13:00' },
    ]);
  });
});

describe('DST switch days', () => {
  const calendar = new NyseCalendar();

  it.each([
    // Monday after the March switch: EDT, UTC-4
    ['2026-03-09T07:59:59.999Z', 'closed'],
    ['2026-03-09T08:00Z', 'pre-market'],
    ['2026-03-09T13:29:59.999Z', 'pre-market'],
    ['2026-03-09T13:30Z', 'regular'],
    ['2026-03-09T19:59:59.999Z', 'regular'],
    ['2026-03-09T20:00Z', 'after-hours'],
    ['2026-03-10T00:00Z', 'closed'],
    // the Friday before it: still EST, UTC-5
    ['2026-03-06T14:29:59.999Z', 'pre-market'],
    ['2026-03-06T14:30Z', 'regular'],
    ['2026-03-06T21:00Z', 'after-hours'],
    // Monday after the November switch: EST, UTC-5
    ['2026-11-02T08:59:59.999Z', 'closed'],
    ['2026-11-02T09:00Z', 'pre-market'],
    ['2026-11-02T14:29:59.999Z', 'pre-market'],
    ['2026-11-02T14:30Z', 'regular'],
    ['2026-11-02T20:59:59.999Z', 'regular'],
    ['2026-11-02T21:00Z', 'after-hours'],
    ['2026-11-03T01:00Z', 'closed'],
    // the Friday before it: still EDT
    ['2026-10-30T13:30Z', 'regular'],
    ['2026-10-30T20:00Z', 'after-hours'],
  ])('%s is %s', (instant, session) => {
    expect(calendar.sessionAt(utc(instant))).toBe(session);
  });

  it.each([
    ['2026-03-08', 23, '2026-03-08T05:00Z', '2026-03-06T20:00-05:00', '2026-03-09T04:00-04:00'],
    ['2026-11-01', 25, '2026-11-01T04:00Z', '2026-10-30T20:00-04:00', '2026-11-02T04:00-05:00'],
  ])(
    'the switch Sunday %s is a %i-hour closed day inside one weekend window',
    (date, hours, midnight, windowStart, windowEnd) => {
      const day = calendar.exchangeDay(date);
      expect(day.status).toBe('weekend');
      expect(day.range.start).toBe(utc(midnight));
      expect(day.range.end - day.range.start).toBe(hours * 3_600_000);
      // every 15 minutes across the day, including the skipped or repeated hour
      for (let t = day.range.start; t < day.range.end; t += 15 * 60_000) {
        const window = calendar.sessionWindowAt(t);
        expect(window.session).toBe('closed');
        expect(window.start).toBe(DateTime.fromISO(windowStart, { setZone: true }).toMillis());
        expect(window.end).toBe(DateTime.fromISO(windowEnd, { setZone: true }).toMillis());
        expect(calendar.exchangeDayAt(t).date).toBe(date);
      }
    },
  );

  it('the weekend windows are 55 h (spring) and 57 h (fall) long, not 56 h', () => {
    const spring = calendar.sessionWindowAt(utc('2026-03-08T12:00Z'));
    const fall = calendar.sessionWindowAt(utc('2026-11-01T12:00Z'));
    expect((spring.end - spring.start) / 3_600_000).toBe(55);
    expect((fall.end - fall.start) / 3_600_000).toBe(57);
  });

  it('the repeated 01:00-02:00 of the fall switch stays on Sunday', () => {
    expect(calendar.exchangeDayAt(utc('2026-11-01T05:30Z')).date).toBe('2026-11-01'); // 01:30 EDT
    expect(calendar.exchangeDayAt(utc('2026-11-01T06:30Z')).date).toBe('2026-11-01'); // 01:30 EST
    expect(calendar.exchangeDayAt(utc('2026-11-01T03:59:59.999Z')).date).toBe('2026-10-31');
  });
});

describe('override table', () => {
  it('closes a day, early-closes another and restores a rule holiday', () => {
    const overrides: CalendarOverride[] = [
      { date: '2026-06-01', kind: 'closed', reason: 'Day of mourning' },
      { date: '2026-12-31', kind: 'early-close', close: '14:00', reason: 'Year end' },
      { date: '2026-11-27', kind: 'full-day', reason: 'Full day this year' },
    ];
    const calendar = new NyseCalendar({ overrides });
    expect(calendar.isTradingDay('2026-06-01')).toBe(false);
    expect(calendar.exchangeDay('2026-06-01')).toMatchObject({
      status: 'holiday',
      reason: 'Day of mourning',
      source: 'override',
    });
    // the closure joins the weekend: Friday 20:00 to Tuesday 04:00
    const window = calendar.sessionWindowAt(et('2026-05-31T12:00'));
    expect(window.start).toBe(et('2026-05-29T20:00'));
    expect(window.end).toBe(et('2026-06-02T04:00'));
    expect(window.nonTradingDays.map((d) => d.date)).toEqual([
      '2026-05-30',
      '2026-05-31',
      '2026-06-01',
    ]);

    expect(calendar.sessionAt(et('2026-12-31T13:59'))).toBe('regular');
    expect(calendar.sessionAt(et('2026-12-31T14:00'))).toBe('after-hours');
    expect(calendar.sessionAt(et('2026-12-31T18:00'))).toBe('closed');

    expect(calendar.sessionAt(et('2026-11-27T15:00'))).toBe('regular');
    expect(calendar.exchangeDay('2026-11-27').earlyClose).toBe(false);
  });

  it('defaults to the known ad-hoc closures, and an empty table drops them', () => {
    expect(new NyseCalendar().isTradingDay('2025-01-09')).toBe(false);
    expect(new NyseCalendar().isTradingDay('2018-12-05')).toBe(false);
    expect(new NyseCalendar({ overrides: [] }).isTradingDay('2025-01-09')).toBe(true);
    expect(NYSE_AD_HOC_CLOSURES.every((o) => o.kind === 'closed')).toBe(true);
  });

  it.each<[string, CalendarOverride]>([
    ['an impossible date', { date: '2026-02-30', kind: 'closed', reason: 'x' }],
    ['a weekend', { date: '2026-11-28', kind: 'closed', reason: 'x' }],
    ['an unknown kind', { date: '2026-11-24', kind: 'half' as 'closed', reason: 'x' }],
    ['an empty reason', { date: '2026-11-24', kind: 'closed', reason: ' ' }],
    [
      'a close before the open',
      { date: '2026-11-24', kind: 'early-close', close: '09:00', reason: 'x' },
    ],
    ['a close at 16:00', { date: '2026-11-24', kind: 'early-close', close: '16:00', reason: 'x' }],
    ['a malformed close', { date: '2026-11-24', kind: 'early-close', close: '1pm', reason: 'x' }],
    ['a close on a closure', { date: '2026-11-24', kind: 'closed', close: '13:00', reason: 'x' }],
    ['a year out of range', { date: '2300-01-03', kind: 'closed', reason: 'x' }],
  ])('rejects %s', (_label, override) => {
    expect(() => new NyseCalendar({ overrides: [override] })).toThrow(RangeError);
  });

  it('rejects a date listed twice', () => {
    const o: CalendarOverride = { date: '2026-11-24', kind: 'closed', reason: 'x' };
    expect(() => new NyseCalendar({ overrides: [o, o] })).toThrow(/twice/);
  });
});

describe('bad input', () => {
  const calendar = new NyseCalendar();

  it.each(['2026-02-30', '2026-2-3', '2026-13-01', '26-11-27', '', '2026-11-27T00:00'])(
    'isTradingDay(%j) throws a RangeError',
    (date) => {
      expect(() => calendar.isTradingDay(date)).toThrow(RangeError);
    },
  );

  it('rejects invalid DateTimes, non-dates and non-instants', () => {
    expect(() => calendar.isTradingDay(DateTime.invalid('test'))).toThrow(RangeError);
    expect(() => calendar.isTradingDay(42 as unknown as string)).toThrow(TypeError);
    expect(() => calendar.sessionAt(Number.NaN)).toThrow(RangeError);
    expect(() => calendar.sessionAt(Number.POSITIVE_INFINITY, 'crypto')).toThrow(RangeError);
    expect(() => calendar.nextOpen('2026-11-27' as unknown as number)).toThrow(TypeError);
    expect(() => calendar.sessionAt(0, 'bond' as 'equity')).toThrow(TypeError);
  });

  it('refuses years it has no rules for', () => {
    expect(() => calendar.isTradingDay('1990-06-01')).toThrow(/1998-2199/);
    expect(() => nyseRuleHolidays(2200)).toThrow(RangeError);
    expect(() => calendar.sessionAt(utc('2250-01-01T00:00Z'))).toThrow(RangeError);
  });
});

describe('properties (fast-check)', () => {
  const calendar = new NyseCalendar();
  const instant = fc.integer({ min: utc('2025-01-01T00:00Z'), max: utc('2029-01-01T00:00Z') });

  /** An oracle that asks luxon for the local time of every instant, with no caching. */
  function expectedSession(t: number): string {
    const local = DateTime.fromMillis(t, { zone: NY });
    const date = local.toISODate() ?? '';
    if (!calendar.isTradingDay(date)) return 'closed';
    const minutes = local.hour * 60 + local.minute;
    const early = calendar.exchangeDay(date).earlyClose;
    const close = early ? 13 * 60 : 16 * 60;
    const afterEnd = early ? 17 * 60 : 20 * 60;
    if (minutes < 4 * 60) return 'closed';
    if (minutes < 9 * 60 + 30) return 'pre-market';
    if (minutes < close) return 'regular';
    if (minutes < afterEnd) return 'after-hours';
    return 'closed';
  }

  it('sessionAt agrees with a luxon wall-clock oracle', () => {
    fc.assert(
      fc.property(instant, (t) => {
        expect(calendar.sessionAt(t)).toBe(expectedSession(t));
      }),
      { numRuns: 2000 },
    );
  });

  it('a window contains its instant and ends at a session change', () => {
    fc.assert(
      fc.property(instant, (t) => {
        const w = calendar.sessionWindowAt(t);
        expect(w.start <= t && t < w.end).toBe(true);
        expect(calendar.sessionAt(w.start)).toBe(w.session);
        expect(calendar.sessionAt(w.end - 1)).toBe(w.session);
        expect(calendar.sessionAt(w.end)).not.toBe(w.session);
      }),
      { numRuns: 1000 },
    );
  });

  it('nextOpen is the first regular instant at or after t', () => {
    fc.assert(
      fc.property(instant, (t) => {
        const open = calendar.nextOpen(t);
        expect(open).toBeGreaterThanOrEqual(t);
        expect(calendar.sessionAt(open)).toBe('regular');
        expect(calendar.sessionAt(open - 1)).toBe('pre-market');
        // no regular session between t and open, except t itself being in one
        const w = calendar.sessionWindowAt(t);
        if (w.session === 'regular' && open > t) {
          expect(open).toBeGreaterThanOrEqual(w.end);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
