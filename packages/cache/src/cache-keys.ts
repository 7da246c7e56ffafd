import { isAssetType, isDataType, type AssetType, type DataType } from '@fiml/market';

/**
 * Logical cache keys: `<dataType>:<assetType>:<SYMBOL>`, e.g. `price:equity:AAPL`,
 * `news:crypto:BTC`. Protection patterns match these (`price:equity:AAPL*`,
 * `*:BTC`). In Redis each key is stored under `<prefix>:v1:<logical key>`;
 * the version segment changes whenever the key or value layout does, so an
 * upgrade never reads entries written in an older layout.
 */
export const KEY_SCHEME_VERSION = 'v1';

/** Redis's own limit is 512 MB; ours keeps keys short enough to log and index. */
export const MAX_KEY_BYTES = 512;

export function cacheKey(dataType: DataType, assetType: AssetType, symbol: string): string {
  return `${dataType}:${assetType}:${symbol}`;
}

export interface ParsedCacheKey {
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbol: string;
}

/** The parts of a logical key written by {@link cacheKey}, or undefined for any other string. */
export function parseCacheKey(key: string): ParsedCacheKey | undefined {
  const first = key.indexOf(':');
  const second = key.indexOf(':', first + 1);
  if (first < 0 || second < 0) return undefined;
  const dataType = key.slice(0, first);
  const assetType = key.slice(first + 1, second);
  const symbol = key.slice(second + 1);
  if (!isDataType(dataType) || !isAssetType(assetType) || symbol.length === 0) return undefined;
  return { dataType, assetType, symbol };
}

/** Throws a TypeError or RangeError naming the problem for a key no tier should store. */
export function assertValidKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`cache key must be a string, got ${typeof key}`);
  if (key.length === 0) throw new RangeError('cache key must not be empty');
  // A UTF-16 unit is at most 3 UTF-8 bytes: short keys need no byte count (every read checks).
  if (key.length * 3 <= MAX_KEY_BYTES) return;
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new RangeError(`cache key is ${bytes} bytes; the limit is ${MAX_KEY_BYTES}`);
  }
}
