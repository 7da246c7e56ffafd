import type { AssetType, DataType } from '@fiml/market';
import type { CacheLevel, WriteSource } from '../cache-events.js';
import type { CacheEntry } from '../l2/cache-entry.js';

/** An asset as the read path names it. */
export interface AssetKey {
  readonly symbol: string;
  readonly assetType: AssetType;
}

/** What a fetch brought back for one key: a value, or the provider's word that it does not exist. */
export type Fetched<V = unknown> =
  | { readonly value: V; readonly source: string; readonly fetchedAt?: number }
  | { readonly notFound: true; readonly source: string; readonly fetchedAt?: number };

/** A batch loader's answer for one asset: fetched, or failed on its own. */
export type LoadResult<V = unknown> = Fetched<V> | { readonly error: Error };

/**
 * An upstream route the read path can batch against: concurrent misses for
 * different symbols of one (asset type, data type) are coalesced into calls
 * of at most `maxBatchSize` symbols. The app adapts its provider registry to
 * this port; the cache never imports providers.
 */
export interface BatchLoader {
  /** Stable id for logs and metrics ("equity:price"). Bounded: one per route. */
  readonly id: string;
  readonly maxBatchSize: number;
  /**
   * Resolves with a result per symbol asked for; a symbol left out counts as
   * an error (never as not-found). `signal` aborts at the cache's hard fetch
   * timeout: pass it on to the upstream call.
   */
  load(
    dataType: DataType,
    assets: readonly AssetKey[],
    options: { readonly signal: AbortSignal },
  ): Promise<ReadonlyMap<string, LoadResult>>;
}

/** The freshness TTL of a write: `TtlPolicy` (`src/ttl/`) fits. */
export interface FreshnessPolicy {
  ttl(
    dataType: DataType,
    assetType: AssetType,
    now: number,
  ): { readonly ttlMs: number; readonly expiresAt: number };
}

/** A read's answer. */
export interface CacheRead<V = unknown> {
  readonly key: string;
  /** Where it was answered: a tier, or upstream (a miss that was fetched). */
  readonly from: CacheLevel | 'upstream';
  /** Past its freshness, served inside its stale window. */
  readonly stale: boolean;
  /** False for a cached "not found" (negative caching). */
  readonly found: boolean;
  readonly value: V | undefined;
  readonly entry: CacheEntry<V>;
}

/** One symbol's outcome in a batch read. */
export type BatchReadResult<V = unknown> =
  | { readonly symbol: string; readonly status: 'ok'; readonly read: CacheRead<V> }
  | { readonly symbol: string; readonly status: 'error'; readonly error: Error };

/**
 * The app's answer to "may this read start `count` upstream fetches?": the
 * first `admitted` of them start; each of the others fails with
 * `refuse(i)` (i counts the refused ones from 0, in request order) as the
 * cause of its FetchFailedError, or is served stale when its
 * stale-if-error window allows.
 */
export interface FetchAdmission {
  readonly admitted: number;
  refuse(index: number): Error;
}

/** Options of a read-through (`read`, `readMany`). */
export interface ReadOptions {
  /**
   * Asked once per read, after L1 and L2, with the number of keys the read
   * would fetch upstream (misses this process is not already fetching: a
   * read that joins a running fetch costs nothing more). Not asked when
   * there is nothing to fetch, so a hit pays nothing for it. The app's
   * per-client upstream budget lives here; the cache knows no clients.
   */
  readonly admitFetch?: (count: number) => FetchAdmission | Promise<FetchAdmission>;
}

/** Asked of the app when a stale entry is served and should be refreshed in the background. */
export interface RevalidateRequest {
  readonly key: string;
  readonly dataType: DataType;
  readonly asset: AssetKey;
}

/** A fresh entry read near its expiry: refreshing it by `freshUntil` keeps the next reads fresh. */
export interface RefreshAheadRequest extends RevalidateRequest {
  /** When the entry read goes stale (its `softExpiresAt`, epoch ms). */
  readonly freshUntil: number;
}

/** Where a write came from and what it holds. */
export interface SetOptions {
  readonly dataType: DataType;
  /** The provider id the value came from. */
  readonly source: string;
  /** @defaultValue 'manual' */
  readonly writer?: WriteSource;
  /** Needed only when the key is not a `dataType:assetType:SYMBOL` key. */
  readonly assetType?: AssetType;
  /** @defaultValue now */
  readonly fetchedAt?: number;
}

/** The minimum of a pino logger the cache uses; pino's Logger fits. */
export interface CacheLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}
