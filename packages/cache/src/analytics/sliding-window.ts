import { LogLinearHistogram, type LogLinearHistogramOptions } from './log-linear-histogram.js';

/**
 * Sliding windows as rings of time slots: a window of `spanMs` is `slots`
 * slots of `spanMs / slots` each, and a slot remembers which period of the
 * clock it holds. Recording into a slot whose period has passed clears it
 * first, so memory is fixed at construction however long the process runs
 * and however many values arrive. A read sums the slots of the last `slots`
 * periods, the current one included: the window covers between
 * `spanMs - slotMs` and `spanMs` of history.
 */

/** Which period of the clock a slot holds: floor(now / slotMs). */
function periodOf(now: number, slotMs: number): number {
  return Math.floor(now / slotMs);
}

/** A ring of slots, each holding a fixed row of counters (one per field). */
export class SlidingCounters {
  readonly slotMs: number;
  readonly slots: number;
  readonly fields: number;
  /** values[slot * fields + field] */
  readonly #values: Float64Array;
  /** The clock period each slot holds; -1 for a slot never written. */
  readonly #periods: Float64Array;

  constructor(spanMs: number, slots: number, fields: number) {
    if (!(slots >= 1) || !Number.isInteger(slots)) throw new RangeError(`slots: ${slots}`);
    if (!(spanMs > 0)) throw new RangeError(`spanMs: ${spanMs}`);
    this.slotMs = spanMs / slots;
    this.slots = slots;
    this.fields = fields;
    this.#values = new Float64Array(slots * fields);
    this.#periods = new Float64Array(slots).fill(-1);
  }

  /** Bytes held, constant for the ring's life. */
  get byteLength(): number {
    return this.#values.byteLength + this.#periods.byteLength;
  }

  /**
   * The offset of the current slot's row, clearing the slot when it held an
   * older period. Hot path: one division, one modulo, usually no clearing.
   */
  row(now: number): number {
    const period = periodOf(now, this.slotMs);
    const slot = period % this.slots;
    const base = slot * this.fields;
    if (this.#periods[slot] !== period) {
      this.#periods[slot] = period;
      this.#values.fill(0, base, base + this.fields);
    }
    return base;
  }

  add(now: number, field: number, amount = 1): void {
    const i = this.row(now) + field;
    this.#values[i] = this.#values[i]! + amount;
  }

  /** Adds to a field of a row from {@link row} (several fields of one event, one slot lookup). */
  addAt(row: number, field: number, amount = 1): void {
    const i = row + field;
    this.#values[i] = this.#values[i]! + amount;
  }

  /** Sums every field over the window ending now into `out` (length >= fields). */
  sum(now: number, out: Float64Array): Float64Array {
    out.fill(0, 0, this.fields);
    const current = periodOf(now, this.slotMs);
    for (let slot = 0; slot < this.slots; slot++) {
      const period = this.#periods[slot]!;
      // Only the last `slots` periods; a slot from the future (the clock went
      // back) is ignored rather than trusted.
      if (period < 0 || period > current || period <= current - this.slots) continue;
      const base = slot * this.fields;
      for (let f = 0; f < this.fields; f++) out[f] = out[f]! + this.#values[base + f]!;
    }
    return out;
  }
}

/** A ring of histograms: the latency distribution over a sliding window. */
export class SlidingHistogram {
  readonly slotMs: number;
  readonly slots: number;
  readonly #histograms: LogLinearHistogram[];
  readonly #periods: Float64Array;

  /** `options` are the histograms' layout; slot histograms are always compact. */
  constructor(spanMs: number, slots: number, options: LogLinearHistogramOptions = {}) {
    if (!(slots >= 1) || !Number.isInteger(slots)) throw new RangeError(`slots: ${slots}`);
    this.slotMs = spanMs / slots;
    this.slots = slots;
    this.#histograms = Array.from(
      { length: slots },
      () => new LogLinearHistogram({ ...options, compact: true }),
    );
    this.#periods = new Float64Array(slots).fill(-1);
  }

  /** Histograms held (constant). */
  get histogramCount(): number {
    return this.#histograms.length;
  }

  get byteLength(): number {
    let bytes = this.#periods.byteLength;
    for (const h of this.#histograms) bytes += h.byteLength;
    return bytes;
  }

  /** Adds a value whose bucket index is already known (see LogLinearHistogram.bucketIndex). */
  addToBucket(now: number, index: number, value: number): void {
    const period = periodOf(now, this.slotMs);
    const slot = period % this.slots;
    const histogram = this.#histograms[slot]!;
    if (this.#periods[slot] !== period) {
      this.#periods[slot] = period;
      histogram.reset();
    }
    histogram.addToBucket(index, value);
  }

  /** Merges the window ending now into `target` (which the caller resets). */
  mergeInto(now: number, target: LogLinearHistogram): LogLinearHistogram {
    const current = periodOf(now, this.slotMs);
    for (let slot = 0; slot < this.slots; slot++) {
      const period = this.#periods[slot]!;
      if (period < 0 || period > current || period <= current - this.slots) continue;
      target.merge(this.#histograms[slot]!);
    }
    return target;
  }
}
