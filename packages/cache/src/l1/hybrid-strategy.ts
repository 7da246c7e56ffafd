import { EvictionPolicy } from './eviction-policy.js';
import type { EvictionStrategy } from './eviction-strategy.js';
import { NONE } from './slot-lists.js';

/** When the access weight passes this, all keys are scaled down by RESCALE_BY. */
const RESCALE_AT = 2 ** 256;
const RESCALE_BY = 2 ** -256;

/**
 * Combined recency and frequency (LRFU: Lee et al., IEEE Trans. Computers
 * 2001). Each entry's score is the sum over its past accesses of
 * 2^(-age / halfLife), age counted in cache operations:
 *
 *     score(t) = sum over accesses i of 2^(-(t - t_i) / halfLife)
 *
 * Why this score: one access is worth 1 and loses half its weight every
 * `halfLife` operations, so frequency counts (ten recent hits beat one) while
 * recency decides between equals and an old burst fades by itself; no separate
 * aging pass is needed. halfLife -> 0 is LRU, halfLife -> infinity is LFU.
 *
 * The default, two capacities' worth of operations (2 x maxEntries), asks an
 * entry to be used about once per two cache turnovers to hold its place
 * against a newcomer. Measured on the benchmark workloads: 1 x behaves like
 * LRU; 4 x already collapses on recency-heavy traffic (orm-busy at 1000
 * entries: 65 % against LRU's 79 %); 2 x gains 2-4 points over LRU on
 * frequency-heavy traffic (Zipf, web07) and gives up about one on orm-busy at
 * 1000. Time is counted in operations rather than read from the clock so that
 * the score measures the workload, not the wall clock (a quiet night does not
 * erase frequencies), and stays deterministic.
 *
 * Implementation, written for speed: scores of two entries decay by the same
 * factor, so their order only changes when one of them is accessed. The heap
 * therefore holds the time-invariant key `score x 2^(t / halfLife)`, which an
 * access raises by exactly `w = 2^(t / halfLife)`:
 *
 *     key' = (1 + score * 2^(-dt / halfLife)) * 2^(t / halfLife) = key + w
 *
 * so an access is one multiplication (w grows by 2^(1 / halfLife) per
 * operation), one addition and a sift, with no logarithm or power. Keys grow
 * with w; when w passes 2^256 every key and w are scaled down by 2^256 in one
 * pass (once per 256 half-lives, so O(1) amortized; a key only underflows to
 * 0 after more than a thousand half-lives unused). The heap is a
 * binary min-heap over slots in typed arrays; the victim is the root; access
 * and removal cost O(log n), and an accessed entry only ever moves down.
 */
export class HybridStrategy implements EvictionStrategy {
  readonly policy = EvictionPolicy.HYBRID;
  readonly admissionRejected = false;
  /** heap[i] = slot; heap[0] holds the lowest key. */
  readonly #heap: Int32Array;
  /** position[slot] = index in heap. */
  readonly #position: Int32Array;
  /** The time-invariant key score x 2^(t / halfLife). */
  readonly #key: Float64Array;
  /** 2^(1 / halfLife): w's growth per operation. */
  readonly #growth: number;
  /** The weight of an access now, 2^(t / halfLife) since the last rescale. */
  #weight = 1;
  #size = 0;

  /** @param halfLife operations after which an access counts half */
  constructor(slots: number, halfLife: number) {
    this.#heap = new Int32Array(slots);
    this.#position = new Int32Array(slots);
    this.#key = new Float64Array(slots);
    this.#growth = 2 ** (1 / halfLife);
  }

  insert(slot: number): void {
    // A fresh entry has score 1, so its key is the current weight.
    this.#key[slot] = this.#tick();
    const index = this.#size++;
    this.#heap[index] = slot;
    this.#position[slot] = index;
    this.#siftUp(index);
  }

  access(slot: number): void {
    // Tick first: a rescale inside it must apply to this slot's key too.
    const weight = this.#tick();
    this.#key[slot]! += weight;
    this.#siftDown(this.#position[slot]!);
  }

  update(slot: number): void {
    this.access(slot);
  }

  remove(slot: number): void {
    const index = this.#position[slot]!;
    const last = --this.#size;
    if (index === last) return;
    const moved = this.#heap[last]!;
    this.#heap[index] = moved;
    this.#position[moved] = index;
    // The entry moved into the hole may belong above or below it.
    if (index > 0 && this.#key[moved]! < this.#key[this.#heap[(index - 1) >> 1]!]!)
      this.#siftUp(index);
    else this.#siftDown(index);
  }

  victim(): number {
    return this.#size === 0 ? NONE : this.#heap[0]!;
  }

  clear(): void {
    this.#size = 0;
  }

  /** The current score of an entry: the decayed sum of its accesses (for tests). */
  scoreOf(slot: number): number {
    return this.#key[slot]! / this.#weight;
  }

  /** Advances time by one operation; returns the weight of an access now. */
  #tick(): number {
    let weight = (this.#weight *= this.#growth);
    if (weight > RESCALE_AT) {
      const key = this.#key;
      const heap = this.#heap;
      // Multiplying every key by the same factor keeps the heap order.
      for (let i = 0; i < this.#size; i++) key[heap[i]!]! *= RESCALE_BY;
      weight = this.#weight *= RESCALE_BY;
    }
    return weight;
  }

  #siftUp(index: number): void {
    const heap = this.#heap;
    const key = this.#key;
    const position = this.#position;
    const slot = heap[index]!;
    const k = key[slot]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (key[parent]! <= k) break;
      heap[index] = parent;
      position[parent] = index;
      index = parentIndex;
    }
    heap[index] = slot;
    position[slot] = index;
  }

  #siftDown(index: number): void {
    const heap = this.#heap;
    const key = this.#key;
    const position = this.#position;
    const size = this.#size;
    const slot = heap[index]!;
    const k = key[slot]!;
    for (;;) {
      // Children of i are 2i+1 and 2i+2; move the smaller one up while it is below k.
      let child = 2 * index + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && key[heap[right]!]! < key[heap[child]!]!) child = right;
      const childSlot = heap[child]!;
      if (key[childSlot]! >= k) break;
      heap[index] = childSlot;
      position[childSlot] = index;
      index = child;
    }
    heap[index] = slot;
    position[slot] = index;
  }
}
