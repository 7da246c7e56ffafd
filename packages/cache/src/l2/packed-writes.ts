import type { CacheEntry } from './cache-entry.js';
import type { EntryCodec } from './entry-codec.js';
import { HEADER_BYTES, headerTime, writeDigits } from './entry-header.js';

/**
 * Builds the one argument of a set-if-newer call (lua/set-if-newer.ts): the
 * entry count as a uint32 LE, then per entry, in the order of the call's keys,
 *
 *   fetchedAt  float64 LE: the number written in the value's header
 *   PX         one byte n, then n ASCII digits (Redis takes them as they are)
 *   value      uint32 LE length, then the stored value: 16-digit header + codec bytes
 *
 * Hot path, written for speed on purpose: the batch-scheduler writes every
 * fetched key through it. Records are written into one scratch buffer kept
 * between calls, the codec's bytes copied straight after their header (or
 * encoded there, with `encodeInto`), and the argument is one copy of the
 * used part: no Buffer, string or object per entry.
 */
export class WritePacker {
  readonly #codec: EntryCodec;
  #scratch: Buffer;

  constructor(codec: EntryCodec) {
    this.#codec = codec;
    this.#scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  }

  /** The packed argument for `entries[indexes[j]]`, j in order; `now` sets each PX. */
  pack(
    entries: readonly (readonly [string, CacheEntry])[],
    indexes: readonly number[],
    now: number,
  ): Buffer {
    const codec = this.#codec;
    let out = this.#scratch;
    out.writeUInt32LE(indexes.length, 0);
    let at = COUNT_BYTES;
    for (let j = 0; j < indexes.length; j += 1) {
      const entry = entries[indexes[j]!]![1];
      const fetchedAt = headerTime(entry.fetchedAt);
      const px = pxOf(entry, now);
      const digits = digitCount(px);
      if (at + RECORD_FIXED_BYTES + digits + HEADER_BYTES > out.length) {
        out = this.#grow(at, RECORD_FIXED_BYTES + digits + HEADER_BYTES);
      }
      at = out.writeDoubleLE(fetchedAt, at);
      out[at] = digits;
      writeDigits(out, at + 1, digits, px);
      const lengthAt = at + 1 + digits;
      const bodyAt = lengthAt + 4 + HEADER_BYTES;
      writeDigits(out, lengthAt + 4, HEADER_BYTES, fetchedAt);
      let bodyBytes: number;
      if (codec.encodeInto) {
        bodyBytes = codec.encodeInto(entry, out, bodyAt);
        if (bodyBytes < 0) {
          out = this.#grow(bodyAt, -bodyBytes);
          bodyBytes = codec.encodeInto(entry, out, bodyAt);
        }
      } else {
        const body = codec.encode(entry);
        if (bodyAt + body.length > out.length) out = this.#grow(bodyAt, body.length);
        bodyBytes = body.copy(out, bodyAt);
      }
      out.writeUInt32LE(HEADER_BYTES + bodyBytes, lengthAt);
      at = bodyAt + bodyBytes;
    }
    const packed = Buffer.allocUnsafe(at);
    out.copy(packed, 0, 0, at);
    // A chunk of large values grew the scratch: keep it for the next call, within a bound.
    if (out.length > MAX_KEPT_BYTES) this.#scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return packed;
  }

  /** A larger scratch holding the first `used` bytes, with room for `more`. */
  #grow(used: number, more: number): Buffer {
    let size = this.#scratch.length * 2;
    while (size < used + more) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.#scratch.copy(grown, 0, 0, used);
    this.#scratch = grown;
    return grown;
  }
}

const COUNT_BYTES = 4;
/** fetchedAt + PX length byte + value length: a record without its PX digits and value. */
const RECORD_FIXED_BYTES = 8 + 1 + 4;
/** Enough for a chunk of 100 price entries without growing. */
const SCRATCH_BYTES = 64 * 1024;
const MAX_KEPT_BYTES = 1024 * 1024;
/** Redis would take far longer; past this the digits would not be exact. */
const MAX_PX = Number.MAX_SAFE_INTEGER;

/** Milliseconds an entry lives in Redis from `now`: until its hard expiry, at least 1. */
export function pxOf(entry: CacheEntry, now: number): number {
  return Math.min(MAX_PX, Math.max(1, Math.ceil(entry.hardExpiresAt - now)));
}

/** Decimal digits of a whole number 1 <= n <= 2^53 - 1. */
function digitCount(n: number): number {
  let digits = 1;
  for (let limit = 10; n >= limit; limit *= 10) digits += 1;
  return digits;
}
