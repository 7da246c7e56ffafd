import type { Clock } from '@fiml/market';
import type { CacheLevel, EvictionCause } from '../cache-events.js';
import type { L1Cache } from '../l1/l1-cache.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import type { L2Read, L2Store } from '../l2/l2-store.js';
import type { WriteOutcome } from '../l2/write-outcome.js';
import type { CacheEmitter } from './cache-emitter.js';
import type { InvalidationBus } from './invalidation-bus.js';
import { SKIPPED, type RedisGuard } from './redis-guard.js';

/** What the L1 holds: the entry, and whether anyone read it (for pollution accounting). */
export interface L1Value {
  readonly entry: CacheEntry;
  read: boolean;
}

/** L2 reads of one batch, and the invalidation sequence number they started at. */
export interface L2Batch {
  readonly reads: readonly (L2Read | undefined)[];
  readonly since: number;
}

const MAX_TRACKED_INVALIDATIONS = 10_000;

interface PendingRead {
  readonly keys: readonly string[];
  readonly resolve: (reads: (L2Read | undefined)[]) => void;
}

/**
 * The two tiers behind one face: L1 in this process, L2 in Redis behind the
 * {@link RedisGuard}, and the invalidation bus that keeps other instances'
 * L1s coherent.
 *
 * Newer wins at every level: L2 stores through the set-if-newer script; the
 * L1 keeps the entry fetched later when two meet; and an L2 reply that left
 * Redis before an invalidation of its key arrived never fills the L1 (every
 * invalidation takes a sequence number; a read remembers the number it
 * started at).
 *
 * L2 reads made in one tick by any number of callers go out as one MGET, so
 * a burst of concurrent misses reaches the upstream loaders together.
 */
export class TierStore {
  readonly l1: L1Cache<L1Value>;
  readonly l2: L2Store | undefined;
  readonly #guard: RedisGuard;
  readonly #events: CacheEmitter;
  readonly #clock: Clock;
  readonly #bus: InvalidationBus | undefined;
  #seq = 0;
  #forgottenBefore = 0;
  /** Per key: the sequence number of its last invalidation, and the fetchedAt a write announced with it. */
  readonly #invalidatedAt = new Map<string, { seq: number; atLeast: number | undefined }>();
  #pendingReads: PendingRead[] | undefined;

  constructor(options: {
    l1: L1Cache<L1Value>;
    l2: L2Store | undefined;
    bus: InvalidationBus | undefined;
    guard: RedisGuard;
    events: CacheEmitter;
    clock: Clock;
  }) {
    this.l1 = options.l1;
    this.l2 = options.l2;
    this.#bus = options.bus;
    this.#guard = options.guard;
    this.#events = options.events;
    this.#clock = options.clock;
    this.l1.on('evict', ({ key, value, reason }) => this.emitEvict(key, value, reason));
    this.l1.on('expire', ({ key, value }) => this.emitEvict(key, value, 'expired'));
  }

  /** The invalidation sequence number now: a read started now compares against it. */
  get sequence(): number {
    return this.#seq;
  }

  /**
   * Reads keys from L2, batched with every other read of this tick into one
   * MGET. Undefined per key when L2 was skipped (none, circuit open, error).
   */
  readL2(keys: readonly string[]): Promise<L2Batch> {
    const since = this.#seq;
    if (!this.l2 || keys.length === 0) {
      return Promise.resolve({ reads: keys.map(() => undefined), since });
    }
    return new Promise<(L2Read | undefined)[]>((resolve) => {
      if (!this.#pendingReads) {
        this.#pendingReads = [];
        process.nextTick(() => void this.#flushReads());
      }
      this.#pendingReads.push({ keys, resolve });
    }).then((reads) => ({ reads, since }));
  }

  async #flushReads(): Promise<void> {
    const batch = this.#pendingReads ?? [];
    this.#pendingReads = undefined;
    const unique = [...new Set(batch.flatMap((read) => read.keys))];
    const result = await this.#guard.attempt('l2', 'get', () => this.l2!.getMany(unique));
    const byKey = new Map<string, L2Read | undefined>();
    unique.forEach((key, i) => byKey.set(key, result === SKIPPED ? undefined : result[i]));
    for (const read of batch) read.resolve(read.keys.map((key) => byKey.get(key)));
  }

