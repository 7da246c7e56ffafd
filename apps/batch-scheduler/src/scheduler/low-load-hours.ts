import { hourInZone } from '@fiml/market';

/** Whether `now` falls in one of the low-load hours (0-23) on the exchange's wall clock. */
export function inLowLoadHour(now: number, hours: readonly number[], timeZone: string): boolean {
  return hours.length > 0 && hours.includes(hourInZone(now, timeZone));
}
