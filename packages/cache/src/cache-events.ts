import type { DataType } from '@fiml/market';

/**
 * The events a CacheManager emits for everything it does. Analytics and the
 * Prometheus bridge subscribe to these; the cache itself never imports a
 * metrics library. Every field comes from a bounded set or is a number, so a
 * subscriber can turn any of them into a metric label safely — except `key`,
 * which is for logs and per-key accounting only, never for labels.
 */

/** Where a read was answered. */
export type CacheLevel = 'l1' | 'l2';

/** Who wrote an entry: the read path, a warming cycle, the batch-scheduler, or a direct set. */
export type WriteSource = 'read-through' | 'warmer' | 'scheduler' | 'manual';
export const WRITE_SOURCES: readonly WriteSource[] = [
  'read-through',
  'warmer',
  'scheduler',
  'manual',
];

/** Why an entry left the L1. */
export type EvictionCause = 'capacity' | 'admission-rejected' | 'expired' | 'invalidated';

/** A read answered from a tier. `stale` reads were past their freshness. */
export interface CacheHitEvent {
  readonly key: string;
  readonly dataType: DataType;
  readonly level: CacheLevel;
  readonly latencyMs: number;
  readonly stale: boolean;
  /** Who wrote the entry that answered (a warmed entry read counts toward warm precision). */
  readonly writer: WriteSource;
  /** When the answering entry was fetched: with `key`, it names the entry. */
  readonly fetchedAt: number;
}

/** A read that neither tier could answer fresh or stale; the value was fetched (or failed). */
export interface CacheMissEvent {
  readonly key: string;
  readonly dataType: DataType;
  /** Time to answer the read, including the upstream fetch. */
  readonly latencyMs: number;
}

/** A stale value was served: inside its revalidation window, or because the fetch failed. */
export interface CacheStaleServedEvent {
  readonly key: string;
  readonly dataType: DataType;
  readonly level: CacheLevel;
  readonly ageMs: number;
  /** Why stale data was served: inside the revalidation window, the fetch failed, or it passed the soft timeout. */
  readonly reason: 'revalidate' | 'fetch-error' | 'soft-timeout';
}

/** One upstream fetch made by the read path (one batch for a coalesced loader). */
export interface CacheFetchEvent {
  readonly dataType: DataType;
  /** The loader or fetch function's source ("equity:price" loader id, or the entry's provider). */
  readonly loader: string;
  /** Keys in this fetch (1 for a plain fetchFn). */
  readonly keys: number;
  readonly latencyMs: number;
  readonly outcome: 'ok' | 'partial' | 'not-found' | 'error';
}

/** An entry was written to the cache. */
export interface CacheSetEvent {
  readonly key: string;
  readonly dataType: DataType;
  readonly writer: WriteSource;
  readonly ttlMs: number;
  /** The tiers written: L1 only when L2 is unavailable. */
  readonly levels: readonly CacheLevel[];
}

/** An entry left this process's L1. `wasRead` false means it was written for nothing (pollution). */
export interface CacheEvictEvent {
  readonly key: string;
  readonly dataType: DataType;
  readonly level: 'l1';
  readonly cause: EvictionCause;
  readonly writer: WriteSource;
  readonly wasRead: boolean;
}

/** Where a cache error happened (a bounded set: it is a metric label). */
export type CacheErrorComponent =
  'l2' | 'lock' | 'invalidation' | 'fetch' | 'revalidate' | 'writer' | 'listener';

/** What was being done (a bounded set: it is a metric label). */
export type CacheErrorOperation =
  | 'get'
  | 'set'
  | 'delete'
  | 'publish'
  | 'subscribe'
  | 'parse'
  | 'acquire'
  | 'release'
  | 'renew'
  | 'decode'
  | 'l1-set'
  | 'enqueue'
  | 'load'
  | 'timeout'
  | 'emit';

/** Every component and operation, for metrics that pre-create their series. */
export const CACHE_ERROR_COMPONENTS: readonly CacheErrorComponent[] = [
  'l2',
  'lock',
  'invalidation',
  'fetch',
  'revalidate',
  'writer',
  'listener',
];

/** Something failed; the read was still answered where possible. */
export interface CacheErrorEvent {
  readonly component: CacheErrorComponent;
  readonly operation: CacheErrorOperation;
  readonly error: Error;
  readonly key?: string;
}

/** The L2 circuit breaker changed state. */
export interface CacheCircuitEvent {
  readonly state: 'open' | 'half-open' | 'closed';
  readonly failures: number;
}

/** Keys were dropped from L1 because of a write elsewhere (remote) or here (local). */
export interface CacheInvalidateEvent {
  readonly keys: number;
  readonly origin: 'local' | 'remote' | 'reconnect';
}

export interface CacheEvents {
  hit: (event: CacheHitEvent) => void;
  miss: (event: CacheMissEvent) => void;
  'stale-served': (event: CacheStaleServedEvent) => void;
  fetch: (event: CacheFetchEvent) => void;
  set: (event: CacheSetEvent) => void;
  evict: (event: CacheEvictEvent) => void;
  error: (event: CacheErrorEvent) => void;
  circuit: (event: CacheCircuitEvent) => void;
  invalidate: (event: CacheInvalidateEvent) => void;
}

export type CacheEventName = keyof CacheEvents;

/** What a subscriber needs: a typed `on`/`off`, as CacheManager provides. */
export interface CacheEventSource {
  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): unknown;
  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): unknown;
}