  /**
   * Puts an entry into L1 unless L1 holds one fetched later, or (`since`
   * given) the key was invalidated after the read that found it started.
   * Returns what L1 holds for the key afterwards (or the entry, if L1 refused it).
   */
  fillL1(key: string, entry: CacheEntry, now: number, since?: number): L1Value {
    const held = this.l1.peek(key);
    if (held && held.entry.fetchedAt > entry.fetchedAt) return held;
    const fresh: L1Value = { entry, read: false };
    if (since !== undefined && this.#invalidatedSince(key, since, entry.fetchedAt)) return fresh;
    const ttlMs = entry.hardExpiresAt - now;
    if (ttlMs <= 0) return fresh;
    try {
      this.l1.set(key, fresh, { ttlMs });
    } catch (error) {
      // Every L1 entry protected and the cache full: the value still lives in L2.
      this.#events.emit('error', {
        component: 'l2',
        operation: 'l1-set',
        error: error instanceof Error ? error : new Error(String(error)),
        key,
      });
    }
    return fresh;
  }

  /**
   * Writes entries to both tiers and tells the other instances: L1 (newer
   * wins), L2 by set-if-newer in one round trip, then one invalidation
   * message for the keys L2 took. An entry L2 refused because a newer one is
   * there leaves L1 too, so the next read finds the newer one.
   *
   * `strict`: a write L2 did not take, or an invalidation not published,
   * rejects with CacheUnavailableError (explicit writes). Otherwise failures
   * are reported as events and outcomes only (the read path).
   */
  async store(
    entries: readonly (readonly [string, CacheEntry])[],
    strict: boolean,
  ): Promise<WriteOutcome[]> {
    if (entries.length === 0) return [];
    const now = this.#clock.now();
    for (const [key, entry] of entries) this.fillL1(key, entry, now);
    if (!this.l2) {
      this.#emitSets(entries, () => false);
      return entries.map(([key]) => ({ key, status: 'written' }));
    }
    const l2 = this.l2;
    const result = await this.#guard.attempt('l2', 'set', () => l2.setMany(entries));
    const outcomes: WriteOutcome[] =
      result === SKIPPED
        ? entries.map(([key]) => ({
            key,
            status: 'failed',
            error: this.#guard.unavailable('set'),
          }))
        : result;
    const failed = outcomes.find((o) => o.status === 'failed');
    if (failed && result !== SKIPPED && failed.status === 'failed') {
      this.#guard.failed('l2', 'set', failed.error, failed.key);
    }
    const written = new Set<string>();
    for (const outcome of outcomes) {
      if (outcome.status === 'written') written.add(outcome.key);
      else if (outcome.status === 'skipped' && outcome.reason === 'newer') {
        this.#drop([outcome.key], 'invalidated');
      }
    }
    this.#emitSets(entries, (key) => written.has(key));
    if (strict && failed) throw this.#guard.unavailable('set');
    if (written.size > 0 && this.#bus) {
      const bus = this.#bus;
      const keys = entries.filter(([key]) => written.has(key));
      const publish = () =>
        bus.publish(
          'set',
          keys.map(([key]) => key),
          keys.map(([, entry]) => entry.fetchedAt),
        );
      if (strict) await this.#guard.require('invalidation', 'publish', publish);
      else await this.#guard.attempt('invalidation', 'publish', publish);
    }
    return outcomes;
  }

  /** Removes keys from this L1 now, and from L2 and every other instance's L1; rejects if L2 or the bus did not take it. */
  async invalidate(keys: readonly string[]): Promise<void> {
    this.dropLocal(keys);
    this.#events.emit('invalidate', { keys: keys.length, origin: 'local' });
    if (!this.l2) return;
    const l2 = this.l2;
    await this.#guard.require('l2', 'delete', () => l2.delete(keys));
    const bus = this.#bus;
    if (bus)
      await this.#guard.require('invalidation', 'publish', () => bus.publish('delete', keys));
  }

  /**
   * Drops keys from this L1 because they changed elsewhere. An L2 read of
   * them already in flight will not fill L1, unless `fetchedAt` (a write's
   * announcement) says its reply is at least that new.
   */
  dropLocal(keys: readonly string[], fetchedAt?: readonly number[]): void {
    this.#drop(keys, 'invalidated', fetchedAt);
  }

  /** Every L1 entry is suspect (the invalidation channel was down): drop them all. */
  clearLocal(): number {
    const dropped = this.l1.size;
    this.l1.clear();
    this.#seq += 1;
    this.#forgottenBefore = this.#seq;
    this.#invalidatedAt.clear();
    return dropped;
  }

  emitEvict(key: string, held: L1Value, cause: EvictionCause): void {
    this.#events.emit('evict', {
      key,
      dataType: held.entry.dataType,
      level: 'l1',
      cause,
      writer: held.entry.writer,
      wasRead: held.read,
    });
  }

  #drop(keys: readonly string[], cause: EvictionCause, fetchedAt?: readonly number[]): void {
    this.#seq += 1;
    if (this.#invalidatedAt.size + keys.length > MAX_TRACKED_INVALIDATIONS) {
      // Forget the details, conservatively: reads older than now fill no L1.
      this.#invalidatedAt.clear();
      this.#forgottenBefore = this.#seq;
    }
    for (const [i, key] of keys.entries()) {
      this.#invalidatedAt.set(key, { seq: this.#seq, atLeast: fetchedAt?.[i] });
      const held = this.l1.peek(key);
      if (held && this.l1.delete(key)) this.emitEvict(key, held, cause);
    }
  }

  /** Whether an invalidation of `key` after `since` rules out filling L1 with an entry fetched at `fetchedAt`. */
  #invalidatedSince(key: string, since: number, fetchedAt: number): boolean {
    const last = this.#invalidatedAt.get(key);
    if (!last) return this.#forgottenBefore > since;
    if (last.seq <= since) return false;
    return last.atLeast === undefined || fetchedAt < last.atLeast;
  }

  #emitSets(
    entries: readonly (readonly [string, CacheEntry])[],
    inL2: (key: string) => boolean,
  ): void {
    if (!this.#events.listens('set')) return;
    for (const [key, entry] of entries) {
      const levels: CacheLevel[] = inL2(key) ? ['l1', 'l2'] : ['l1'];
      this.#events.emit('set', {
        key,
        dataType: entry.dataType,
        writer: entry.writer,
        ttlMs: entry.ttlMs,
        levels,
      });
    }
  }
}
