/**
 * A log-linear histogram in the manner of HdrHistogram: every power of two of
 * the value range is split into the same number of linear sub-buckets, so a
 * bucket's width is a fixed fraction of the values it holds. That bounds the
 * relative error of any quantile whatever the distribution, in constant
 * memory, and two histograms with the same layout merge by adding counts.
 */

export interface LogLinearHistogramOptions {
  /**
   * The smallest difference told apart, in the unit recorded (milliseconds
   * for latencies). Values from `resolution * subBuckets` up have the
   * relative error bound; below that, the error is at most half a resolution.
   * @defaultValue 0.00001 (10 ns, so the bound holds from 0.64 µs)
   */
  readonly resolution?: number;
  /**
   * The largest value tracked. Larger values are counted at this value (and
   * in {@link LogLinearHistogram.clamped}) rather than dropped.
   * @defaultValue 3600000 (one hour in milliseconds)
   */
  readonly highest?: number;
  /**
   * Linear sub-buckets per power of two: a power of two, at least 2. A
   * quantile is reported as its bucket's midpoint, so its relative error is
   * at most `1 / (2 * subBuckets)`: 0.78 % with the default.
   * @defaultValue 64
   */
  readonly subBuckets?: number;
  /**
   * Keep counts in 32-bit integers (half the memory). For histograms that
   * cover a bounded span of time, such as one slot of a sliding window, where
   * no bucket can reach 2^32; lifetime histograms keep 64-bit floats (exact
   * to 2^53).
   * @defaultValue false
   */
  readonly compact?: boolean;
}

/** A histogram's bucket layout; histograms merge only when their layouts are equal. */
export interface HistogramLayout {
  readonly resolution: number;
  readonly highest: number;
  readonly subBuckets: number;
  readonly bucketCount: number;
}

/** The layout for a set of options, without allocating a histogram. */
export function histogramLayout(options: LogLinearHistogramOptions = {}): HistogramLayout {
  const resolution = options.resolution ?? 0.00001;
  const highest = options.highest ?? 3_600_000;
  const subBuckets = options.subBuckets ?? 64;
  if (!(resolution > 0) || !Number.isFinite(resolution)) {
    throw new RangeError(`resolution must be a finite number > 0, got ${resolution}`);
  }
  // At most 2^20: the sub-bucket comes from the 20 mantissa bits in a double's high word.
  if (!(subBuckets >= 2 && subBuckets <= 2 ** 20) || !Number.isInteger(Math.log2(subBuckets))) {
    throw new RangeError(`subBuckets must be a power of two from 2 to 2^20, got ${subBuckets}`);
  }
  if (!(highest >= resolution * subBuckets * 2) || !Number.isFinite(highest)) {
    throw new RangeError(
      `highest must be finite and at least resolution * subBuckets * 2 (${resolution * subBuckets * 2}), got ${highest}`,
    );
  }
  const subBits = Math.log2(subBuckets);
  const topExponent = exponentOf(highest / resolution);
  // One linear run of `subBuckets` unit-wide buckets below 2^subBits, then
  // `subBuckets` buckets per power of two from 2^subBits to the top one.
  const bucketCount = subBuckets + (topExponent - subBits + 1) * subBuckets;
  return { resolution, highest, subBuckets, bucketCount };
}

/** floor(log2(units)) for units >= 1, corrected for Math.log2 rounding near powers of two. */
function exponentOf(units: number): number {
  let e = Math.floor(Math.log2(units));
  if (2 ** e > units) e -= 1;
  else if (2 ** (e + 1) <= units) e += 1;
  return e;
}

// The hot path reads a double's exponent and top mantissa bits straight from
// its IEEE 754 bits (as HdrHistogram's DoubleHistogram does) instead of
// calling Math.log2 and Math.pow: exact at powers of two and ~10x faster.
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the word holding sign, exponent and the top 20 mantissa bits. */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

export class LogLinearHistogram {
  readonly layout: HistogramLayout;
  readonly #counts: Float64Array | Uint32Array;
  readonly #subBuckets: number;
  readonly #subBits: number;
  readonly #resolution: number;
  readonly #highestUnits: number;
  #count = 0;
  #sum = 0;
  #clamped = 0;

