import type { EquitySession, NyseCalendar, TimeRange } from '@fiml/market';
import { CronExpressionParser } from 'cron-parser';

const MINUTE_MS = 60_000;
/** Scan bound for the next trading day (the calendar refuses gaps of a month). */
const MAX_DAYS_AHEAD = 31;

/**
 * When the pre-open run of an exchange date happens: `minutes` before its
 * regular open (09:30 ET). Undefined on a weekend or holiday (Thanksgiving
 * has no pre-open run) and when `minutes` is 0 (CACHE_WARMING_PREOPEN_MINUTES=0
 * turns it off).
 */
export function preOpenRunAt(
  day: string,
  calendar: NyseCalendar,
  minutes: number,
): number | undefined {
  if (!(minutes > 0)) return undefined;
  const open = calendar.exchangeDay(day).sessions?.regular.start;
  return open === undefined ? undefined : open - minutes * MINUTE_MS;
}

/**
 * The first pre-open run strictly after `after`: today's when it is still to
 * come, else the next trading day's. Undefined when `minutes` is 0. For
 * scheduling the run as a delayed job.
 */
export function nextPreOpenRunAt(
  after: number,
  calendar: NyseCalendar,
  minutes: number,
): number | undefined {
  if (!(minutes > 0)) return undefined;
  let day = calendar.exchangeDayAt(after);
  for (let i = 0; i <= MAX_DAYS_AHEAD; i++) {
    const at = preOpenRunAt(day.date, calendar, minutes);
    if (at !== undefined && at > after) return at;
    day = calendar.exchangeDayAt(day.range.end);
  }
  return undefined;
}

/**
 * The reads a pre-open run prepares for: the first `lengthMs` of the date's
 * regular session (the opening rush). Undefined on a non-trading day.
 * @param lengthMs @defaultValue 1_800_000 (30 minutes)
 */
export function openWindow(
  day: string,
  calendar: NyseCalendar,
  lengthMs = 30 * MINUTE_MS,
): TimeRange | undefined {
  const regular = calendar.exchangeDay(day).sessions?.regular;
  if (regular === undefined) return undefined;
  return { start: regular.start, end: Math.min(regular.end, regular.start + lengthMs) };
}

/**
 * Whether the equity market is in session at an instant, for refresh-ahead.
 * By default the regular session only (09:30 to the close, 13:00 on early
 * closes); pass the sessions to include pre-market or after-hours.
 */
export function inSession(
  now: number,
  calendar: NyseCalendar,
  sessions: readonly EquitySession[] = ['regular'],
): boolean {
  return sessions.includes(calendar.sessionWindowAt(now).session);
}

/**
 * The window a refresh-ahead run covers: until the next run, plus `lagMs`
 * for the refresh to land (the batch-scheduler's flush and the upstream
 * call). Undefined when refresh-ahead is off (0 seconds).
 * @param lagMs @defaultValue 10_000
 */
export function refreshAheadWindow(
  now: number,
  intervalSeconds: number,
  lagMs = 10_000,
): TimeRange | undefined {
  if (!(intervalSeconds > 0)) return undefined;
  return { start: now, end: now + intervalSeconds * 1000 + lagMs };
}

/**
 * The next tick of a cron pattern (CACHE_WARMING_SCHEDULE, already validated)
 * in a time zone, strictly after `after`: the end of a scheduled run's window.
 */
export function nextScheduledRunAt(pattern: string, timeZone: string, after: number): number {
  return CronExpressionParser.parse(pattern, { currentDate: after, tz: timeZone }).next().getTime();
}
