import type { Clock, DataType } from '@fiml/market';
import type { CacheEntry } from '../l2/cache-entry.js';
import { bounded } from './bounded.js';
import { FetchTimeoutError } from './cache-errors.js';
import type { CacheEmitter } from './cache-emitter.js';
import type { Freshness } from './freshness.js';
import type { InvalidationBus, InvalidationMessage } from './invalidation-bus.js';
import type { KeyLocks, Lease } from './key-locks.js';
import { SKIPPED, type RedisGuard } from './redis-guard.js';
import type { TierStore } from './tier-store.js';
import type { AssetKey, LoadResult } from './types.js';

/** One key to fetch. */
export interface FetchItem {
  readonly key: string;
  readonly asset: AssetKey;
}

/** Where fetched data comes from: a route's batch loader, or a read-through fetch function. */
export interface FetchSource {
  /** Bounded: one per route ("equity:price") or "fetch-fn". */
  readonly id: string;
  load(items: readonly FetchItem[], signal: AbortSignal): Promise<ReadonlyMap<string, LoadResult>>;
}

export interface FetchCoordinatorOptions {
  readonly tiers: TierStore;
  readonly guard: RedisGuard;
  readonly freshness: Freshness;
  readonly events: CacheEmitter;
  readonly clock: Clock;
  /** Undefined without a cache Redis: every instance fetches for itself. */
  readonly locks: KeyLocks | undefined;
  readonly bus: InvalidationBus | undefined;
  /** How long to wait for another instance's fetch before fetching anyway, ms. */
  readonly lockWaitMs: number;
  /** Hard bound of one upstream load, ms; its AbortSignal fires then. */
  readonly fetchTimeoutMs: number;
}

/**
 * Fetches keys upstream at most once across instances:
 * 1. takes their Redis locks (one token per acquisition);
 * 2. re-reads L2 for the keys it locked (another instance may have written
 *    them between our miss and our lock) and fetches only what is still
 *    missing, renewing the lease while the fetch runs;
 * 3. stores the results newer-wins, releases the lease by compare-and-delete
 *    and wakes the waiters of keys it could not fetch;
 * 4. for keys another instance holds, waits for that holder's write
 *    (announced on the invalidation channel) and reads L2; past the wait
 *    bound it fetches anyway (availability over strictness).
 */
export class FetchCoordinator {
  readonly #o: FetchCoordinatorOptions;
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(options: FetchCoordinatorOptions) {
    this.#o = options;
  }

  /** Wakes readers waiting on keys another instance wrote or gave up. */
  onMessage(message: InvalidationMessage): void {
    for (const key of message.keys) {
      const waiters = this.#waiters.get(key);
      if (waiters) for (const wake of [...waiters]) wake();
    }
  }

