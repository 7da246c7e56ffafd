import { systemClock, type Clock } from '@fiml/market';
import { EVICTION_POLICIES, EvictionPolicy, isEvictionPolicy } from './eviction-policy.js';
import { validatePattern } from './protection-rules.js';

/** Largest maxEntries: slot numbers are Int32 and every slot array is allocated up front. */
export const MAX_ENTRIES_LIMIT = 2 ** 28;

export interface L1CacheOptions<V> {
  /**
   * Most entries held at once (a positive integer). The per-slot typed arrays
   * are allocated for this many entries up front, as node-lru-cache does; see
   * the README for the bytes per slot.
   */
  readonly maxEntries: number;
  /**
   * Upper bound on the sum of `sizeOf` over all entries. Requires `sizeOf`.
   * @defaultValue no byte bound
   */
  readonly maxBytes?: number;
  /**
   * The size of an entry in bytes (a finite number >= 0), called once per
   * write. Without it `bytes` stays 0.
   * @defaultValue none: bytes are not tracked
   */
  readonly sizeOf?: (value: V, key: string) => number;
  /**
   * Which entry goes when the cache is full ('lru' | 'lfu' | 'hybrid' | 'adaptive').
   * @defaultValue EvictionPolicy.ADAPTIVE
   */
  readonly evictionPolicy?: EvictionPolicy;
  /**
   * Keys and wildcard patterns (`price:AAPL*`, `*:BTC`) never evicted for
   * capacity. More can be added with `protectKey`.
   * @defaultValue []
   */
  readonly protectedPatterns?: readonly string[];
  /**
   * Time source for TTLs and the eviction log.
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
  /**
   * Time to live for entries written without `ttlMs`; 0 means they never expire.
   * @defaultValue 0
   */
  readonly defaultTtlMs?: number;
  /**
   * How many recent evictions `evictionLog()` keeps; 0 turns the log off (and
   * saves a clock read per eviction).
   * @defaultValue 128
   */
  readonly evictionLogSize?: number;
  /**
   * HYBRID only: after this many cache operations an access counts half as
   * much in an entry's score (see `HybridStrategy`).
   * @defaultValue 2 * maxEntries
   */
  readonly hybridHalfLife?: number;
}

export interface L1SetOptions {
  /**
   * Time to live in ms (a finite number >= 0); 0 means this entry never
   * expires, even when the cache has a defaultTtlMs.
   * @defaultValue the cache's defaultTtlMs
   */
  readonly ttlMs?: number;
}

/** Options after validation, with defaults applied. */
export interface ResolvedOptions<V> {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly sizeOf: ((value: V, key: string) => number) | undefined;
  readonly evictionPolicy: EvictionPolicy;
  readonly protectedPatterns: readonly string[];
  readonly clock: Clock;
  readonly defaultTtlMs: number;
  readonly evictionLogSize: number;
  readonly hybridHalfLife: number;
}

/** Checks every option, naming the one that is wrong (TypeError for the wrong kind, RangeError for a bad value). */
export function resolveOptions<V>(options: L1CacheOptions<V>): ResolvedOptions<V> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('L1Cache options must be an object with at least maxEntries');
  }
  const maxEntries = positiveInteger(options.maxEntries, 'maxEntries');
  if (maxEntries > MAX_ENTRIES_LIMIT) {
    throw new RangeError(`maxEntries must be at most ${MAX_ENTRIES_LIMIT}, got ${maxEntries}`);
  }

  const sizeOf = options.sizeOf;
  if (sizeOf !== undefined && typeof sizeOf !== 'function') {
    throw new TypeError(`sizeOf must be a function (value, key) => bytes, got ${typeof sizeOf}`);
  }
  let maxBytes = Number.POSITIVE_INFINITY;
  if (options.maxBytes !== undefined) {
    maxBytes = finiteNumber(options.maxBytes, 'maxBytes');
    if (maxBytes <= 0) throw new RangeError(`maxBytes must be > 0, got ${maxBytes}`);
    if (sizeOf === undefined) {
      throw new TypeError('maxBytes needs sizeOf: the cache cannot weigh values by itself');
    }
  }

  const evictionPolicy: unknown = options.evictionPolicy ?? EvictionPolicy.ADAPTIVE;
  if (!isEvictionPolicy(evictionPolicy)) {
    throw new RangeError(
      `evictionPolicy must be one of ${EVICTION_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(evictionPolicy)}`,
    );
  }

  const protectedPatterns: unknown = options.protectedPatterns ?? [];
  if (!Array.isArray(protectedPatterns)) {
    throw new TypeError('protectedPatterns must be an array of keys or patterns');
  }
  protectedPatterns.forEach((pattern: unknown, i) =>
    validatePattern(pattern, `protectedPatterns[${i}]`),
  );

  const clock: unknown = options.clock ?? systemClock;
  if (typeof clock !== 'object' || clock === null || typeof (clock as Clock).now !== 'function') {
    throw new TypeError('clock must be a Clock: an object with now(): number');
  }

  const defaultTtlMs =
    options.defaultTtlMs === undefined ? 0 : ttl(options.defaultTtlMs, 'defaultTtlMs');

  const evictionLogSize =
    options.evictionLogSize === undefined
      ? 128
      : nonNegativeInteger(options.evictionLogSize, 'evictionLogSize');

  const hybridHalfLife =
    options.hybridHalfLife === undefined
      ? 2 * maxEntries
      : finiteNumber(options.hybridHalfLife, 'hybridHalfLife');
  if (hybridHalfLife <= 0)
    throw new RangeError(`hybridHalfLife must be > 0, got ${hybridHalfLife}`);

  return {
    maxEntries,
    maxBytes,
    sizeOf,
    evictionPolicy,
    protectedPatterns: protectedPatterns as string[],
    clock: clock as Clock,
    defaultTtlMs,
    evictionLogSize,
    hybridHalfLife,
  };
}

/** A TTL in ms: a finite number >= 0. */
export function ttl(value: unknown, name: string): number {
  const ms = finiteNumber(value, name);
  if (ms < 0) throw new RangeError(`${name} must be >= 0 (0: never expires), got ${ms}`);
  return ms;
}

function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number')
    throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
  return value;
}

function positiveInteger(value: unknown, name: string): number {
  const n = finiteNumber(value, name);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}

function nonNegativeInteger(value: unknown, name: string): number {
  const n = finiteNumber(value, name);
  if (!Number.isInteger(n) || n < 0)
    throw new RangeError(`${name} must be an integer >= 0, got ${n}`);
  return n;
}