  constructor(options: LogLinearHistogramOptions = {}) {
    this.layout = histogramLayout(options);
    this.#counts = options.compact
      ? new Uint32Array(this.layout.bucketCount)
      : new Float64Array(this.layout.bucketCount);
    this.#subBuckets = this.layout.subBuckets;
    this.#subBits = Math.log2(this.#subBuckets);
    this.#resolution = this.layout.resolution;
    this.#highestUnits = this.layout.highest / this.layout.resolution;
  }

  /** Values recorded. */
  get count(): number {
    return this.#count;
  }

  /** Sum of the values recorded (as given, before bucketing), for the mean. */
  get sum(): number {
    return this.#sum;
  }

  /** Values above `highest` that were counted at `highest`. */
  get clamped(): number {
    return this.#clamped;
  }

  /** Arithmetic mean of the values recorded; NaN when empty. */
  get mean(): number {
    return this.#count === 0 ? Number.NaN : this.#sum / this.#count;
  }

  /** Bytes held by the bucket array (the histogram's memory, constant for its life). */
  get byteLength(): number {
    return this.#counts.byteLength;
  }

  /** Records a value (>= 0, finite). */
  record(value: number, count = 1): void {
    this.addToBucket(this.bucketIndex(value), value, count);
  }

  /**
   * The bucket a value falls in. Split from {@link addToBucket} so a caller
   * recording one value into several histograms of one layout (the slots of
   * sliding windows) computes the logarithm once. Hot path.
   */
  bucketIndex(value: number): number {
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY) {
      throw new RangeError(`a histogram records finite values >= 0, got ${value}`);
    }
    const S = this.#subBuckets;
    let units = value / this.#resolution;
    if (units > this.#highestUnits) units = this.#highestUnits;
    // Below 2^subBits the buckets are one resolution wide: index = floor(units).
    if (units < S) return Math.floor(units);
    // units = 1.m * 2^e: e picks the run of buckets, the top subBits bits of m
    // the sub-bucket (floor(units / 2^(e - subBits)) - S, without dividing).
    bits[0] = units;
    const high = words[HIGH]!;
    const e = ((high >>> 20) & 0x7ff) - 1023;
    const sub = (high >>> (20 - this.#subBits)) & (S - 1);
    return S + (e - this.#subBits) * S + sub;
  }

  /** Adds `count` values to a bucket from {@link bucketIndex}; `value` feeds the sum. */
  addToBucket(index: number, value: number, count = 1): void {
    this.#counts[index] = this.#counts[index]! + count;
    this.#count += count;
    this.#sum += value * count;
    if (value > this.layout.highest) this.#clamped += count;
  }

  /** The value a bucket reports: its midpoint. */
  bucketValue(index: number): number {
    const S = this.#subBuckets;
    if (index < S) return (index + 0.5) * this.#resolution;
    const k = index - S;
    const width = 2 ** Math.floor(k / S);
    const lower = (S + (k % S)) * width;
    return (lower + width / 2) * this.#resolution;
  }

  /**
   * The value at quantile `q` (0..1) by nearest rank: the smallest recorded
   * value with at least `ceil(q * count)` values at or below it, reported as
   * its bucket's midpoint. NaN when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile is within 0..1, got ${q}`);
    if (this.#count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return this.bucketValue(i);
    }
    return this.bucketValue(counts.length - 1);
  }

  /** Adds another histogram's counts to this one. Both must have the same layout. */
  merge(other: LogLinearHistogram): this {
    const a = this.layout;
    const b = other.layout;
    if (a.resolution !== b.resolution || a.highest !== b.highest || a.subBuckets !== b.subBuckets) {
      throw new RangeError('histograms merge only when their layouts are equal');
    }
    if (other.#count === 0) return this;
    const mine = this.#counts;
    const theirs = other.#counts;
    for (let i = 0; i < mine.length; i++) {
      const c = theirs[i]!;
      if (c !== 0) mine[i] = mine[i]! + c;
    }
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#clamped += other.#clamped;
    return this;
  }

  /** Empties the histogram, keeping its memory. */
  reset(): void {
    if (this.#count === 0) return;
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#clamped = 0;
  }
}
