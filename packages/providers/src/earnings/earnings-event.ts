import { SYMBOL_PATTERN, type NyseCalendar } from '@fiml/market';
import { z } from 'zod';

/**
 * When, relative to the exchange's sessions, a company releases its results:
 * before the open (most US large caps), after the close, during the session
 * (rare), or not said (a calendar that only knows the date).
 */
export const EARNINGS_SESSIONS = [
  'before-open',
  'during-session',
  'after-close',
  'unknown',
] as const;
export type EarningsSession = (typeof EARNINGS_SESSIONS)[number];

/**
 * One scheduled earnings release, as every calendar source reports it. The
 * wire schema (the simulator's `/v1/earnings` body and anything read back)
 * is the definition; `provider` is added by the adapter that fetched it.
 */
export const earningsEventSchema = z.object({
  symbol: z.string().regex(SYMBOL_PATTERN, 'not a normalized symbol'),
  assetType: z.literal('equity'),
  /** The exchange-local date of the release, YYYY-MM-DD (America/New_York). */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'not a YYYY-MM-DD date'),
  session: z.enum(EARNINGS_SESSIONS),
  /**
   * Epoch ms the market first meets the news (see {@link earningsInstant}):
   * that day's open for before-open, during-session and unknown releases,
   * its close (13:00 on an early-close day) for after-close ones.
   */
  at: z.number().int().nonnegative(),
});
export type EarningsWireEvent = z.output<typeof earningsEventSchema>;

/** An earnings release with the provider that reported it. */
export interface EarningsEvent extends EarningsWireEvent {
  readonly provider: string;
}

/**
 * The instant an earnings release meets the market: the date's regular open
 * (before-open, during-session, unknown) or close (after-close). A date the
 * exchange does not trade on (a calendar that put a release on a holiday)
 * maps to the next open: that is when prices can first move on it.
 */
export function earningsInstant(
  calendar: NyseCalendar,
  date: string,
  session: EarningsSession,
): number {
  const day = calendar.exchangeDay(date);
  const regular = day.sessions?.regular;
  if (!regular) return calendar.nextOpen(day.range.start);
  return session === 'after-close' ? regular.end : regular.start;
}

/** Same release reported twice (two providers, two pages): one key per symbol and date. */
export function earningsKey(event: Pick<EarningsWireEvent, 'symbol' | 'date'>): string {
  return `${event.symbol}@${event.date}`;
}

/**
 * The exchange dates (YYYY-MM-DD, America/New_York) of two instants: the
 * day range a calendar request covers. Throws RangeError when `to` is before `from`.
 */
export function exchangeDateRange(
  calendar: NyseCalendar,
  from: number,
  to: number,
): { readonly from: string; readonly to: string } {
  if (!(to >= from)) throw new RangeError(`earnings calendar: to (${to}) is before from (${from})`);
  return { from: calendar.exchangeDayAt(from).date, to: calendar.exchangeDayAt(to).date };
}
