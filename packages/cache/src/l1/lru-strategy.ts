import { EvictionPolicy } from './eviction-policy.js';
import type { EvictionStrategy } from './eviction-strategy.js';
import { NONE } from './slot-lists.js';

/**
 * Least recently used: one doubly linked list through the slots, head = least
 * recent (the victim), tail = most recent.
 *
 * Hot path on purpose: this is the policy that must keep up with lru-cache.
 * The list lives directly in two typed arrays (one list needs no owner array
 * or per-list heads), and the fields are public because `L1Cache.get` moves a
 * hit to the tail itself, with the same index writes as {@link access}: once
 * several policies run in one process the call through the strategy
 * interface is polymorphic and V8 stops inlining it, which cost LRU 10-30 %
 * of its get-hit throughput in the benchmark. No other code writes them.
 *
 * The head's prev and the tail's next links are never read (the head and
 * tail fields are checked first), so they need no sentinel upkeep, and the
 * links can be Uint16 while slot numbers fit in 16 bits.
 */
export class LruStrategy implements EvictionStrategy {
  readonly policy = EvictionPolicy.LRU;
  readonly admissionRejected = false;
  /** Uint16 links while slot numbers fit (as lru-cache does): half the memory traffic. */
  readonly prev: Uint16Array | Int32Array;
  readonly next: Uint16Array | Int32Array;
  head = NONE;
  tail = NONE;

  constructor(slots: number) {
    this.prev = slots <= 0x10000 ? new Uint16Array(slots) : new Int32Array(slots);
    this.next = slots <= 0x10000 ? new Uint16Array(slots) : new Int32Array(slots);
  }

  insert(slot: number): void {
    const tail = this.tail;
    this.prev[slot] = tail;
    if (tail === NONE) this.head = slot;
    else this.next[tail] = slot;
    this.tail = slot;
  }

  /** Moves a slot to the tail. L1Cache.get inlines the same steps. */
  access(slot: number): void {
    const tail = this.tail;
    if (slot === tail) return; // already the most recent: the common case for a hot key
    const prev = this.prev;
    const next = this.next;
    const after = next[slot]!; // exists: slot is not the tail
    if (slot === this.head) this.head = after;
    else {
      const before = prev[slot]!;
      next[before] = after;
      prev[after] = before;
    }
    prev[slot] = tail;
    next[tail] = slot;
    this.tail = slot;
  }

  update(slot: number): void {
    this.access(slot);
  }

  remove(slot: number): void {
    if (slot === this.head) {
      if (slot === this.tail) {
        this.head = NONE;
        this.tail = NONE;
      } else {
        this.head = this.next[slot]!;
      }
    } else if (slot === this.tail) {
      this.tail = this.prev[slot]!;
    } else {
      // An inner slot's links are both live: unhook it from its neighbours.
      const before = this.prev[slot]!;
      const after = this.next[slot]!;
      this.next[before] = after;
      this.prev[after] = before;
    }
  }

  victim(): number {
    return this.head;
  }

  clear(): void {
    this.head = NONE;
    this.tail = NONE;
  }
}
