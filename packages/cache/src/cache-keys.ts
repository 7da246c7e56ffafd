import { isAssetType, isDataType, type AssetType, type DataType } from '@fiml/market';

/**
 * Logical cache keys: `<dataType>:<assetType>:<SYMBOL>`, e.g. `price:equity:AAPL`,
 * `news:crypto:BTC`. Protection patterns match these (`price:equity:AAPL*`,
 * `*:BTC`).
 *
 * In Redis every kind of key lives in its own segment under
 * `<prefix>:<version>:` (see {@link cacheKeySpace}), so a pattern delete over
 * entries can never reach a lock, the access history or a rate-limit counter.
 * The version segment changes whenever a key or value layout does (v2: the
 * key spaces, and the `fetchedAt` header that makes L2 writes newer-wins), so
 * an upgrade never reads entries written in an older layout.
 */
export const KEY_SCHEME_VERSION = 'v2';

/** Redis's own limit is 512 MB; ours keeps keys short enough to log and index. */
export const MAX_KEY_BYTES = 512;

const PREFIX_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

/** The Redis key prefixes of one deployment (CACHE_KEY_PREFIX), one segment per kind of key. */
export interface CacheKeySpace {
  /** Cache entries (L2): `<prefix>:v2:e:` + logical key. */
  readonly entry: string;
  /** Cross-instance fetch locks: `<prefix>:v2:lock:` + logical key. */
  readonly lock: string;
  /**
   * Access history for the warmer: `<prefix>:v2:access:{<prefix>:access}:` +
   * `dir` or `s:<shard>`. One hash tag for every access key, so its Lua
   * merges touch one Redis Cluster slot.
   */
  readonly access: string;
  /** Per-client request limits of the api. */
  readonly limit: string;
  /** The pub/sub channel of invalidations. */
  readonly channel: string;
}

/** The key space of a prefix; throws a RangeError for a prefix that is not 1-32 of `[A-Za-z0-9._-]`. */
export function cacheKeySpace(prefix = 'fiml'): CacheKeySpace {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new RangeError(
      `keyPrefix must be 1-32 letters, digits, ".", "_" or "-", got ${JSON.stringify(prefix)}`,
    );
  }
  const root = `${prefix}:${KEY_SCHEME_VERSION}:`;
  return {
    entry: `${root}e:`,
    lock: `${root}lock:`,
    access: `${root}access:{${prefix}:access}:`,
    limit: `${root}limit:`,
    channel: `${root}invalidations`,
  };
}

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

/**
 * Throws unless `key` is a cache-entry key (`dataType:assetType:SYMBOL`, within
 * the length limit). The read path and every writer check it, so nothing can
 * store an entry under a key of another kind (a lock's, say).
 */
export function assertEntryKey(key: unknown): asserts key is string {
  assertValidKey(key);
  if (!parseCacheKey(key)) {
    throw new RangeError(
      `cache key ${JSON.stringify(key.slice(0, 80))} is not dataType:assetType:SYMBOL ` +
        '(price|fundamentals|news : equity|crypto : symbol)',
    );
  }
}
