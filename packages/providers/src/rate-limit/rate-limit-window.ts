/**
 * A rate limit: at most `limit` calls in any interval of `windowMs`. A
 * provider has several at once (5 per minute and 500 per day); a call must
 * fit in every one.
 */
export interface RateLimitWindow {
  readonly limit: number;
  readonly windowMs: number;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  // Providers bill by calendar month; a rolling 30 days is the stricter reading.
  month: 30 * 86_400_000,
};

/**
 * Parses "5/min+500/day" (also "30/s", "10000/month", "100/15min"): windows
 * joined by "+". Throws a RangeError naming the bad part.
 */
export function parseRateLimits(text: string): RateLimitWindow[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  return trimmed.split('+').map((part) => {
    const match = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+)\s*$/i.exec(part);
    const unit = match ? UNIT_MS[match[3]!.toLowerCase()] : undefined;
    if (!match || unit === undefined) {
      throw new RangeError(
        `not a rate limit: "${part.trim()}" (expected like 5/min, 500/day, 30/s, 100/15min)`,
      );
    }
    const limit = Number(match[1]);
    const multiple = match[2] ? Number(match[2]) : 1;
    if (limit < 1 || multiple < 1)
      throw new RangeError(`not a rate limit: "${part.trim()}" (zero)`);
    return { limit, windowMs: unit * multiple };
  });
}

/** "5/min+500/day": the inverse of {@link parseRateLimits}, for logs and docs. */
export function formatRateLimits(windows: readonly RateLimitWindow[]): string {
  return windows
    .map(({ limit, windowMs }) => {
      for (const [unit, ms] of [
        ['day', 86_400_000],
        ['h', 3_600_000],
        ['min', 60_000],
        ['s', 1_000],
      ] as const) {
        if (windowMs % ms === 0) {
          const n = windowMs / ms;
          return `${limit}/${n === 1 ? '' : n}${unit}`;
        }
      }
      return `${limit}/${windowMs}ms`;
    })
    .join('+');
}

/** Throws a RangeError unless every window has a positive integer limit and duration. */
export function assertValidWindows(providerId: string, windows: readonly RateLimitWindow[]): void {
  for (const w of windows) {
    if (
      !Number.isInteger(w.limit) ||
      w.limit < 1 ||
      !Number.isInteger(w.windowMs) ||
      w.windowMs < 1
    ) {
      throw new RangeError(
        `${providerId}: a rate limit needs a positive integer limit and windowMs, got ${JSON.stringify(w)}`,
      );
    }
  }
}