  async fetch(
    source: FetchSource,
    dataType: DataType,
    items: readonly FetchItem[],
  ): Promise<Map<string, CacheEntry | Error>> {
    const { guard, locks } = this.#o;
    const results = new Map<string, CacheEntry | Error>();
    const deadline = performance.now() + this.#o.lockWaitMs;
    let pending = [...items];
    while (pending.length > 0) {
      const pastWait = performance.now() >= deadline;
      const lease =
        locks && !pastWait
          ? await guard.attempt('lock', 'acquire', () => locks.acquire(pending.map((i) => i.key)))
          : SKIPPED;
      const coordinated = lease !== SKIPPED;
      const mine = coordinated ? pending.filter((i) => lease.keys.has(i.key)) : pending;
      const theirs = coordinated ? pending.filter((i) => !lease.keys.has(i.key)) : [];
      if (mine.length > 0) {
        const fetched = coordinated
          ? await this.#underLease(source, dataType, mine, lease)
          : await this.#loadAndStore(source, dataType, mine);
        for (const [key, result] of fetched) results.set(key, result);
      }
      const waited = await Promise.all(theirs.map((item) => this.#awaitOther(item.key, deadline)));
      pending = theirs.filter((item, i) => {
        const entry = waited[i];
        if (entry) results.set(item.key, entry);
        return !entry;
      });
    }
    return results;
  }

  async #underLease(
    source: FetchSource,
    dataType: DataType,
    items: readonly FetchItem[],
    lease: Lease,
  ): Promise<Map<string, CacheEntry | Error>> {
    const { locks, guard, bus, tiers, freshness, clock } = this.#o;
    const stop = locks!.keepAlive(lease, (error) => guard.failed('lock', 'renew', error));
    const results = new Map<string, CacheEntry | Error>();
    try {
      // Someone may have written these between our miss and our lock: fetch only what is still missing.
      const { reads, since } = await tiers.readL2(items.map((i) => i.key));
      const now = clock.now();
      const missing = items.filter((item, i) => {
        const read = reads[i];
        if (read?.status !== 'hit' || freshness.phase(read.entry, now) !== 'fresh') return true;
        tiers.fillL1(item.key, read.entry, now, since);
        results.set(item.key, read.entry);
        return false;
      });
      if (missing.length > 0) {
        for (const [key, result] of await this.#loadAndStore(source, dataType, missing)) {
          results.set(key, result);
        }
      }
    } finally {
      stop();
      await guard.attempt('lock', 'release', () => locks!.release(lease));
      // Waiters of keys that were not written would otherwise sleep until their deadline.
      const failed = items.filter((i) => results.get(i.key) instanceof Error).map((i) => i.key);
      if (failed.length > 0 && bus) {
        await guard.attempt('invalidation', 'publish', () => bus.publish('release', failed));
      }
    }
    return results;
  }

  /** One upstream load, bounded by the hard timeout (its signal aborts then), stored newer-wins. */
  async #loadAndStore(
    source: FetchSource,
    dataType: DataType,
    items: readonly FetchItem[],
  ): Promise<Map<string, CacheEntry | Error>> {
    const { events, freshness, clock, tiers, fetchTimeoutMs } = this.#o;
    const started = performance.now();
    const out = new Map<string, CacheEntry | Error>();
    let loaded: ReadonlyMap<string, LoadResult>;
    try {
      // The loader's signal aborts when the bound fires, so its upstream call is cancelled too.
      const abort = new AbortController();
      loaded = await bounded(source.load(items, abort.signal), {
        timeoutMs: fetchTimeoutMs,
        what: `${source.id} load of ${items.length} key(s)`,
        onTimeout: (error) => abort.abort(error),
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      if (failure instanceof FetchTimeoutError) {
        events.emit('error', { component: 'fetch', operation: 'timeout', error: failure });
      }
      items.forEach((i) => out.set(i.key, failure));
      events.emit('fetch', {
        dataType,
        loader: source.id,
        keys: items.length,
        latencyMs: performance.now() - started,
        outcome: 'error',
      });
      return out;
    }
    const now = clock.now();
    const toStore: [string, CacheEntry][] = [];
    let errors = 0;
    let notFound = 0;
    for (const item of items) {
      const result = loaded.get(item.key);
      if (!result || 'error' in result) {
        // Omitted or failed: an error (never a cached not-found), so a fallback may still answer.
        errors += 1;
        out.set(
          item.key,
          result?.error ?? new Error(`${source.id} answered nothing for ${item.key}`),
        );
        continue;
      }
      if ('notFound' in result) notFound += 1;
      const entry = freshness.entry(dataType, item.asset.assetType, result, 'read-through', now);
      out.set(item.key, entry);
      toStore.push([item.key, entry]);
    }
    events.emit('fetch', {
      dataType,
      loader: source.id,
      keys: items.length,
      latencyMs: performance.now() - started,
      outcome:
        errors === items.length
          ? 'error'
          : errors > 0
            ? 'partial'
            : notFound === items.length
              ? 'not-found'
              : 'ok',
    });
    await tiers.store(toStore, false);
    return out;
  }

  /** Waits for another instance to write `key` (or give up its lock); resolves with the L2 entry, if any. */
  async #awaitOther(key: string, deadline: number): Promise<CacheEntry | undefined> {
    const { tiers, freshness, clock } = this.#o;
    const woken = this.#waitForMessage(key, Math.max(0, deadline - performance.now()));
    // Check after listening, so a write that lands in between is not missed.
    const before = await tiers.readL2([key]);
    const first = before.reads[0];
    if (first?.status === 'hit' && freshness.phase(first.entry, clock.now()) === 'fresh') {
      woken.cancel();
      return tiers.fillL1(key, first.entry, clock.now(), before.since).entry;
    }
    await woken.promise;
    const after = await tiers.readL2([key]);
    const second = after.reads[0];
    if (second?.status === 'hit' && freshness.phase(second.entry, clock.now()) === 'fresh') {
      return tiers.fillL1(key, second.entry, clock.now(), after.since).entry;
    }
    return undefined;
  }

  #waitForMessage(key: string, timeoutMs: number): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    let waiters = this.#waiters.get(key);
    if (!waiters) this.#waiters.set(key, (waiters = new Set()));
    const finish = () => {
      clearTimeout(timer);
      const set = this.#waiters.get(key);
      set?.delete(finish);
      if (set?.size === 0) this.#waiters.delete(key);
      done();
    };
    const timer = setTimeout(finish, timeoutMs);
    waiters.add(finish);
    return { promise, cancel: finish };
  }
}
