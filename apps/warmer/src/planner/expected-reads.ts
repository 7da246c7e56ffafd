import { PROFILE_BUCKETS, PROFILE_BUCKET_MS } from '@fiml/cache';
import { NYSE_TIME_ZONE, hourInZone, type NyseCalendar, type TimeRange } from '@fiml/market';

const DAY_MS = 86_400_000;
/**
 * Trading days come about every 365.25/252 days: equity reads in session
 * buckets accrue on those days only, so per trading day they are that much
 * denser than the profile's all-days average.
 */
const TRADING_DAY_SPACING_MS = (365.25 / 252) * DAY_MS;
/**
 * Profile buckets of the equity day's extended hours, 04:00-20:00 ET
 * (buckets 8 to 39): reads there follow the sessions, so on a day without
 * them (weekend, holiday, the evening after an early close) they do not count.
 */
const FIRST_SESSION_BUCKET = 8;
const END_SESSION_BUCKET = 40;

/** One real half hour of a window (aligned to the exchange's half hours), clipped to the window. */
export interface WindowSlice {
  readonly start: number;
  readonly end: number;
  /** The profile bucket of its wall-clock time in the exchange zone. */
  readonly bucket: number;
  /** Whether an equity session (pre-market, regular, after-hours) is open in it. */
  readonly equityOpen: boolean;
}

/** Whether a profile bucket holds session-driven equity reads. */
export function isSessionBucket(bucket: number): boolean {
  return bucket >= FIRST_SESSION_BUCKET && bucket < END_SESSION_BUCKET;
}

/**
 * The exchange-zone profile bucket of an instant: wall-clock half hour,
 * 0 = 00:00-00:30. New York's offsets are whole hours, so the minute is the
 * UTC minute; the hour is the zone's own (02:00 never happens on the March
 * switch day, 01:00 happens twice in November).
 */
export function bucketAt(instant: number): number {
  const minuteOfHour = Math.floor((((instant % 3_600_000) + 3_600_000) % 3_600_000) / 60_000);
  return hourInZone(instant, NYSE_TIME_ZONE) * 2 + (minuteOfHour >= 30 ? 1 : 0);
}

/**
 * A window cut into real half hours, each with its wall-clock bucket and
 * whether equities trade in it. Computed once per run and shared by every key.
 */
export function sliceWindow(window: TimeRange, calendar: NyseCalendar): WindowSlice[] {
  const slices: WindowSlice[] = [];
  let cursor = Math.floor(window.start / PROFILE_BUCKET_MS) * PROFILE_BUCKET_MS;
  while (cursor < window.end) {
    const next = cursor + PROFILE_BUCKET_MS;
    const start = Math.max(cursor, window.start);
    const end = Math.min(next, window.end);
    if (end > start) {
      // Sessions change on half hours (04:00, 09:30, 13:00, 16:00, 17:00, 20:00), so one look suffices.
      const equityOpen = calendar.sessionAt(cursor, 'equity') !== 'closed';
      slices.push({ start, end, bucket: bucketAt(cursor), equityOpen });
    }
    cursor = next;
  }
  return slices;
}

/**
 * Reads of one key per occurrence of each profile bucket, from its decayed
 * profile. A decayed sum over a steady stream of r reads per period S equals
 * r × τ / S on average (τ = half-life / ln 2), so r = profile[b] × S / τ:
 * S is a day for every bucket of crypto and the night buckets of equities,
 * and the mean spacing of trading days for equity session buckets. Exact on
 * average over the phase; a half-life of a few days keeps it stable.
 */
export function readsPerOccurrence(
  profile: readonly number[],
  isEquity: boolean,
  halfLifeMs: number,
  decay: number,
): Float64Array {
  const tau = halfLifeMs / Math.LN2;
  const perDay = (DAY_MS / tau) * decay;
  const perTradingDay = (TRADING_DAY_SPACING_MS / tau) * decay;
  const rates = new Float64Array(PROFILE_BUCKETS);
  for (let b = 0; b < PROFILE_BUCKETS; b++) {
    const count = profile[b] ?? 0;
    rates[b] = count * (isEquity && isSessionBucket(b) ? perTradingDay : perDay);
  }
  return rates;
}

/**
 * Reads expected in [from, to) (clipped to the slices): each slice adds its
 * bucket's rate times the share of the half hour it covers; for equities a
 * session bucket adds nothing in a slice where no session is open.
 */
export function expectedReadsBetween(
  rates: Float64Array,
  slices: readonly WindowSlice[],
  isEquity: boolean,
  from: number,
  to: number,
): number {
  let sum = 0;
  for (const slice of slices) {
    const start = Math.max(slice.start, from);
    const end = Math.min(slice.end, to);
    if (end <= start) continue;
    if (isEquity && !slice.equityOpen && isSessionBucket(slice.bucket)) continue;
    sum += rates[slice.bucket]! * ((end - start) / PROFILE_BUCKET_MS);
  }
  return sum;
}
