import {
  FRIDAY,
  MONDAY,
  SATURDAY,
  SUNDAY,
  THURSDAY,
  civilDate,
  dayNumber,
  easterSunday,
  formatDay,
  lastWeekday,
  nthWeekday,
  weekday,
  type DayNumber,
} from './civil-date.js';

/**
 * The NYSE's holiday and early-close rules (NYSE Rule 7.2 and the Exchange's
 * published calendars), as pure functions of the year. The calendar class
 * layers ad-hoc overrides on top; these functions never change at run time.
 *
 * Decisions, each checked against the published calendars for 2025-2028:
 * - A holiday on a Saturday is observed on the preceding Friday, one on a
 *   Sunday on the following Monday.
 * - Month-end exception: Rule 7.2 keeps the Exchange open on that Friday when
 *   it ends a monthly or yearly accounting period. Of today's holidays only New
 *   Year's Day can hit it (Saturday January 1 would move to Friday December 31),
 *   so there is no closure at all that year (2022, 2028, 2033 ...). The rule is
 *   written generally (the Friday is in another month) rather than as a
 *   New-Year special case, so it stays right if a 1st-of-month holiday is added.
 * - Juneteenth is a holiday from 2022, the first year the NYSE observed it.
 * - Early closes (13:00) fall on the day before Independence Day, the day after
 *   Thanksgiving and Christmas Eve, each only when that day is itself a normal
 *   weekday trading day. So: no early close on Thursday July 2 when July 3 is
 *   the observed holiday (2026), none on Friday July 2 when July 4 is a Sunday
 *   (2027), none on the Friday before a weekend Christmas Eve (2022, 2023,
 *   2028). This is what the NYSE published for 2015, 2020, 2021 and 2026-2028.
 */

/** Years the rules are stated for: MLK Day joined the NYSE calendar in 1998. */
export const FIRST_RULE_YEAR = 1998;
export const LAST_RULE_YEAR = 2199;

/** Early closes end the regular session at 13:00 local time, in minutes after midnight. */
export const EARLY_CLOSE_MINUTES = 13 * 60;

export interface RuleDay {
  readonly day: DayNumber;
  readonly name: string;
  /** True when the holiday was moved off a weekend to this day. */
  readonly observed: boolean;
}

export function assertRuleYear(year: number): void {
  if (!Number.isInteger(year) || year < FIRST_RULE_YEAR || year > LAST_RULE_YEAR) {
    throw new RangeError(
      `the NYSE calendar covers the years ${FIRST_RULE_YEAR}-${LAST_RULE_YEAR}, got ${year}`,
    );
  }
}

/**
 * Where a fixed-date holiday is observed, or undefined when the month-end
 * exception means it is not observed at all.
 */
function observe(actual: DayNumber, name: string): RuleDay | undefined {
  const wd = weekday(actual);
  if (wd === SATURDAY) {
    const friday = actual - 1;
    if (civilDate(friday).month !== civilDate(actual).month) return undefined;
    return { day: friday, name, observed: true };
  }
  if (wd === SUNDAY) return { day: actual + 1, name, observed: true };
  return { day: actual, name, observed: false };
}

/** Full-day NYSE holidays of a year by rule, in date order. */
export function ruleHolidays(year: number): RuleDay[] {
  assertRuleYear(year);
  const fixed = (month: number, day: number, name: string) =>
    observe(dayNumber(year, month, day), name);
  const floating = (day: DayNumber, name: string): RuleDay => ({ day, name, observed: false });
  const days: (RuleDay | undefined)[] = [
    fixed(1, 1, "New Year's Day"),
    floating(nthWeekday(year, 1, MONDAY, 3), 'Martin Luther King, Jr. Day'),
    floating(nthWeekday(year, 2, MONDAY, 3), "Washington's Birthday"),
    floating(easterSunday(year) - 2, 'Good Friday'),
    floating(lastWeekday(year, 5, MONDAY), 'Memorial Day'),
    year >= 2022 ? fixed(6, 19, 'Juneteenth National Independence Day') : undefined,
    fixed(7, 4, 'Independence Day'),
    floating(nthWeekday(year, 9, MONDAY, 1), 'Labor Day'),
    floating(nthWeekday(year, 11, THURSDAY, 4), 'Thanksgiving Day'),
    fixed(12, 25, 'Christmas Day'),
  ];
  // A Sunday New Year's Day of the *next* year is observed on Monday January 2
  // of that year, so nothing from year+1 spills back into this one; the Saturday
  // case spills nothing either (month-end exception). The list stays per-year.
  return days.filter((d): d is RuleDay => d !== undefined).sort((a, b) => a.day - b.day);
}

/** 13:00 early closes of a year by rule, in date order. */
export function ruleEarlyCloses(year: number): RuleDay[] {
  assertRuleYear(year);
  const holidays = new Set(ruleHolidays(year).map((h) => h.day));
  const isWeekdayTradingDay = (day: DayNumber) => weekday(day) <= FRIDAY && !holidays.has(day);
  const candidates: RuleDay[] = [
    { day: dayNumber(year, 7, 3), name: 'Day before Independence Day', observed: false },
    {
      day: nthWeekday(year, 11, THURSDAY, 4) + 1,
      name: 'Day after Thanksgiving',
      observed: false,
    },
    { day: dayNumber(year, 12, 24), name: 'Christmas Eve', observed: false },
  ];
  return candidates.filter((c) => isWeekdayTradingDay(c.day));
}

/** A rule-computed market day, with its date as text. */
export interface NyseRuleDate {
  /** Exchange-local date, "YYYY-MM-DD". */
  readonly date: string;
  readonly name: string;
  /** True when a weekend holiday was moved to this day. */
  readonly observed: boolean;
}

/**
 * The full-day holidays the NYSE rules give for a year, without ad-hoc
 * closures (see {@link NyseCalendar} for those).
 */
export function nyseRuleHolidays(year: number): readonly NyseRuleDate[] {
  return ruleHolidays(year).map(toRuleDate);
}

/** The 13:00 early closes the NYSE rules give for a year, without overrides. */
export function nyseRuleEarlyCloses(year: number): readonly NyseRuleDate[] {
  return ruleEarlyCloses(year).map(toRuleDate);
}

function toRuleDate(d: RuleDay): NyseRuleDate {
  return { date: formatDay(d.day), name: d.name, observed: d.observed };
}
