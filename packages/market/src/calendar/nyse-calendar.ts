import { DateTime } from 'luxon';
import type { AssetType } from '../market-data.js';
import {
  civilDate,
  dayNumber,
  formatDay,
  isWeekend,
  parseDay,
  weekdayName,
  type DayNumber,
} from './civil-date.js';
import type { EquitySession, MarketSession } from './market-session.js';
import {
  EARLY_CLOSE_MINUTES,
  FIRST_RULE_YEAR,
  LAST_RULE_YEAR,
  assertRuleYear,
  ruleEarlyCloses,
  ruleHolidays,
} from './nyse-rules.js';

/** The exchange clock. Every local time in this module is on it. */
export const NYSE_TIME_ZONE = 'America/New_York';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const PRE_MARKET_OPEN = 4 * 60;
const REGULAR_OPEN = 9 * 60 + 30;
const REGULAR_CLOSE = 16 * 60;
const AFTER_HOURS_CLOSE = 20 * 60;
/**
 * On early-close days the NYSE's late trading sessions (Arca, American,
 * National) end at 17:00 instead of 20:00, four hours after the 13:00 close.
 */
const EARLY_AFTER_HOURS_LENGTH = 4 * 60;

/**
 * No legitimate closure comes near this; running into it means the override
 * table closes the market for weeks, which is a configuration error.
 */
const MAX_SCAN_DAYS = 31;

/** One entry of the ad-hoc override table. */
export interface CalendarOverride {
  /** Exchange-local date, "YYYY-MM-DD". Weekends are rejected: nothing to override there. */
  readonly date: string;
  /**
   * - `closed`: no trading all day (a national day of mourning, a storm).
   * - `early-close`: the regular session ends at `close`.
   * - `full-day`: a normal 09:30-16:00 day, cancelling a rule holiday or early
   *   close (for the day the rules and the Exchange disagree).
   */
  readonly kind: 'closed' | 'early-close' | 'full-day';
  /** Why: shown by `exchangeDay()` and in TTL explanations. */
  readonly reason: string;
  /**
   * For `early-close`: local "HH:MM" when the regular session ends, after
   * 09:30 and before 16:00. After-hours then runs four hours, to 20:00 at most.
   * @defaultValue '13:00'
   */
  readonly close?: string;
}

/**
 * Closures the rules cannot know: every unscheduled full-day NYSE closure
 * since 2001. The default override table, so `isTradingDay('2025-01-09')` is
 * false out of the box.
 */
export const NYSE_AD_HOC_CLOSURES: readonly CalendarOverride[] = Object.freeze(
  [
    ...['2001-09-11', '2001-09-12', '2001-09-13', '2001-09-14'].map((date) => ({
      date,
      reason: 'Closed after the September 11 attacks',
    })),
    { date: '2004-06-11', reason: 'National Day of Mourning for President Ronald Reagan' },
    { date: '2007-01-02', reason: 'National Day of Mourning for President Gerald R. Ford' },
    { date: '2012-10-29', reason: 'Closed for Hurricane Sandy' },
    { date: '2012-10-30', reason: 'Closed for Hurricane Sandy' },
    { date: '2018-12-05', reason: 'National Day of Mourning for President George H. W. Bush' },
    { date: '2025-01-09', reason: 'National Day of Mourning for President Jimmy Carter' },
  ].map((o) => Object.freeze({ ...o, kind: 'closed' as const })),
);

export interface NyseCalendarOptions {
  /**
   * Ad-hoc closures and early closes that win over the rules. Passing a table
   * replaces the default; to add to it, spread it:
   * `[...NYSE_AD_HOC_CLOSURES, { date: '2026-06-01', kind: 'closed', reason: '...' }]`.
   * @defaultValue NYSE_AD_HOC_CLOSURES
   */
  readonly overrides?: readonly CalendarOverride[];
}

/** [start, end) in epoch ms. */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

