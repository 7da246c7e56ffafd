import type { EvictionPolicy } from './eviction-policy.js';

/**
 * What an eviction policy keeps and decides, over slot numbers (the cache owns
 * the keys, values, expiry times and sizes; a strategy owns only ordering and
 * frequency state). Protected entries are taken off the strategy with
 * {@link remove} and handed back with {@link insert}, so a strategy never sees
 * them and never has to skip them: every victim it returns is evictable.
 *
 * The cache calls exactly one of insert/access/update per operation on an
 * unprotected entry, and victim() only while the strategy holds at least one
 * entry.
 */
export interface EvictionStrategy {
  readonly policy: EvictionPolicy;
  /**
   * Set by {@link victim}: true when the victim is an admission candidate that
   * lost to the entry it would have replaced (W-TinyLFU only), false for an
   * ordinary capacity eviction.
   */
  readonly admissionRejected: boolean;
  /** A new entry (or one whose protection ended) now lives in `slot`. */
  insert(slot: number, key: string): void;
  /** A read hit. */
  access(slot: number): void;
  /** A write to an existing entry. */
  update(slot: number): void;
  /** The entry leaves the strategy: deleted, expired, evicted or protected. */
  remove(slot: number): void;
  /**
   * Chooses the entry to evict to make room for one more; does not remove it
   * (the cache calls {@link remove}). May reorder other entries (W-TinyLFU
   * moves an admitted candidate into its main space).
   */
  victim(): number;
  /** Forgets every entry; frequency history may be kept (it is about keys, not entries). */
  clear(): void;
}
