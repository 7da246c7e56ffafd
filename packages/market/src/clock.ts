/**
 * The clock module: the one place in the packages that reads the wall clock.
 * Everything else takes a {@link Clock}, so TTL, market hours, warming and
 * batching run on frozen and advanced clocks in tests and in virtual time in
 * the simulators.
 */

/** Milliseconds since the Unix epoch, UTC. */
export interface Clock {
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that moves only when told to: for tests and simulators. */
export class ManualClock implements Clock {
  #now: number;

  /** @param start epoch ms, or an ISO 8601 instant with an offset ("2026-11-27T09:30:00-05:00") */
  constructor(start: number | string) {
    this.#now = ManualClock.#toMillis(start);
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock forward by `ms` (never backward: a negative step is a bug in the test). */
  advance(ms: number): this {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`advance(ms): ms must be a finite number >= 0, got ${ms}`);
    }
    this.#now += ms;
    return this;
  }

  /** Sets the clock to an instant. */
  set(instant: number | string): this {
    this.#now = ManualClock.#toMillis(instant);
    return this;
  }

  static #toMillis(instant: number | string): number {
    const ms = typeof instant === 'number' ? instant : Date.parse(instant);
    if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(instant)}`);
    if (typeof instant === 'string' && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(instant)) {
      throw new RangeError(`an ISO instant needs an offset or Z, got ${instant}`);
    }
    return ms;
  }
}
