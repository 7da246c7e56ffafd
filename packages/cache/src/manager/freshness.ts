import type { AssetType, DataType } from '@fiml/market';
import type { WriteSource } from '../cache-events.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import { nonNegative, positive } from './option-checks.js';
import type { Fetched, FreshnessPolicy } from './types.js';

/**
 * Where an entry stands at an instant:
 * - `fresh`: before its TTL ran out;
 * - `revalidate`: stale, inside the stale-while-revalidate window: served at
 *   once and refreshed in the background;
 * - `stale-if-error`: further past; the fetch goes first, the entry stands in
 *   only if the fetch fails;
 * - `expired`: past its hard expiry; never served.
 */
export type Phase = 'fresh' | 'revalidate' | 'stale-if-error' | 'expired';

export interface FreshnessOptions {
  /** The freshness TTL of each write; `TtlPolicy` (`src/ttl/`) is the market-aware one. */
  readonly ttlPolicy: FreshnessPolicy;
  /** The revalidation window as a multiple of the TTL. @defaultValue 1 */
  readonly staleWhileRevalidateFactor?: number;
  /** How long past freshness an entry may stand in for a failed fetch. @defaultValue 3600000 */
  readonly staleIfErrorMs?: number;
  /** Freshness of a cached "not found". @defaultValue 60000 */
  readonly negativeTtlMs?: number;
  /**
   * The last share of an entry's freshness (0-1) in which a read asks for
   * its refresh ahead of expiry (see `refreshAheadDue`); 0 turns it off.
   * @defaultValue 0
   */
  readonly refreshAheadFraction?: number;
}

/**
 * The pure half of the cache's time rules: what entry a fetch becomes, and
 * what phase an entry is in. Shared by the read path and the workers'
 * `CacheWriter`, so an entry means the same whoever wrote it.
 */
export class Freshness {
  readonly #ttlPolicy: FreshnessPolicy;
  readonly #swrFactor: number;
  readonly #staleIfErrorMs: number;
  readonly #negativeTtlMs: number;
  readonly #aheadFraction: number;

  constructor(options: FreshnessOptions) {
    if (!options || typeof options.ttlPolicy?.ttl !== 'function') {
      throw new TypeError('a ttlPolicy with ttl(dataType, assetType, now) is required');
    }
    this.#ttlPolicy = options.ttlPolicy;
    this.#swrFactor = nonNegative(
      options.staleWhileRevalidateFactor ?? 1,
      'staleWhileRevalidateFactor',
    );
    this.#staleIfErrorMs = nonNegative(options.staleIfErrorMs ?? 3_600_000, 'staleIfErrorMs');
    this.#negativeTtlMs = positive(options.negativeTtlMs ?? 60_000, 'negativeTtlMs');
    const ahead = options.refreshAheadFraction ?? 0;
    if (!(ahead >= 0 && ahead <= 1)) {
      throw new RangeError(`refreshAheadFraction must be between 0 and 1, got ${String(ahead)}`);
    }
    this.#aheadFraction = ahead;
  }

  /**
   * Whether a fresh value is in the last `refreshAheadFraction` of its
   * freshness: read now, it will likely be read again after it goes stale,
   * so a refresh requested now (due by `softExpiresAt`) turns that later read
   * into a fresh hit instead of a stale one. Never for a cached "not found".
   */
  refreshAheadDue(entry: CacheEntry, now: number): boolean {
    return (
      this.#aheadFraction > 0 &&
      entry.kind === 'value' &&
      now < entry.softExpiresAt &&
      now >= entry.softExpiresAt - entry.ttlMs * this.#aheadFraction
    );
  }

  phase(entry: CacheEntry, now: number): Phase {
    if (now < entry.softExpiresAt) return 'fresh';
    if (now >= entry.hardExpiresAt) return 'expired';
    if (now < entry.softExpiresAt + entry.ttlMs * this.#swrFactor) return 'revalidate';
    return 'stale-if-error';
  }

  /** The entry a fetch result becomes at `now`: market-aware TTL, and its stale windows. */
  entry<V>(
    dataType: DataType,
    assetType: AssetType,
    fetched: Fetched<V>,
    writer: WriteSource,
    now: number,
  ): CacheEntry<V> {
    const fetchedAt = fetched.fetchedAt ?? now;
    if ('notFound' in fetched) {
      return {
        kind: 'not-found',
        dataType,
        fetchedAt,
        source: fetched.source,
        writer,
        ttlMs: this.#negativeTtlMs,
        softExpiresAt: now + this.#negativeTtlMs,
        hardExpiresAt: now + this.#negativeTtlMs,
      };
    }
    const { ttlMs, expiresAt } = this.#ttlPolicy.ttl(dataType, assetType, now);
    const staleWindow = Math.max(ttlMs * this.#swrFactor, this.#staleIfErrorMs);
    return {
      kind: 'value',
      value: fetched.value,
      dataType,
      fetchedAt,
      source: fetched.source,
      writer,
      ttlMs,
      softExpiresAt: expiresAt,
      hardExpiresAt: expiresAt + staleWindow,
    };
  }
}
