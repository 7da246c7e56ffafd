/**
 * Whether warming paid: a warmed entry read before it expires was `used`;
 * one that expired unread was `wasted`; one still fresh and unread is
 * `pending` (it may yet be used). Precision = used / (used + wasted): pending
 * entries are left out until they are decided, so the figure never counts a
 * bet that has not played out.
 */

/** One value the warmer caused to be written. */
export interface WarmedEntry {
  readonly key: string;
  /** When the refreshed value was fetched: identifies it among the key's values. */
  readonly fetchedAt: number;
  /** When it stops being fresh. */
  readonly expiresAt: number;
}

/** One successful read, with the value it was served. */
export interface ServedRead {
  readonly key: string;
  readonly at: number;
  /** The `fetchedAt` of the entry that answered it. */
  readonly fetchedAt: number;
}

export type WarmOutcome = 'used' | 'wasted' | 'pending';

export interface PrecisionReport {
  readonly used: number;
  readonly wasted: number;
  readonly pending: number;
  /** used / (used + wasted); undefined while nothing is decided. */
  readonly precision: number | undefined;
  /** Each warmed entry's outcome, in input order. */
  readonly outcomes: readonly { readonly entry: WarmedEntry; readonly outcome: WarmOutcome }[];
}

const identity = (key: string, fetchedAt: number): string => `${fetchedAt}\u0000${key}`;

/** The outcome of each warmed entry as of `now`, and the precision they add up to. */
export function accountPrecision(
  warmed: readonly WarmedEntry[],
  reads: readonly ServedRead[],
  now: number,
): PrecisionReport {
  // The first read of each served value; a read of it before it expired makes it used.
  const firstRead = new Map<string, number>();
  for (const read of reads) {
    const id = identity(read.key, read.fetchedAt);
    const seen = firstRead.get(id);
    if (seen === undefined || read.at < seen) firstRead.set(id, read.at);
  }
  let used = 0;
  let wasted = 0;
  let pending = 0;
  const outcomes = warmed.map((entry) => {
    const at = firstRead.get(identity(entry.key, entry.fetchedAt));
    const outcome = warmOutcome(entry, at, now);
    if (outcome === 'used') used += 1;
    else if (outcome === 'wasted') wasted += 1;
    else pending += 1;
    return { entry, outcome };
  });
  const decided = used + wasted;
  return { used, wasted, pending, precision: decided === 0 ? undefined : used / decided, outcomes };
}

/** One entry's outcome given the instant of its first read (undefined: none yet). */
export function warmOutcome(
  entry: WarmedEntry,
  firstReadAt: number | undefined,
  now: number,
): WarmOutcome {
  if (firstReadAt !== undefined && firstReadAt >= entry.fetchedAt && firstReadAt < entry.expiresAt)
    return 'used';
  return now >= entry.expiresAt ? 'wasted' : 'pending';
}