/** One exchange-local calendar day. */
export interface ExchangeDay {
  /** "YYYY-MM-DD" on the exchange clock. */
  readonly date: string;
  /** "Monday" ... "Sunday". */
  readonly weekday: string;
  readonly status: 'trading' | 'weekend' | 'holiday';
  /** The holiday, closure or early-close name; absent on ordinary days and weekends. */
  readonly reason?: string;
  /** Whether the reason comes from the rules or the override table. */
  readonly source?: 'rule' | 'override';
  /** True when the regular session ends early. */
  readonly earlyClose: boolean;
  /** Local midnight to the next local midnight: 23 h or 25 h on DST switch days. */
  readonly range: TimeRange;
  /** Trading days only. */
  readonly sessions?: {
    readonly preMarket: TimeRange;
    readonly regular: TimeRange;
    readonly afterHours: TimeRange;
  };
}

/**
 * The stretch of time an equity instant falls in: one session, from its
 * start to the next session change. Closed windows run from the end of one
 * trading day's after-hours to the next pre-market, across any weekends and
 * holidays in between.
 */
export interface SessionWindow {
  readonly session: EquitySession;
  readonly start: number;
  /** Exclusive: the next session change. */
  readonly end: number;
  /**
   * The whole non-trading days (weekends, holidays) inside a closed window, in
   * order; empty on a weeknight and for every open session.
   */
  readonly nonTradingDays: readonly ExchangeDay[];
}

/** A full-day closure or an early close of a year, rules and overrides merged. */
export interface MarketDate {
  /** "YYYY-MM-DD" */
  readonly date: string;
  readonly reason: string;
  readonly source: 'rule' | 'override';
  /** Early closes only: local "HH:MM" when the regular session ends. */
  readonly close?: string;
}

interface DayNote {
  readonly reason: string;
  readonly source: 'rule' | 'override';
  /** Minutes after local midnight when the regular session ends (early closes). */
  readonly closeMinutes?: number;
}

interface YearTable {
  readonly closures: ReadonlyMap<DayNumber, DayNote>;
  readonly earlyCloses: ReadonlyMap<DayNumber, DayNote>;
}

/** A cached day: the public view plus the numbers the hot path compares against. */
interface DayRecord {
  readonly n: DayNumber;
  readonly view: ExchangeDay;
  readonly trading: boolean;
  readonly start: number;
  readonly end: number;
  /** NaN on non-trading days. */
  readonly preOpen: number;
  readonly open: number;
  readonly close: number;
  readonly afterClose: number;
}

interface NormalizedOverride {
  readonly kind: CalendarOverride['kind'];
  readonly reason: string;
  readonly closeMinutes: number;
}

/**
 * The NYSE calendar, evaluated on the exchange clock (America/New_York) with
 * luxon, so DST switches, holidays and early closes are where the Exchange
 * puts them, whatever the host's time zone.
 *
 * Hot path (every cache write asks for a TTL): each local day is computed
 * once and cached, holidays once per year, and the last session window is
 * kept, so repeated questions about nearby instants cost a few comparisons.
 * Instants are epoch milliseconds.
 */
export class NyseCalendar {
  readonly zone = NYSE_TIME_ZONE;

  readonly #overrides: ReadonlyMap<DayNumber, NormalizedOverride>;
  readonly #years = new Map<number, YearTable>();
  readonly #days = new Map<DayNumber, DayRecord>();
  #lastWindow: SessionWindow | undefined;

  constructor(options: NyseCalendarOptions = {}) {
    this.#overrides = normalizeOverrides(options.overrides ?? NYSE_AD_HOC_CLOSURES);
  }

  /**
   * The session at an instant. Equities: 'pre-market', 'regular',
   * 'after-hours' or 'closed'; crypto: always 'open'.
   * @param assetType @defaultValue 'equity'
   */
  sessionAt(instant: number, assetType: AssetType = 'equity'): MarketSession {
    if (assetType === 'crypto') {
      assertInstant(instant);
      return 'open';
    }
    if (assetType !== 'equity') throw new TypeError(`unknown asset type: ${String(assetType)}`);
    return this.sessionWindowAt(instant).session;
  }

