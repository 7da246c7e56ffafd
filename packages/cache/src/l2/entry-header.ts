/**
 * Every L2 value starts with the entry's `fetchedAt` (epoch ms, whole) as 16
 * ASCII digits, then the codec's bytes. The header is what lets the
 * set-if-newer script compare two entries by reading 16 bytes, and it keeps
 * values readable by a person with redis-cli (`GETRANGE key 0 15`).
 */
export const HEADER_BYTES = 16;
const MAX_AT = Number.MAX_SAFE_INTEGER; // 16 digits

export function headerTime(fetchedAt: number): number {
  return Math.min(MAX_AT, Math.max(0, Math.floor(fetchedAt)));
}

/** Writes the header of `fetchedAt` at `offset`: 16 zero-padded digits, no string built. */
export function writeHeader(out: Buffer, offset: number, fetchedAt: number): void {
  writeDigits(out, offset, HEADER_BYTES, headerTime(fetchedAt));
}

export function withHeader(fetchedAt: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  writeHeader(out, 0, fetchedAt);
  body.copy(out, HEADER_BYTES);
  return out;
}

/**
 * Writes a whole number 0 <= n <= 2^53 - 1 as `digits` ASCII digits,
 * zero-padded, at `offset`. Exact: each `n / 10` is correctly rounded and
 * lands at most 0.9 above a whole number whose spacing is at most 1/8 here,
 * so the floor is the true quotient.
 */
export function writeDigits(out: Buffer, offset: number, digits: number, n: number): void {
  for (let i = offset + digits - 1; i >= offset; i -= 1) {
    const rest = Math.floor(n / 10);
    out[i] = 0x30 + (n - rest * 10);
    n = rest;
  }
}

/** The codec's bytes of a stored value, or undefined when the value has no header. */
export function bodyOf(value: Buffer): Buffer | undefined {
  if (value.length < HEADER_BYTES) return undefined;
  for (let i = 0; i < HEADER_BYTES; i += 1) {
    const c = value[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return value.subarray(HEADER_BYTES);
}
