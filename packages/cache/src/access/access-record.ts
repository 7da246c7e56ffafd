import { ASSET_TYPES, DATA_TYPES, type AssetType, type DataType } from '@fiml/market';
import { parseCacheKey } from '../cache-keys.js';
import { PROFILE_BUCKETS } from './access-stats.js';

/**
 * The stored form of one logical key's access history: a hash field (the key,
 * compacted) and a 32-byte value. Both are written by the Lua merge
 * (access-scripts.ts) and read here; this file is the one description of the
 * layout on the TypeScript side.
 *
 * Field: one code character for (data type, asset type), then the symbol:
 * `price:equity:AAPL` -> `pAAPL`, `news:crypto:BTC` -> `NBTC` (lower case:
 * equity, upper case: crypto; the letter is the data type's initial).
 *
 * Value, little-endian, {@link RECORD_BYTES} bytes:
 *
 *   offset 0   float32  F: decayed reads as of the last read
 *   offset 4   uint32   the last read, in whole minutes since the epoch
 *   offset 8   24 bytes the time-of-day profile: 48 4-bit levels, bucket 2j in
 *                       the low nibble of byte j, bucket 2j+1 in the high one
 *
 * A level q > 0 stands for the weight 2^((q - 15) / 2) relative to the
 * largest bucket (level 15), a lattice of sqrt(2) steps spanning 1 : 128;
 * level 0 is "no reads". Bucket i's decayed reads are F * w(q_i) / sum(w):
 * the profile is a shape, the total is F, so the profile sums to F exactly.
 *
 * Why this encoding: the target is 50 bytes of Redis per tracked key, name
 * included, on a default redis.conf. A hash of at most 128 fields with values
 * of at most 64 bytes stays a listpack, where a field costs its bytes plus
 * about 2 (header and back-length); a record then costs ~5 (field) + 32
 * (value) + 4 = 41 bytes, plus the allocator's rounding of the listpack and
 * a share of the shard's own key: ~46 bytes measured (bench/access). Every
 * byte is spent where precision matters: F is a float32 (24-bit mantissa: an
 * hourly or per-second increment of a hot key still registers), the last read
 * a whole minute (the decay clock: decay per minute is far above float32
 * resolution), and the profile, which the planner reads as a shape, gets 4
 * bits per bucket on a log scale, because reads per half hour span two
 * orders of magnitude (night vs the open). Decay never touches the levels
 * (it scales F), so the only quantisation noise comes from new reads, rounded
 * stochastically (unbiased) in the merge: about 13 % of a key's day in the
 * wrong buckets on average after a week of steady reads, the total exact (see
 * test/access-history.test.ts).
 */
export const RECORD_BYTES = 32;
/** Levels of a profile bucket: 0 (none) and 1..15 on the sqrt(2) lattice. */
export const PROFILE_LEVELS = 16;
const PROFILE_OFFSET = 8;
const MINUTE_MS = 60_000;

/** The weight of each level relative to the top level (index: level). */
export const LEVEL_WEIGHTS: readonly number[] = Array.from({ length: PROFILE_LEVELS }, (_, q) =>
  q === 0 ? 0 : 2 ** ((q - 15) / 2),
);

const CODES: Readonly<Record<DataType, string>> = { price: 'p', fundamentals: 'f', news: 'n' };

/** The field code of a (data type, asset type): the data type's initial, upper case for crypto. */
function codeOf(dataType: DataType, assetType: AssetType): string {
  const letter = CODES[dataType];
  return assetType === 'crypto' ? letter.toUpperCase() : letter;
}

const DECODE = new Map<string, { dataType: DataType; assetType: AssetType }>();
for (const dataType of DATA_TYPES) {
  for (const assetType of ASSET_TYPES)
    DECODE.set(codeOf(dataType, assetType), { dataType, assetType });
}

/** Longest symbol a field may carry: the field stays far below listpack's 64-byte value limit. */
export const MAX_FIELD_SYMBOL_BYTES = 32;

/**
 * The hash field of a logical key, or undefined for a key that is not
 * `dataType:assetType:SYMBOL` (or whose symbol is not short ASCII).
 */
export function encodeField(key: string): string | undefined {
  const parsed = parseCacheKey(key);
  if (!parsed) return undefined;
  const { symbol } = parsed;
  if (symbol.length > MAX_FIELD_SYMBOL_BYTES || !/^[\x21-\x7e]+$/.test(symbol)) return undefined;
  return codeOf(parsed.dataType, parsed.assetType) + symbol;
}

/** The key a field stands for, or undefined for a field in no known format (a foreign record). */
export function decodeField(
  field: string,
): { key: string; dataType: DataType; assetType: AssetType; symbol: string } | undefined {
  const kind = DECODE.get(field.charAt(0));
  const symbol = field.slice(1);
  if (!kind || symbol.length === 0 || symbol.length > MAX_FIELD_SYMBOL_BYTES) return undefined;
  if (!/^[\x21-\x7e]+$/.test(symbol) || symbol.includes(':')) return undefined;
  return { key: `${kind.dataType}:${kind.assetType}:${symbol}`, ...kind, symbol };
}

/** One record, decoded: figures as of its last read. */
export interface DecodedRecord {
  /** Decayed reads as of `lastAccessAt`. */
  readonly frequency: number;
  /** Epoch ms of the last read (whole minutes). */
  readonly lastAccessAt: number;
  /** The 48 levels (0..15). */
  readonly levels: Uint8Array;
}

/** Decodes a stored value; undefined when it is not a record (wrong length, non-finite figures). */
export function decodeRecord(value: Buffer): DecodedRecord | undefined {
  if (value.length !== RECORD_BYTES) return undefined;
  const frequency = value.readFloatLE(0);
  const minutes = value.readUInt32LE(4);
  if (!Number.isFinite(frequency) || frequency < 0) return undefined;
  const levels = new Uint8Array(PROFILE_BUCKETS);
  for (let j = 0; j < PROFILE_BUCKETS / 2; j++) {
    const byte = value[PROFILE_OFFSET + j]!;
    levels[2 * j] = byte & 0x0f;
    levels[2 * j + 1] = byte >> 4;
  }
  return { frequency, lastAccessAt: minutes * MINUTE_MS, levels };
}

/** Encodes a record (for tests and tools; production records are written by the Lua merge). */
export function encodeRecord(record: DecodedRecord): Buffer {
  const out = Buffer.alloc(RECORD_BYTES);
  out.writeFloatLE(record.frequency, 0);
  out.writeUInt32LE(Math.floor(record.lastAccessAt / MINUTE_MS), 4);
  for (let j = 0; j < PROFILE_BUCKETS / 2; j++) {
    out[PROFILE_OFFSET + j] =
      (record.levels[2 * j]! & 0x0f) | ((record.levels[2 * j + 1]! & 0x0f) << 4);
  }
  return out;
}

/**
 * Decayed reads per bucket as of `lastAccessAt` (multiply by the decay to
 * `asOf`): F spread over the buckets in proportion to their level weights.
 */
export function profileOf(record: DecodedRecord): number[] {
  let total = 0;
  for (const q of record.levels) total += LEVEL_WEIGHTS[q]!;
  const out = new Array<number>(PROFILE_BUCKETS).fill(0);
  if (total === 0) return out;
  for (let i = 0; i < PROFILE_BUCKETS; i++) {
    out[i] = (record.frequency * LEVEL_WEIGHTS[record.levels[i]!]!) / total;
  }
  return out;
}