  /** The equity session an instant falls in, with its bounds. */
  sessionWindowAt(instant: number): SessionWindow {
    assertInstant(instant);
    const last = this.#lastWindow;
    if (last !== undefined && instant >= last.start && instant < last.end) return last;
    const window = this.#windowAt(instant);
    this.#lastWindow = window;
    return window;
  }

  /** The first instant after `instant` at which the equity session changes. */
  nextSessionChange(instant: number): number {
    return this.sessionWindowAt(instant).end;
  }

  /**
   * The next regular-session open at or after `instant`: the instant itself
   * when it is exactly 09:30 on a trading day.
   */
  nextOpen(instant: number): number {
    assertInstant(instant);
    const today = this.#dayAt(instant);
    if (today.trading && instant <= today.open) return today.open;
    return this.#nextTradingDay(today.n).open;
  }

  /**
   * Whether the NYSE trades on a date: "YYYY-MM-DD", or a luxon DateTime whose
   * own calendar date is taken as is (convert an instant with
   * `.setZone('America/New_York')` first if that is what you hold).
   */
  isTradingDay(date: string | DateTime): boolean {
    return this.#day(toDayNumber(date)).trading;
  }

  /** Everything about one exchange-local date. */
  exchangeDay(date: string | DateTime): ExchangeDay {
    return this.#day(toDayNumber(date)).view;
  }

  /** The exchange-local date an instant falls on. */
  exchangeDayAt(instant: number): ExchangeDay {
    assertInstant(instant);
    return this.#dayAt(instant).view;
  }

  /** Full-day closures of a year on weekdays: rule holidays and override closures. */
  closures(year: number): readonly MarketDate[] {
    return toMarketDates(this.#year(year).closures);
  }

  /** Early closes of a year: rule early closes and override early closes. */
  earlyCloses(year: number): readonly MarketDate[] {
    return toMarketDates(this.#year(year).earlyCloses);
  }

  #windowAt(instant: number): SessionWindow {
    const today = this.#dayAt(instant);
    if (today.trading) {
      if (instant < today.preOpen)
        return this.#closedBetween(this.#previousTradingDay(today.n), today);
      if (instant < today.open) return openWindow('pre-market', today.preOpen, today.open);
      if (instant < today.close) return openWindow('regular', today.open, today.close);
      if (instant < today.afterClose)
        return openWindow('after-hours', today.close, today.afterClose);
      return this.#closedBetween(today, this.#nextTradingDay(today.n));
    }
    return this.#closedBetween(this.#previousTradingDay(today.n), this.#nextTradingDay(today.n));
  }

  #closedBetween(before: DayRecord, after: DayRecord): SessionWindow {
    const nonTradingDays: ExchangeDay[] = [];
    for (let n = before.n + 1; n < after.n; n++) nonTradingDays.push(this.#day(n).view);
    return {
      session: 'closed',
      start: before.afterClose,
      end: after.preOpen,
      nonTradingDays: Object.freeze(nonTradingDays),
    };
  }

  #nextTradingDay(from: DayNumber): DayRecord {
    for (let n = from + 1; n <= from + MAX_SCAN_DAYS; n++) {
      const day = this.#day(n);
      if (day.trading) return day;
    }
    throw new RangeError(
      `no NYSE trading day within ${MAX_SCAN_DAYS} days after ${formatDay(from)}`,
    );
  }

