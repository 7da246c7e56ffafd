import type { Clock } from '@fiml/market';
import { AdaptiveStrategy } from './adaptive-strategy.js';
import { EvictionLog, type EvictionReason, type EvictionRecord } from './eviction-log.js';
import { EvictionPolicy } from './eviction-policy.js';
import type { EvictionStrategy } from './eviction-strategy.js';
import { HybridStrategy } from './hybrid-strategy.js';
import { L1CacheError } from './l1-cache-error.js';
import {
  resolveOptions,
  ttl,
  type L1CacheOptions,
  type L1SetOptions,
  type ResolvedOptions,
} from './l1-cache-options.js';
import { LfuStrategy } from './lfu-strategy.js';
import { LruStrategy } from './lru-strategy.js';
import { ProtectionRules } from './protection-rules.js';
import { NONE } from './slot-lists.js';

/** Slots examined for expired entries per write (the bounded incremental sweep). */
const SWEEP_PER_WRITE = 4;

/** An entry evicted to make room. */
export interface L1EvictEvent<V> {
  readonly key: string;
  readonly value: V;
  readonly reason: Exclude<EvictionReason, 'expired'>;
  readonly policy: EvictionPolicy;
}

/** An entry removed because its TTL passed (found by a read, a write's sweep, or a capacity eviction). */
export interface L1ExpireEvent<V> {
  readonly key: string;
  readonly value: V;
}

/**
 * Listeners by event name. They run synchronously, after the operation that
 * caused the event has completed; if one throws, the others still run and the
 * first error is rethrown from that operation (which has taken effect). A
 * write that is refused still reports the expiries its sweep found first.
 */
export interface L1CacheEvents<V> {
  evict: (event: L1EvictEvent<V>) => void;
  expire: (event: L1ExpireEvent<V>) => void;
}

/** Counters since construction (clear() empties the cache, not the counters). */
export interface L1CacheStats {
  readonly policy: EvictionPolicy;
  readonly hits: number;
  readonly misses: number;
  /** hits / (hits + misses); 0 before the first read. */
  readonly hitRate: number;
  readonly sets: number;
  readonly evictions: Readonly<Record<EvictionReason, number>>;
  readonly entries: number;
  readonly bytes: number;
  readonly protectedEntries: number;
  readonly maxEntries: number;
  /** undefined when there is no byte bound. */
  readonly maxBytes: number | undefined;
  /**
   * ADAPTIVE only: the admission window's current size in entries, as the
   * hill climber has set it (small: frequency-biased, large: recency-biased).
   */
  readonly adaptiveWindow: number | undefined;
}

type Listeners<V> = { [E in keyof L1CacheEvents<V>]: L1CacheEvents<V>[E][] };
type PendingEvent<V> =
  | { readonly type: 'evict'; readonly event: L1EvictEvent<V> }
  | { readonly type: 'expire'; readonly event: L1ExpireEvent<V> };

/**
 * The in-process cache (L1): string keys, bounded by entry count and
 * optionally by bytes, with a choice of eviction policy, protected keys and
 * per-entry TTL. Pure: no timers, no I/O; time comes from the injected clock.
 *
 * Layout, written for speed on purpose (as node-lru-cache is): every entry
 * lives in a numbered slot 0..maxEntries-1. A Map gives key -> slot; keys and
 * values sit in two preallocated arrays indexed by slot; expiry times, sizes
 * and protection flags are typed arrays allocated only once the feature is
 * used; freed slots go on a stack and are reused before fresh ones. The
 * eviction policy is an {@link EvictionStrategy} that sees only slot numbers.
 */
export class L1Cache<V> {
  readonly #options: ResolvedOptions<V>;
  readonly #maxEntries: number;
  /** +Infinity when there is no byte bound, so the comparisons need no branch. */
  readonly #maxBytes: number;
  readonly #clock: Clock;
  readonly #strategy: EvictionStrategy;
  /** The strategy again when it is LRU, whose hit get() handles inline. */
  readonly #lru: LruStrategy | undefined;
  readonly #keyMap = new Map<string, number>();
  readonly #keys: (string | undefined)[];
  readonly #values: (V | undefined)[];
  /** expiresAt[slot], epoch ms; 0 = never. Allocated on the first write with a TTL. */
  #expiresAt: Float64Array | undefined;
  /** sizes[slot] in bytes; allocated when sizeOf is given. */
  readonly #sizes: Float64Array | undefined;
  /** protectedFlags[slot] = 1 while the entry is protected; allocated on first protection. */
  #protectedFlags: Uint8Array | undefined;
  /** Stack of freed slots; free[0..freeTop-1]. */
  readonly #free: Int32Array;
  #freeTop = 0;
  /** Slots at and above this have never been used. */
  #fresh = 0;
  #sweepHand = 0;
  #bytes = 0;
  #protectedEntries = 0;
  #protectedBytes = 0;
  readonly #protection: ProtectionRules;
  readonly #log: EvictionLog | undefined;

