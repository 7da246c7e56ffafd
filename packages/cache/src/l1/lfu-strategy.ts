import { EvictionPolicy } from './eviction-policy.js';
import type { EvictionStrategy } from './eviction-strategy.js';
import { NONE, SlotLists } from './slot-lists.js';

/** Counts saturate here: the bucket number is the slot's list id, a byte. */
const MAX_FREQUENCY = 255;

/** Counts are halved after this many accesses per cache entry of capacity (see {@link LfuStrategy}). */
const AGING_PERIOD_PER_ENTRY = 10;

/**
 * Least frequently used, in O(1): one list ("bucket") per use count, as in
 * Shah, Mitra and Matani's O(1) LFU. A slot's bucket number is its count, kept
 * in {@link SlotLists.owner}; a hit moves it from bucket f to the tail of f+1;
 * the victim is the head of the lowest non-empty bucket, so ties go to the
 * least recently used. New entries start in bucket 1.
 *
 * Aging: plain LFU lets a key that was hot once squat forever. Every
 * 10 x capacity accesses all counts are halved (the same period W-TinyLFU's
 * sketch uses), so a count reflects roughly the last few capacities' worth of
 * traffic. Halving splices whole buckets (bucket f joins bucket f/2, O(255))
 * and relabels the slots in one pass over a byte array: O(capacity) once per
 * 10 x capacity accesses, so O(1) amortized, with a pause of microseconds.
 */
export class LfuStrategy implements EvictionStrategy {
  readonly policy = EvictionPolicy.LFU;
  readonly admissionRejected = false;
  readonly #lists: SlotLists;
  readonly #agingPeriod: number;
  /** Lowest bucket that may be non-empty; victim() scans up from here (at most 255 steps). */
  #minFrequency = 1;
  #accessesSinceAging = 0;

  constructor(slots: number) {
    this.#lists = new SlotLists(slots, MAX_FREQUENCY);
    this.#agingPeriod = AGING_PERIOD_PER_ENTRY * slots;
  }

  insert(slot: number): void {
    this.#lists.push(1, slot);
    this.#minFrequency = 1;
    this.#tick();
  }

  access(slot: number): void {
    const lists = this.#lists;
    const frequency = lists.owner[slot]!;
    if (frequency === MAX_FREQUENCY) {
      lists.moveToTail(slot);
    } else {
      lists.unlink(slot);
      lists.push(frequency + 1, slot);
      if (frequency === this.#minFrequency && lists.head[frequency] === NONE) {
        this.#minFrequency = frequency + 1;
      }
    }
    this.#tick();
  }

  update(slot: number): void {
    this.access(slot);
  }

  remove(slot: number): void {
    this.#lists.unlink(slot);
  }

  victim(): number {
    const head = this.#lists.head;
    for (let f = this.#minFrequency; f <= MAX_FREQUENCY; f++) {
      const slot = head[f]!;
      if (slot !== NONE) {
        this.#minFrequency = f;
        return slot;
      }
    }
    return NONE;
  }

  clear(): void {
    this.#lists.clear();
    this.#minFrequency = 1;
    this.#accessesSinceAging = 0;
  }

  /** The use count of an entry (for tests and the eviction log's reader). */
  frequencyOf(slot: number): number {
    return this.#lists.owner[slot]!;
  }

  #tick(): void {
    if (++this.#accessesSinceAging >= this.#agingPeriod) this.#age();
  }

  /** Halves every count (1 stays 1): buckets 2f and 2f+1 join bucket f. */
  #age(): void {
    this.#accessesSinceAging = 0;
    const lists = this.#lists;
    // Ascending order matters: bucket f/2 < f has already given its own entries
    // away when bucket f arrives, so no entry is halved twice.
    for (let f = 2; f <= MAX_FREQUENCY; f++) lists.spliceInto(f, f >>> 1);
    const owner = lists.owner;
    for (let slot = 0; slot < owner.length; slot++) {
      const f = owner[slot]!;
      if (f > 1) owner[slot] = f >>> 1;
    }
    this.#minFrequency = 1;
  }
}
