import type { RateLimitWindow } from './rate-limit-window.js';

/** What is left of one window's budget. */
export interface WindowBudget {
  readonly limit: number;
  readonly windowMs: number;
  /** Calls in the window now. */
  readonly used: number;
  /** Calls that would be granted now (never negative). */
  readonly remaining: number;
  /** Until the oldest call in the window leaves it (one more call fits then); 0 when empty. */
  readonly resetInMs: number;
}

export type LocalAcquireResult =
  { readonly granted: true } | { readonly granted: false; readonly retryAfterMs: number };

/**
 * An exact sliding-window log in memory: the time of every granted call,
 * per window, so that no interval of `windowMs` ever holds more than
 * `limit` calls. The Redis limiter runs the same algorithm in a Lua script;
 * this one serves the simulated upstream, limiters without Redis, and the
 * fallback while Redis is down.
 *
 * Each window keeps an ascending array of call times; a call made at `t`
 * counts while `t > now - windowMs`. Memory is one number per call in the
 * longest window (500/day is 500 numbers).
 */
export class SlidingWindowLog {
  readonly windows: readonly RateLimitWindow[];
  readonly #logs: number[][];

  constructor(windows: readonly RateLimitWindow[]) {
    this.windows = windows;
    this.#logs = windows.map(() => []);
  }

  /**
   * Grants `n` calls at `now` if every window has room for them (each limit
   * scaled by `share`) and, with `keep`, still has more than `keep` calls left
   * after them. A request no window could ever hold waits a whole window.
   */
  tryAcquire(now: number, n = 1, share = 1, keep?: number): LocalAcquireResult {
    // Calls that must stay in each window after the grant: none without `keep`.
    const reserve = keep === undefined ? 0 : keep + 1;
    let wait = 0;
    this.windows.forEach((window, i) => {
      const log = this.#prune(i, now);
      const limit = SlidingWindowLog.scaledLimit(window.limit, share);
      const excess = log.length + n + reserve - limit;
      if (excess <= 0) return;
      // The call fits once the `excess` oldest calls have left the window.
      const leaving = log[excess - 1];
      const windowWait =
        leaving === undefined ? window.windowMs : Math.max(1, leaving + window.windowMs - now);
      wait = Math.max(wait, windowWait);
    });
    if (wait > 0) return { granted: false, retryAfterMs: wait };
    this.record(now, n);
    return { granted: true };
  }

  /** Adds `n` calls at `at` without checking (calls granted elsewhere, e.g. through Redis). */
  record(at: number, n = 1): void {
    this.#logs.forEach((log) => {
      // Calls arrive in time order almost always; insert in place when they do not.
      let index = log.length;
      while (index > 0 && log[index - 1]! > at) index -= 1;
      log.splice(index, 0, ...Array.from({ length: n }, () => at));
    });
  }

  remaining(now: number, share = 1): WindowBudget[] {
    return this.windows.map((window, i) => {
      const log = this.#prune(i, now);
      const limit = SlidingWindowLog.scaledLimit(window.limit, share);
      const oldest = log[0];
      return {
        limit,
        windowMs: window.windowMs,
        used: log.length,
        remaining: Math.max(0, limit - log.length),
        resetInMs: oldest === undefined ? 0 : Math.max(0, oldest + window.windowMs - now),
      };
    });
  }

  /** A window's limit under a share of the budget; never below one call, or nothing would move. */
  static scaledLimit(limit: number, share: number): number {
    return share >= 1 ? limit : Math.max(1, Math.floor(limit * share));
  }

  #prune(i: number, now: number): number[] {
    const log = this.#logs[i]!;
    const cutoff = now - this.windows[i]!.windowMs;
    let expired = 0;
    while (expired < log.length && log[expired]! <= cutoff) expired += 1;
    if (expired > 0) log.splice(0, expired);
    return log;
  }
}
