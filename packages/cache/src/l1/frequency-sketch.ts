/** Additions between halvings, per entry of capacity (Caffeine's sample size). */
const SAMPLE_PER_ENTRY = 10;

/**
 * A count-min sketch of 4-bit counters that estimates how often a key was
 * seen recently (TinyLFU: Einziger, Friedman and Manes, ACM ToS 2017), laid
 * out as Caffeine's FrequencySketch does.
 *
 * Layout, narrated because the index arithmetic is the whole point:
 * - The table is a Uint8Array of 64-byte blocks; each byte holds two 4-bit
 *   counters (low nibble first). A block is 128 counters: 4 rows of 16 bytes.
 * - A key's hash picks one block (so its 4 counters share one cache line),
 *   and a second mix of the hash picks one of the 32 counters in each row:
 *   bits 0-4 for row 0, 8-12 for row 1, 16-20 for row 2, 24-28 for row 3.
 * - 8 bytes (16 counters) per entry of capacity, rounded up to a power of two:
 *   the table never grows.
 *
 * Aging: after 10 x capacity additions every counter is halved in one pass
 * over a Uint32Array view of the same bytes ((w >>> 1) & 0x77777777 shifts
 * all eight nibbles of a word at once and drops the bit that crossed into the
 * neighbouring nibble), so the estimate follows the recent workload.
 */
export class FrequencySketch {
  readonly #table: Uint8Array;
  readonly #words: Uint32Array;
  /** Blocks - 1; the block count is a power of two. */
  readonly #blockMask: number;
  readonly #sampleSize: number;
  #additions = 0;

  constructor(capacity: number) {
    const bytes = Math.max(64, 8 * ceilingPowerOfTwo(capacity));
    this.#table = new Uint8Array(bytes);
    this.#words = new Uint32Array(this.#table.buffer);
    this.#blockMask = bytes / 64 - 1;
    this.#sampleSize = SAMPLE_PER_ENTRY * Math.max(1, capacity);
  }

  /** Bytes held by the counter table. */
  get byteLength(): number {
    return this.#table.length;
  }

  /** The estimated count of recent occurrences of a key, 0..15. */
  frequency(hash: number): number {
    const table = this.#table;
    const block = (spread(hash) & this.#blockMask) << 6;
    const counters = rehash(hash);
    let min = 15;
    for (let row = 0; row < 4; row++) {
      const n = (counters >>> (row << 3)) & 31; // counter 0..31 within this row's 16 bytes
      const value = (table[block + (row << 4) + (n >>> 1)]! >>> ((n & 1) << 2)) & 15;
      if (value < min) min = value;
    }
    return min;
  }

  /**
   * Counts one occurrence of a key (saturating at 15), halving everything when
   * a sample is full. Unrolled over the 4 rows on purpose (it runs on most
   * hits): row r's counter n lives in byte block + 16r + (n >>> 1), in the
   * low nibble when n is even and the high nibble when it is odd.
   */
  increment(hash: number): void {
    const table = this.#table;
    const block = (spread(hash) & this.#blockMask) << 6;
    const h = rehash(hash);
    let added = 0;
    let n = h & 31;
    let i = block + (n >>> 1);
    let shift = (n & 1) << 2;
    let v = table[i]!;
    if (((v >>> shift) & 15) !== 15) {
      table[i] = v + (1 << shift);
      added = 1;
    }
    n = (h >>> 8) & 31;
    i = block + 16 + (n >>> 1);
    shift = (n & 1) << 2;
    v = table[i]!;
    if (((v >>> shift) & 15) !== 15) {
      table[i] = v + (1 << shift);
      added = 1;
    }
    n = (h >>> 16) & 31;
    i = block + 32 + (n >>> 1);
    shift = (n & 1) << 2;
    v = table[i]!;
    if (((v >>> shift) & 15) !== 15) {
      table[i] = v + (1 << shift);
      added = 1;
    }
    n = (h >>> 24) & 31;
    i = block + 48 + (n >>> 1);
    shift = (n & 1) << 2;
    v = table[i]!;
    if (((v >>> shift) & 15) !== 15) {
      table[i] = v + (1 << shift);
      added = 1;
    }
    // A key whose 4 counters are all saturated adds nothing to the sample.
    if ((this.#additions += added) >= this.#sampleSize) this.#halve();
  }

  /** Forgets all counts. */
  clear(): void {
    this.#table.fill(0);
    this.#additions = 0;
  }

  #halve(): void {
    const words = this.#words;
    let odd = 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      odd += popcount(w & 0x11111111);
      words[i] = (w >>> 1) & 0x77777777;
    }
    // Each addition touched 4 counters, so odd/4 estimates the additions the
    // truncating halving lost (Caffeine's correction).
    this.#additions = (this.#additions - (odd >>> 2)) >>> 1;
  }
}

function ceilingPowerOfTwo(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** Block selection: a multiply-xorshift mix, independent of the counter bits. */
function spread(hash: number): number {
  let h = Math.imul(hash, 0x45d9f3b);
  h ^= h >>> 16;
  return h;
}

/** Counter selection within the block: a second, different mix of the same hash. */
function rehash(hash: number): number {
  let h = Math.imul(hash, 0x31848bab);
  h ^= h >>> 14;
  return h;
}

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
