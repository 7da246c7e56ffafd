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

export function withHeader(fetchedAt: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.write(String(headerTime(fetchedAt)).padStart(HEADER_BYTES, '0'), 0, HEADER_BYTES, 'latin1');
  body.copy(out, HEADER_BYTES);
  return out;
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
