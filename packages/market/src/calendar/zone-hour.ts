import { DateTime } from 'luxon';

/**
 * The wall-clock hour (0-23) of an instant in a time zone. On a DST switch
 * day the hours are the zone's own: 02:00 never happens in New York in
 * March, and 01:00 happens twice in November.
 */
export function hourInZone(instant: number, timeZone: string): number {
  return DateTime.fromMillis(instant, { zone: timeZone }).hour;
}