  #previousTradingDay(from: DayNumber): DayRecord {
    for (let n = from - 1; n >= from - MAX_SCAN_DAYS; n--) {
      const day = this.#day(n);
      if (day.trading) return day;
    }
    throw new RangeError(
      `no NYSE trading day within ${MAX_SCAN_DAYS} days before ${formatDay(from)}`,
    );
  }

  /**
   * The local day containing an instant, without asking luxon in the common
   * case: New York is UTC-4 or UTC-5, so shifting by -4 h lands on the local
   * date or the day after it, and the cached day's start decides which.
   */
  #dayAt(instant: number): DayRecord {
    const guess = Math.floor((instant - 4 * HOUR) / DAY);
    const day = this.#day(guess);
    if (instant >= day.start && instant < day.end) return day;
    const before = this.#day(guess - 1);
    if (instant >= before.start && instant < before.end) return before;
    // Unreachable for EST/EDT; kept so a surprising tz database fails loudly, not wrongly.
    const local = DateTime.fromMillis(instant, { zone: NYSE_TIME_ZONE });
    return this.#day(dayNumber(local.year, local.month, local.day));
  }

  #day(n: DayNumber): DayRecord {
    const cached = this.#days.get(n);
    if (cached !== undefined) return cached;
    // Years of simulated time stay far below this; it only bounds a process
    // that sweeps centuries of random instants.
    if (this.#days.size >= 50_000) this.#days.clear();
    const record = this.#buildDay(n);
    this.#days.set(n, record);
    return record;
  }

  #buildDay(n: DayNumber): DayRecord {
    const { year, month, day } = civilDate(n);
    const table = this.#year(year);
    const at = (minutes: number) =>
      DateTime.fromObject(
        { year, month, day, hour: Math.floor(minutes / 60), minute: minutes % 60 },
        { zone: NYSE_TIME_ZONE },
      ).toMillis();
    const start = at(0);
    const next = civilDate(n + 1);
    const end = DateTime.fromObject(
      { year: next.year, month: next.month, day: next.day },
      { zone: NYSE_TIME_ZONE },
    ).toMillis();
    const range = { start, end };
    const base = { date: formatDay(n), weekday: weekdayName(n), range };

    if (isWeekend(n)) {
      return nonTradingRecord(n, { ...base, status: 'weekend', earlyClose: false }, start, end);
    }
    const closure = table.closures.get(n);
    if (closure !== undefined) {
      const view: ExchangeDay = {
        ...base,
        status: 'holiday',
        reason: closure.reason,
        source: closure.source,
        earlyClose: false,
      };
      return nonTradingRecord(n, view, start, end);
    }

    const early = table.earlyCloses.get(n);
    const closeMinutes = early?.closeMinutes ?? REGULAR_CLOSE;
    const afterMinutes =
      early === undefined
        ? AFTER_HOURS_CLOSE
        : Math.min(closeMinutes + EARLY_AFTER_HOURS_LENGTH, AFTER_HOURS_CLOSE);
    // Trading hours never meet the 02:00-03:00 DST gap or fold, so each local
    // time maps to exactly one instant.
    const preOpen = at(PRE_MARKET_OPEN);
    const open = at(REGULAR_OPEN);
    const close = at(closeMinutes);
    const afterClose = at(afterMinutes);
    const sessions = {
      preMarket: { start: preOpen, end: open },
      regular: { start: open, end: close },
      afterHours: { start: close, end: afterClose },
    };
    const view: ExchangeDay =
      early === undefined
        ? { ...base, status: 'trading', earlyClose: false, sessions }
        : {
            ...base,
            status: 'trading',
            reason: early.reason,
            source: early.source,
            earlyClose: true,
            sessions,
          };
    return deepFreeze({ n, view, trading: true, start, end, preOpen, open, close, afterClose });
  }

  #year(year: number): YearTable {
    const cached = this.#years.get(year);
    if (cached !== undefined) return cached;
    assertRuleYear(year);
    const closures = new Map<DayNumber, DayNote>();
    const earlyCloses = new Map<DayNumber, DayNote>();
    for (const h of ruleHolidays(year)) closures.set(h.day, { reason: h.name, source: 'rule' });
    for (const e of ruleEarlyCloses(year)) {
      earlyCloses.set(e.day, { reason: e.name, source: 'rule', closeMinutes: EARLY_CLOSE_MINUTES });
    }
    for (const [n, o] of this.#overrides) {
      if (civilDate(n).year !== year) continue;
      closures.delete(n);
      earlyCloses.delete(n);
      if (o.kind === 'closed') closures.set(n, { reason: o.reason, source: 'override' });
      if (o.kind === 'early-close') {
        earlyCloses.set(n, { reason: o.reason, source: 'override', closeMinutes: o.closeMinutes });
      }
    }
    const table = { closures, earlyCloses };
    this.#years.set(year, table);
    return table;
  }
}

