import { PROFILE_BUCKETS } from './access-stats.js';

const HALF_HOUR_MS = 1_800_000;
const DAY_MS = 86_400_000;

/**
 * The half-hour bucket (0..47) of an instant on the wall clock of a time zone:
 * bucket 0 is 00:00-00:30 there. On a DST switch day the buckets are the
 * zone's own: in New York in March 02:00-03:00 never happens (buckets 4 and 5
 * get no reads), in November 01:00-02:00 happens twice (buckets 2 and 3 get
 * both).
 *
 * Hot path (every recorded read): the zone's UTC offset is looked up through
 * Intl once per UTC half-hour and remembered, so a read costs a division and
 * a comparison. This is sound because every zone's offset changes only on a
 * UTC half-hour boundary (transitions are at whole local hours or half hours
 * of offsets that are whole quarter hours; a 15-minute offset such as Nepal's
 * +05:45 has no transitions).
 */
export class ZoneBuckets {
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  #cachedHalfHour = Number.NaN;
  #cachedOffsetMs = 0;

  /** @throws RangeError for a time zone Intl does not know. */
  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The bucket (0..47) of an epoch-ms instant. */
  bucket(instant: number): number {
    const halfHour = Math.floor(instant / HALF_HOUR_MS);
    if (halfHour !== this.#cachedHalfHour) {
      this.#cachedOffsetMs = this.#offsetAt(halfHour * HALF_HOUR_MS);
      this.#cachedHalfHour = halfHour;
    }
    const local = instant + this.#cachedOffsetMs;
    const ofDay = ((local % DAY_MS) + DAY_MS) % DAY_MS;
    return Math.min(PROFILE_BUCKETS - 1, Math.floor(ofDay / HALF_HOUR_MS));
  }

  /** The zone's offset from UTC at an instant (ms, east positive). */
  #offsetAt(instant: number): number {
    const parts: Record<string, number> = {};
    for (const part of this.#format.formatToParts(instant)) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const wall = Date.UTC(
      parts.year!,
      parts.month! - 1,
      parts.day,
      parts.hour,
      parts.minute,
      parts.second,
    );
    return wall - (instant - (((instant % 1000) + 1000) % 1000));
  }
}
