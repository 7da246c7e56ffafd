/**
 * Calendar dates without a time zone, as day numbers: days since 1970-01-01.
 *
 * The holiday rules are pure date arithmetic ("third Monday of January"), so
 * they run on integers instead of luxon DateTimes: cheaper, and no time zone
 * can leak into a question that has none. luxon is used only where a local
 * wall-clock time has to become an instant (see nyse-calendar.ts).
 */

/** Days since 1970-01-01 (a Thursday). */
export type DayNumber = number;

export interface CivilDate {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  /** 1-31 */
  readonly day: number;
}

/** Weekday numbers as luxon and ISO 8601 count them: Monday 1 ... Sunday 7. */
export const MONDAY = 1;
export const THURSDAY = 4;
export const FRIDAY = 5;
export const SATURDAY = 6;
export const SUNDAY = 7;

const WEEKDAY_NAMES = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
];

/**
 * Howard Hinnant's days_from_civil (proleptic Gregorian calendar), exact for
 * every year a market calendar will ask about.
 */
export function dayNumber(year: number, month: number, day: number): DayNumber {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12; // March = 0, so the leap day is the last day of the year
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The inverse of {@link dayNumber}. */
export function civilDate(n: DayNumber): CivilDate {
  const z = n + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: era * 400 + yoe + (month <= 2 ? 1 : 0), month, day };
}

/** ISO weekday of a day number: Monday 1 ... Sunday 7. */
export function weekday(n: DayNumber): number {
  // 1970-01-01 was a Thursday (4); the double modulo keeps negative days right.
  return ((((n + 3) % 7) + 7) % 7) + 1;
}

export function weekdayName(n: DayNumber): string {
  return WEEKDAY_NAMES[weekday(n) - 1] ?? '';
}

export function isWeekend(n: DayNumber): boolean {
  return weekday(n) >= SATURDAY;
}

/** "YYYY-MM-DD" */
export function formatDay(n: DayNumber): string {
  const { year, month, day } = civilDate(n);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parses a strict "YYYY-MM-DD" date. Throws a RangeError for anything else,
 * including dates that do not exist ("2026-02-30"): a calendar that silently
 * rolled them over would answer a question nobody asked.
 */
export function parseDay(text: string): DayNumber {
  const match = ISO_DATE.exec(text);
  if (!match) throw new RangeError(`not a date in the form YYYY-MM-DD: ${JSON.stringify(text)}`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const n = dayNumber(year, month, day);
  const back = civilDate(n);
  if (month < 1 || month > 12 || back.month !== month || back.day !== day) {
    throw new RangeError(`no such date: ${text}`);
  }
  return n;
}

/** The n-th (1-based) given weekday of a month: nthWeekday(2026, 11, THURSDAY, 4) is Thanksgiving. */
export function nthWeekday(
  year: number,
  month: number,
  isoWeekday: number,
  nth: number,
): DayNumber {
  const first = dayNumber(year, month, 1);
  const offset = (isoWeekday - weekday(first) + 7) % 7;
  return first + offset + (nth - 1) * 7;
}

/** The last given weekday of a month: lastWeekday(2026, 5, MONDAY) is Memorial Day. */
export function lastWeekday(year: number, month: number, isoWeekday: number): DayNumber {
  const last = (month === 12 ? dayNumber(year + 1, 1, 1) : dayNumber(year, month + 1, 1)) - 1;
  const offset = (weekday(last) - isoWeekday + 7) % 7;
  return last - offset;
}

/** Easter Sunday (Gregorian), by the anonymous ("Meeus/Jones/Butcher") computus. */
export function easterSunday(year: number): DayNumber {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return dayNumber(year, month, day);
}