function openWindow(session: EquitySession, start: number, end: number): SessionWindow {
  return { session, start, end, nonTradingDays: [] };
}

function nonTradingRecord(n: DayNumber, view: ExchangeDay, start: number, end: number): DayRecord {
  return deepFreeze({
    n,
    view,
    trading: false,
    start,
    end,
    preOpen: Number.NaN,
    open: Number.NaN,
    close: Number.NaN,
    afterClose: Number.NaN,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function toMarketDates(map: ReadonlyMap<DayNumber, DayNote>): readonly MarketDate[] {
  return [...map.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, note]) =>
      note.closeMinutes === undefined
        ? { date: formatDay(n), reason: note.reason, source: note.source }
        : {
            date: formatDay(n),
            reason: note.reason,
            source: note.source,
            close: formatMinutes(note.closeMinutes),
          },
    );
}

function formatMinutes(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function assertInstant(instant: number): void {
  if (typeof instant !== 'number') {
    throw new TypeError(`an instant is epoch milliseconds (a number), got ${typeof instant}`);
  }
  if (!Number.isFinite(instant)) throw new RangeError(`not a finite instant: ${instant}`);
}

function toDayNumber(date: string | DateTime): DayNumber {
  if (typeof date === 'string') return parseDay(date);
  if (DateTime.isDateTime(date)) {
    if (!date.isValid)
      throw new RangeError(`invalid DateTime: ${date.invalidExplanation ?? date.invalidReason}`);
    return dayNumber(date.year, date.month, date.day);
  }
  throw new TypeError(`a date is "YYYY-MM-DD" or a luxon DateTime, got ${typeof date}`);
}

const HH_MM = /^(\d{2}):(\d{2})$/;

function normalizeOverrides(
  overrides: readonly CalendarOverride[],
): ReadonlyMap<DayNumber, NormalizedOverride> {
  const map = new Map<DayNumber, NormalizedOverride>();
  for (const o of overrides) {
    const where = `calendar override ${JSON.stringify(o.date)}`;
    const n = parseDay(o.date);
    const year = civilDate(n).year;
    if (year < FIRST_RULE_YEAR || year > LAST_RULE_YEAR) {
      throw new RangeError(`${where}: outside the years ${FIRST_RULE_YEAR}-${LAST_RULE_YEAR}`);
    }
    if (map.has(n)) throw new RangeError(`${where}: listed twice`);
    if (isWeekend(n))
      throw new RangeError(`${where}: a ${weekdayName(n)}, when the NYSE is closed anyway`);
    if (o.kind !== 'closed' && o.kind !== 'early-close' && o.kind !== 'full-day') {
      throw new RangeError(
        `${where}: kind must be closed, early-close or full-day, got ${String(o.kind)}`,
      );
    }
    if (typeof o.reason !== 'string' || o.reason.trim() === '') {
      throw new RangeError(`${where}: needs a reason`);
    }
    let closeMinutes = EARLY_CLOSE_MINUTES;
    if (o.close !== undefined) {
      if (o.kind !== 'early-close')
        throw new RangeError(`${where}: close applies to early-close only`);
      const match = HH_MM.exec(o.close);
      const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
      if (!(minutes > REGULAR_OPEN && minutes < REGULAR_CLOSE) || Number(match?.[2]) > 59) {
        throw new RangeError(
          `${where}: close must be "HH:MM" after 09:30 and before 16:00, got ${o.close}`,
        );
      }
      closeMinutes = minutes;
    }
    map.set(n, Object.freeze({ kind: o.kind, reason: o.reason, closeMinutes }));
  }
  return map;
}