  #hits = 0;
  #misses = 0;
  #sets = 0;
  #evictedCapacity = 0;
  #evictedExpired = 0;
  #evictedRejected = 0;

  readonly #listeners: Listeners<V> = { evict: [], expire: [] };
  /** Events are queued during an operation and delivered when it is complete. */
  #pending: PendingEvent<V>[] = [];

  constructor(options: L1CacheOptions<V>) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    const max = resolved.maxEntries;
    this.#maxEntries = max;
    this.#maxBytes = resolved.maxBytes;
    this.#clock = resolved.clock;
    this.#strategy = createStrategy(resolved);
    this.#lru = this.#strategy instanceof LruStrategy ? this.#strategy : undefined;
    this.#keys = new Array<string | undefined>(max).fill(undefined);
    this.#values = new Array<V | undefined>(max).fill(undefined);
    this.#expiresAt = undefined;
    this.#sizes = resolved.sizeOf === undefined ? undefined : new Float64Array(max);
    this.#protectedFlags = undefined;
    this.#free = new Int32Array(max);
    this.#log =
      resolved.evictionLogSize > 0
        ? new EvictionLog(resolved.evictionLogSize, resolved.evictionPolicy)
        : undefined;
    this.#protection = new ProtectionRules(max);
    resolved.protectedPatterns.forEach((pattern, i) =>
      this.#protection.add(pattern, `protectedPatterns[${i}]`),
    );
  }

  /** The policy this cache runs. */
  get policy(): EvictionPolicy {
    return this.#strategy.policy;
  }

  /** Entries held, including expired ones not yet found by a read or the sweep. */
  get size(): number {
    return this.#keyMap.size;
  }

  /** Sum of sizeOf over the entries held (0 without sizeOf). */
  get bytes(): number {
    return this.#bytes;
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /**
   * The value for `key`, or undefined on a miss (absent or expired). Counts a
   * hit or miss and tells the eviction policy about the use.
   *
   * Hot path: one Map lookup, one clock read only if the entry has a TTL, one
   * byte read only if anything was ever protected, then the policy's O(1)
   * bookkeeping (O(log n) for HYBRID). An LRU hit is handled right here: the
   * same steps as LruStrategy.access, inlined by hand because V8 stops
   * inlining the strategy call once several policies run in one process.
   */
  get(key: string): V | undefined {
    const slot = this.#keyMap.get(key);
    if (slot === undefined) {
      this.#misses++;
      return undefined;
    }
    const expiresAt = this.#expiresAt;
    if (expiresAt !== undefined) {
      const at = expiresAt[slot]!;
      if (at !== 0 && at <= this.#clock.now()) {
        this.#remove(slot, 'expired', at);
        this.#misses++;
        if (this.#pending.length !== 0) this.#flush();
        return undefined;
      }
    }
    this.#hits++;
    const flags = this.#protectedFlags;
    if (flags === undefined || flags[slot] === 0) {
      const lru = this.#lru;
      if (lru === undefined) this.#strategy.access(slot);
      else if (slot !== lru.tail) {
        // Unhook the slot (the head has no predecessor to fix), relink it at the tail.
        const prev = lru.prev;
        const next = lru.next;
        const after = next[slot]!;
        if (slot === lru.head) lru.head = after;
        else {
          const before = prev[slot]!;
          next[before] = after;
          prev[after] = before;
        }
        const tail = lru.tail;
        prev[slot] = tail;
        next[tail] = slot;
        lru.tail = slot;
      }
    }
    return this.#values[slot];
  }

  /** Like get, but side-effect free: no stats, no recency or frequency change, no expiry removal. */
  peek(key: string): V | undefined {
    const slot = this.#keyMap.get(key);
    if (slot === undefined || this.#isExpired(slot)) return undefined;
    return this.#values[slot];
  }

  /** Whether `key` is held and not expired; side-effect free like peek. */
  has(key: string): boolean {
    const slot = this.#keyMap.get(key);
    return slot !== undefined && !this.#isExpired(slot);
  }

  /**
   * Stores `value` under `key`, evicting by policy when the cache is full.
   * Protected keys are never evicted for capacity; when nothing else is left
   * to evict this throws an {@link L1CacheError} and the cache is unchanged.
   * @throws TypeError for a non-string key, RangeError for a bad ttlMs or sizeOf result
   */
  set(key: string, value: V, options?: L1SetOptions): this {
    try {
      this.#set(key, value, options);
    } catch (error) {
      // The sweep may have expired entries before the write was refused: say so.
      this.#flushAfter(error);
    }
    if (this.#pending.length !== 0) this.#flush();
    return this;
  }

  /** get for each key, in order: the result lines up with `keys` (undefined for a miss). */
  getMany(keys: readonly string[]): (V | undefined)[] {
    const out = new Array<V | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = this.get(keys[i]!);
    return out;
  }

  /**
   * set for each `[key, value, options?]`, in order. Every key and ttlMs is
   * checked before anything is written; a capacity error part-way leaves the
   * earlier entries written.
   */
  setMany(entries: Iterable<readonly [key: string, value: V, options?: L1SetOptions]>): this {
    const list = Array.from(entries);
    list.forEach(([key, , options], i) => {
      checkKey(key, `setMany: entries[${i}] key`);
      if (options?.ttlMs !== undefined) ttl(options.ttlMs, `setMany: entries[${i}] ttlMs`);
    });
    try {
      for (const [key, value, options] of list) this.#set(key, value, options);
    } catch (error) {
      this.#flushAfter(error);
    }
    if (this.#pending.length !== 0) this.#flush();
    return this;
  }

  /** Removes `key` (protected or not); no event. Returns whether it was held. */
  delete(key: string): boolean {
    const slot = this.#keyMap.get(key);
    if (slot === undefined) return false;
    this.#remove(slot, undefined, 0);
    return true;
  }

  /** Removes every entry (no events). Protection rules and counters stay. */
  clear(): void {
    this.#keyMap.clear();
    this.#keys.fill(undefined);
    this.#values.fill(undefined);
    this.#expiresAt?.fill(0);
    this.#sizes?.fill(0);
    this.#protectedFlags?.fill(0);
    this.#strategy.clear();
    this.#freeTop = 0;
    this.#fresh = 0;
    this.#sweepHand = 0;
    this.#bytes = 0;
    this.#protectedEntries = 0;
    this.#protectedBytes = 0;
  }

  /**
   * Protects an exact key or, when the argument contains `*`, every key
   * matching that pattern, now and in future writes. Protected entries are
   * never evicted for capacity (they still expire and can be deleted). Costs a
   * pass over all entries for a pattern.
   * @throws TypeError/RangeError for an empty or all-wildcard argument, or past the registration bounds
   */
  protectKey(keyOrPattern: string): this {
    if (!this.#protection.add(keyOrPattern, 'protectKey(keyOrPattern)')) return this;
    if (!keyOrPattern.includes('*')) {
      const slot = this.#keyMap.get(keyOrPattern);
      if (slot !== undefined) this.#protectSlot(slot);
    } else {
      for (const [key, slot] of this.#keyMap)
        if (this.#protection.matches(key)) this.#protectSlot(slot);
    }
    return this;
  }

  /**
   * Removes a registration made by protectKey or protectedPatterns (the same
   * string). Entries no other rule protects become evictable again and rejoin
   * the policy as if just written.
   */
  unprotectKey(keyOrPattern: string): this {
    if (!this.#protection.remove(keyOrPattern, 'unprotectKey(keyOrPattern)')) return this;
    const flags = this.#protectedFlags;
    if (flags === undefined || this.#protectedEntries === 0) return this;
    const release = (key: string, slot: number): void => {
      if (flags[slot] !== 0 && !this.#protection.matches(key)) {
        flags[slot] = 0;
        this.#protectedEntries--;
        this.#protectedBytes -= this.#sizes?.[slot] ?? 0;
        this.#strategy.insert(slot, key);
      }
    };
    if (!keyOrPattern.includes('*')) {
      const slot = this.#keyMap.get(keyOrPattern);
      if (slot !== undefined) release(keyOrPattern, slot);
    } else {
      for (const [key, slot] of this.#keyMap) release(key, slot);
    }
    return this;
  }

  /** Whether `key` is protected by an exact registration or a pattern (held or not). */
  isProtected(key: string): boolean {
    return !this.#protection.isEmpty && this.#protection.matches(key);
  }

  /** The registered protected keys and patterns. */
  protectedRules(): { keys: string[]; patterns: string[] } {
    return this.#protection.list();
  }

  /**
   * Removes expired entries among the next `maxSlots` slots of the sweep (all
   * slots by default). Writes already sweep a few slots each; call this from a
   * timer to reclaim memory in a cache that is read but rarely written.
   * Returns how many entries expired.
   */
  sweepExpired(maxSlots: number = this.#maxEntries): number {
    if (!Number.isInteger(maxSlots) || maxSlots < 0) {
      throw new RangeError(
        `sweepExpired(maxSlots): maxSlots must be an integer >= 0, got ${maxSlots}`,
      );
    }
    if (this.#expiresAt === undefined) return 0;
    const before = this.#evictedExpired;
    this.#sweep(this.#clock.now(), Math.min(maxSlots, this.#maxEntries));
    if (this.#pending.length !== 0) this.#flush();
    return this.#evictedExpired - before;
  }

  stats(): L1CacheStats {
    const reads = this.#hits + this.#misses;
    return {
      policy: this.#strategy.policy,
      hits: this.#hits,
      misses: this.#misses,
      hitRate: reads === 0 ? 0 : this.#hits / reads,
      sets: this.#sets,
      evictions: {
        capacity: this.#evictedCapacity,
        expired: this.#evictedExpired,
        'admission-rejected': this.#evictedRejected,
      },
      entries: this.#keyMap.size,
      bytes: this.#bytes,
      protectedEntries: this.#protectedEntries,
      maxEntries: this.#maxEntries,
      maxBytes: Number.isFinite(this.#maxBytes) ? this.#maxBytes : undefined,
      adaptiveWindow:
        this.#strategy instanceof AdaptiveStrategy ? this.#strategy.shape.window : undefined,
    };
  }

  /** The most recent evictions (capacity, admission-rejected and expired), newest first. */
  evictionLog(limit: number = this.#options.evictionLogSize): EvictionRecord[] {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new RangeError(`evictionLog(limit): limit must be an integer >= 0, got ${limit}`);
    }
    return this.#log?.recent(limit) ?? [];
  }

  on<E extends keyof L1CacheEvents<V>>(event: E, listener: L1CacheEvents<V>[E]): this {
    checkEvent(event);
    (this.#listeners[event] as L1CacheEvents<V>[E][]).push(listener);
    return this;
  }

  off<E extends keyof L1CacheEvents<V>>(event: E, listener: L1CacheEvents<V>[E]): this {
    checkEvent(event);
    const list = this.#listeners[event] as L1CacheEvents<V>[E][];
    const index = list.lastIndexOf(listener);
    if (index >= 0) list.splice(index, 1);
    return this;
  }

  #set(key: string, value: V, options: L1SetOptions | undefined): void {
    checkKey(key, 'key');
    const ttlMs =
      options?.ttlMs === undefined ? this.#options.defaultTtlMs : ttl(options.ttlMs, 'ttlMs');
    const size = this.#measure(value, key);
    let now = 0;
    if (ttlMs !== 0 || this.#expiresAt !== undefined) {
      now = this.#clock.now();
      // The bounded incremental sweep: a few slots per write, so expired
      // entries nobody reads still leave, at a fixed cost per write.
      if (this.#expiresAt !== undefined) this.#sweep(now, SWEEP_PER_WRITE);
    }
    const slot = this.#keyMap.get(key);
    if (slot === undefined) this.#insert(key, value, size, ttlMs, now);
    else this.#update(slot, key, value, size, ttlMs, now);
    this.#sets++;
  }

  #insert(key: string, value: V, size: number, ttlMs: number, now: number): void {
    const isProtected = !this.#protection.isEmpty && this.#protection.matches(key);
    if (this.#keyMap.size >= this.#maxEntries || this.#bytes + size > this.#maxBytes) {
      this.#makeRoom(key, size);
    }
    // A slot: reuse a freed one first, else the next never-used one.
    const slot = this.#freeTop > 0 ? this.#free[--this.#freeTop]! : this.#fresh++;
    this.#keyMap.set(key, slot);
    this.#keys[slot] = key;
    this.#values[slot] = value;
    if (ttlMs !== 0) (this.#expiresAt ??= new Float64Array(this.#maxEntries))[slot] = now + ttlMs;
    if (this.#sizes !== undefined) {
      this.#sizes[slot] = size;
      this.#bytes += size;
    }
    if (isProtected) this.#markProtected(slot, size);
    else this.#strategy.insert(slot, key);
  }

  #update(slot: number, key: string, value: V, size: number, ttlMs: number, now: number): void {
    const oldSize = this.#sizes?.[slot] ?? 0;
    const isProtected = this.#protectedFlags !== undefined && this.#protectedFlags[slot] !== 0;
    const grows = this.#bytes - oldSize + size > this.#maxBytes;
    if (grows) {
      // Others must make room; check first so that a refusal leaves the cache unchanged.
      const pinned = this.#protectedBytes - (isProtected ? oldSize : 0) + size;
      if (pinned > this.#maxBytes) throw tooLarge(key, size, this.#maxBytes, this.#protectedBytes);
    }
    this.#values[slot] = value;
    if (ttlMs !== 0) (this.#expiresAt ??= new Float64Array(this.#maxEntries))[slot] = now + ttlMs;
    else if (this.#expiresAt !== undefined) this.#expiresAt[slot] = 0;
    if (this.#sizes !== undefined) {
      this.#sizes[slot] = size;
      this.#bytes += size - oldSize;
      if (isProtected) this.#protectedBytes += size - oldSize;
    }
    if (!grows) {
      if (!isProtected) this.#strategy.update(slot);
      return;
    }
    // An unprotected entry is taken off the policy while room is made, so that
    // it cannot pick this entry, then readmitted as if new (its LRU/LFU
    // standing is reset; only byte-bounded caches pay this).
    if (!isProtected) this.#strategy.remove(slot);
    this.#evictUntil(false, 0);
    if (!isProtected) this.#strategy.insert(slot, key);
  }

  /** Evicts until one more entry of `size` bytes fits, or throws with the cache unchanged. */
  #makeRoom(key: string, size: number): void {
    if (this.#keyMap.size >= this.#maxEntries && this.#protectedEntries >= this.#maxEntries) {
      throw new L1CacheError(
        'FIML_L1_ALL_PROTECTED',
        `cannot store ${JSON.stringify(key)}: all ${this.#maxEntries} entries are protected; ` +
          'unprotect or delete some, or raise maxEntries',
      );
    }
    if (this.#protectedBytes + size > this.#maxBytes) {
      throw tooLarge(key, size, this.#maxBytes, this.#protectedBytes);
    }
    this.#evictUntil(true, size);
  }

  /**
   * Evicts the policy's victims until the bounds leave room for one more entry
   * of `size` bytes (`newEntry`), or until they simply hold (an update that
   * grew is already counted).
   */
  #evictUntil(newEntry: boolean, size: number): void {
    const countLimit = newEntry ? this.#maxEntries - 1 : this.#maxEntries;
    while (this.#keyMap.size > countLimit || this.#bytes + size > this.#maxBytes) {
      const victim = this.#strategy.victim();
      if (victim === NONE)
        throw new Error('L1Cache invariant broken: over capacity with nothing evictable');
      // An entry already past its TTL leaves as expired, not as a capacity eviction.
      const expiresAt = this.#expiresAt?.[victim] ?? 0;
      if (expiresAt !== 0 && expiresAt <= this.#clock.now())
        this.#remove(victim, 'expired', expiresAt);
      else
        this.#remove(
          victim,
          this.#strategy.admissionRejected ? 'admission-rejected' : 'capacity',
          0,
        );
    }
  }

  #protectSlot(slot: number): void {
    const flags = this.#protectedFlags;
    if (flags !== undefined && flags[slot] !== 0) return;
    this.#strategy.remove(slot);
    this.#markProtected(slot, this.#sizes?.[slot] ?? 0);
  }

  #markProtected(slot: number, size: number): void {
    (this.#protectedFlags ??= new Uint8Array(this.#maxEntries))[slot] = 1;
    this.#protectedEntries++;
    this.#protectedBytes += size;
  }

  /**
   * Takes the entry in `slot` out of every structure and frees the slot.
   * `reason` undefined means an explicit delete (no event, no log line).
   * `expiredAt` is the entry's expiry time for 'expired' (the log's time).
   */
  #remove(slot: number, reason: EvictionReason | undefined, expiredAt: number): void {
    const key = this.#keys[slot]!;
    const value = this.#values[slot] as V;
    const flags = this.#protectedFlags;
    const size = this.#sizes?.[slot] ?? 0;
    if (flags !== undefined && flags[slot] !== 0) {
      flags[slot] = 0;
      this.#protectedEntries--;
      this.#protectedBytes -= size;
    } else {
      this.#strategy.remove(slot);
    }
    this.#keyMap.delete(key);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined; // let the value be collected now, not when the slot is reused
    if (this.#expiresAt !== undefined) this.#expiresAt[slot] = 0;
    this.#bytes -= size;
    this.#free[this.#freeTop++] = slot;
    if (reason === undefined) return;

    if (reason === 'expired') this.#evictedExpired++;
    else if (reason === 'capacity') this.#evictedCapacity++;
    else this.#evictedRejected++;
    this.#log?.record(key, reason, reason === 'expired' ? expiredAt : this.#clock.now());
    if (reason === 'expired') {
      if (this.#listeners.expire.length !== 0)
        this.#pending.push({ type: 'expire', event: { key, value } });
    } else if (this.#listeners.evict.length !== 0) {
      this.#pending.push({
        type: 'evict',
        event: { key, value, reason, policy: this.#strategy.policy },
      });
    }
  }

  #isExpired(slot: number): boolean {
    const at = this.#expiresAt?.[slot] ?? 0;
    return at !== 0 && at <= this.#clock.now();
  }

  /** Examines up to `budget` slots from the sweep hand on, removing expired entries. */
  #sweep(now: number, budget: number): void {
    const expiresAt = this.#expiresAt!;
    const end = this.#fresh; // slots beyond have never held an entry
    if (end === 0) return;
    let hand = this.#sweepHand;
    for (let i = 0; i < budget; i++) {
      if (hand >= end) hand = 0;
      const at = expiresAt[hand]!;
      // Freed slots hold 0, so only live entries with a passed TTL match.
      if (at !== 0 && at <= now) this.#remove(hand, 'expired', at);
      hand++;
    }
    this.#sweepHand = hand;
  }

  #measure(value: V, key: string): number {
    const sizeOf = this.#options.sizeOf;
    if (sizeOf === undefined) return 0;
    const size = sizeOf(value, key);
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new RangeError(
        `sizeOf returned ${String(size)} for ${JSON.stringify(key)}; sizes must be finite numbers >= 0`,
      );
    }
    if (size > this.#maxBytes) throw tooLarge(key, size, this.#maxBytes, 0);
    return size;
  }

  /** Delivers queued events; every listener runs even if one throws, then the first error is rethrown. */
  #flush(): void {
    const failure = this.#deliver();
    if (failure !== undefined) throw failure.error;
  }

  /**
   * An operation failed after queuing events (a write refused after its sweep
   * expired entries): deliver them, then rethrow the operation's error, or
   * both errors when a listener failed too.
   */
  #flushAfter(error: unknown): never {
    const failure = this.#deliver();
    if (failure === undefined) throw error;
    throw new AggregateError(
      [error, failure.error],
      'L1Cache: a write failed and an event listener threw',
    );
  }

  #deliver(): { error: unknown } | undefined {
    const pending = this.#pending;
    if (pending.length === 0) return undefined;
    this.#pending = [];
    let failure: { error: unknown } | undefined;
    for (const item of pending) {
      const listeners =
        item.type === 'evict' ? [...this.#listeners.evict] : [...this.#listeners.expire];
      for (const listener of listeners) {
        try {
          (listener as (event: unknown) => void)(item.event);
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    return failure;
  }
}

function createStrategy<V>(options: ResolvedOptions<V>): EvictionStrategy {
  const max = options.maxEntries;
  switch (options.evictionPolicy) {
    case EvictionPolicy.LRU:
      return new LruStrategy(max);
    case EvictionPolicy.LFU:
      return new LfuStrategy(max);
    case EvictionPolicy.HYBRID:
      return new HybridStrategy(max, options.hybridHalfLife);
    case EvictionPolicy.ADAPTIVE:
      return new AdaptiveStrategy(max);
  }
}

function checkKey(key: unknown, name: string): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`${name} must be a string, got ${typeof key}`);
}

function checkEvent(event: unknown): void {
  if (event !== 'evict' && event !== 'expire') {
    throw new RangeError(`event must be 'evict' or 'expire', got ${JSON.stringify(event)}`);
  }
}

function tooLarge(
  key: string,
  size: number,
  maxBytes: number,
  protectedBytes: number,
): L1CacheError {
  const room = maxBytes - protectedBytes;
  return new L1CacheError(
    'FIML_L1_ENTRY_TOO_LARGE',
    `cannot store ${JSON.stringify(key)}: ${size} bytes exceed the ${room} bytes ` +
      (protectedBytes === 0
        ? 'of maxBytes'
        : `that protected entries leave of maxBytes ${maxBytes}`),
  );
}
