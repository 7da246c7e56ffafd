import type { Cluster, Redis } from 'ioredis';
import type { AssetType, Clock, DataType } from '@fiml/market';
import type { L1Cache } from '../l1/l1-cache.js';
import type { L1Value } from './tier-store.js';
import type {
  BatchLoader,
  CacheLogger,
  FreshnessPolicy,
  RefreshAheadRequest,
  RevalidateRequest,
} from './types.js';

export interface CacheManagerOptions {
  /** Freshness TTL per write; `new TtlPolicy()` (`src/ttl/`) is the market-aware one. */
  readonly ttlPolicy: FreshnessPolicy;
  /** The in-process tier. @defaultValue new L1Cache({ maxEntries: 10000 }) (ADAPTIVE) */
  readonly l1?: L1Cache<L1Value>;
  /** The cache Redis (a cache-role connection). Without it: L1 only, no locks or invalidations. */
  readonly redis?: Redis | Cluster;
  /**
   * A connection for the invalidation subscription; the manager owns it. On a
   * Cluster it must be a Cluster client with `shardedSubscribers: true` (the
   * bus uses sharded pub/sub there). @defaultValue shardedSubscriberFor(redis)
   */
  readonly subscriber?: Redis | Cluster;
  /** First segment of Redis keys and channels. @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Coalescing loaders per (data type, asset type), used by `read` and `readMany`. */
  readonly loaderFor?: (dataType: DataType, assetType: AssetType) => BatchLoader | undefined;
  /**
   * Called once per key when a stale entry is served (the api enqueues a
   * deduplicated refresh job). If it throws or its promise rejects, the key
   * is refreshed in-process; without it, always in-process.
   */
  readonly onStale?: (request: RevalidateRequest) => void | Promise<unknown>;
  /** How long one key's refresh request stands before another is made, ms. @defaultValue 5000 */
  readonly revalidateWindowMs?: number;
  /**
   * Called once per entry when a read finds it fresh but in the last
   * `refreshAheadFraction` of its freshness (the api enqueues a refresh due
   * by `freshUntil`, which the batch-scheduler batches with others). Best
   * effort: nothing is fetched in-process for it, and a failure is reported
   * as an `error` event. Without it, nothing is asked ahead.
   */
  readonly onRefreshAhead?: (request: RefreshAheadRequest) => void | Promise<unknown>;
  /** The last share of freshness (0-1) in which reads call `onRefreshAhead`. @defaultValue 0 (off) */
  readonly refreshAheadFraction?: number;
  /** Revalidation window past freshness, as a multiple of the TTL. @defaultValue 1 */
  readonly staleWhileRevalidateFactor?: number;
  /** How long past freshness an entry may stand in for a failed fetch. @defaultValue 3600000 */
  readonly staleIfErrorMs?: number;
  /** Freshness of a cached "not found". @defaultValue 60000 */
  readonly negativeTtlMs?: number;
  /** Hard bound of one upstream fetch (the whole fallback chain); loaders' signals abort then. @defaultValue 15000 */
  readonly fetchTimeoutMs?: number;
  /** After this, a read that has stale data answers with it while the fetch goes on. @defaultValue 2000 */
  readonly softFetchTimeoutMs?: number;
  /** Lease of a cross-instance fetch lock, renewed every third of it while the fetch runs. @defaultValue 10000 */
  readonly lockTtlMs?: number;
  /** How long to wait for another instance's fetch before fetching anyway. @defaultValue 5000 */
  readonly lockWaitMs?: number;
  /** How long the first miss of a route waits for company before its batch goes out, ms. @defaultValue 5 */
  readonly coalesceWindowMs?: number;
  /** L2 circuit breaker: consecutive failures before it opens. @defaultValue 3 */
  readonly breakerFailureThreshold?: number;
  /** L2 circuit breaker: first cooldown, doubling to 30 s. @defaultValue 1000 */
  readonly breakerCooldownMs?: number;
  /** @defaultValue a logger that writes nothing */
  readonly logger?: CacheLogger;
  /** This instance's id on the invalidation channel. @defaultValue a random UUID */
  readonly instanceId?: string;
}
