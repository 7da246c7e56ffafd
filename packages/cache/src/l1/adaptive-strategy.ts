import { EvictionPolicy } from './eviction-policy.js';
import type { EvictionStrategy } from './eviction-strategy.js';
import { FrequencySketch } from './frequency-sketch.js';
import { GhostHistory } from './ghost-history.js';
import { NONE, SlotLists } from './slot-lists.js';
import { hashString } from '@fiml/market';

// Queue ids in the SlotLists (0 means "on none").
const WINDOW = 1;
const PROBATION = 2;
const PROTECTED = 3;

/** Share of capacity the main space starts with; the window gets the rest (1 %, as in Caffeine). */
const PERCENT_MAIN = 0.99;
/** Share of the main space reserved for entries hit again while on probation. */
const PERCENT_MAIN_PROTECTED = 0.8;
/**
 * The climber's probe: a ghost hit counts when the key was among the last
 * 5 % of capacity evicted from its side, i.e. "5 % more room there would
 * have kept it". Each side counts in its own evictions and keeps its own
 * ghost table: measured against one shared count or table, the side that
 * evicts more (the window, under frequency-heavy traffic) looks better than
 * it is, and Zipf traffic at 500 entries fell from 39 % to 31 %. The figure
 * is not delicate: 2 % to 25 % give every benchmark row within half a point;
 * at 50 % the probe stops being local and Zipf at 10000 entries drops from
 * 69 % to 62 %.
 */
const GHOST_HORIZON_PERCENT = 0.05;
/** A candidate this frequent may win a lost contest by chance (1 in 128), as in Caffeine. */
const ADMIT_HASHDOS_THRESHOLD = 6;

/**
 * W-TinyLFU with a hill-climbing admission window (Einziger, Friedman,
 * Manes: "TinyLFU", ACM ToS 2017; "Adaptive Software Cache Management",
 * Middleware 2018), laid out as Caffeine does:
 *
 * - New entries enter an LRU **admission window**. When the window is full,
 *   its least recent entry is a candidate for the **main space**, a segmented
 *   LRU (probation + protected). It must beat main's victim (probation's least
 *   recent entry) on estimated frequency in a count-min {@link FrequencySketch}
 *   that also remembers keys no longer cached; the loser is evicted
 *   (`admission-rejected` when the loser is the candidate).
 * - A hit in probation promotes the entry to protected; protected overflow is
 *   demoted back to probation's most recent end.
 * - **Hill climbing** moves the boundary between window and main toward a
 *   higher hit rate. A large window favours recency (LRU-like), a small one
 *   frequency (LFU-like). The slope of the hit rate in the window size is
 *   read from the requests themselves: two {@link GhostHistory} lists
 *   remember the keys recently evicted from each side, and a miss on a key
 *   the window evicted within the last 5 % of capacity is a hit a slightly
 *   larger window would have had (the window grows by one entry), while a
 *   miss on a key recently evicted from main is one a slightly larger main
 *   would have had (the window shrinks by one). The window settles where the
 *   two marginal gains are equal, i.e. at the top of the hill.
 *
 * Why not Caffeine's climber, which compares the hit rate of successive
 * samples of 10 x capacity requests: on real traces the hit rate moves by
 * 10-30 points from one sample to the next with the workload's phases, which
 * swamps the ~0.3-point effect of one window step, and the window random-walks
 * (orm-busy at 1000 entries: 76.6 % with it, 78.6 % with this one; LRU 78.8 %).
 * Ghost hits compare both sides on the same requests, so phases cancel out.
 *
 * Hot path on purpose: all queues are {@link SlotLists} in typed arrays; the
 * key's hash is computed once at insert and kept per slot, so a hit is a
 * list move plus, outside the protected segment, one sketch increment (4
 * counters in one 64-byte block); the climber runs only on inserts.
 */
export class AdaptiveStrategy implements EvictionStrategy {
  readonly policy = EvictionPolicy.ADAPTIVE;
  admissionRejected = false;
  readonly #lists: SlotLists;
  readonly #hashes: Int32Array;
  readonly #sketch: FrequencySketch;
  readonly #maximum: number;
  #windowMaximum: number;
  #protectedMaximum: number;
  readonly #windowGhosts: GhostHistory;
  readonly #mainGhosts: GhostHistory;
  /** xorshift32 state for the HashDoS coin; a fixed seed keeps the cache deterministic. */
  #random = 0x9e3779b9 | 0;

  constructor(maximum: number) {
    this.#maximum = maximum;
    this.#lists = new SlotLists(maximum, PROTECTED);
    this.#hashes = new Int32Array(maximum);
    this.#sketch = new FrequencySketch(maximum);
    this.#windowMaximum = maximum - Math.floor(PERCENT_MAIN * maximum);
    this.#protectedMaximum = Math.floor(PERCENT_MAIN_PROTECTED * (maximum - this.#windowMaximum));
    const horizon = Math.max(1, Math.round(GHOST_HORIZON_PERCENT * maximum));
    this.#windowGhosts = new GhostHistory(horizon);
    this.#mainGhosts = new GhostHistory(horizon);
  }

  /** Bytes of typed arrays this strategy holds (for the memory benchmark's breakdown). */
  get byteLength(): number {
    const lists = this.#lists;
    return (
      lists.prev.byteLength +
      lists.next.byteLength +
      lists.owner.byteLength +
      this.#hashes.byteLength +
      this.#sketch.byteLength +
      this.#windowGhosts.byteLength +
      this.#mainGhosts.byteLength
    );
  }

  insert(slot: number, key: string): void {
    const hash = hashString(key);
    this.#hashes[slot] = hash;
    // A key coming back soon after its eviction is the climber's evidence.
    if (this.#windowGhosts.take(hash)) this.#increaseWindow();
    if (this.#mainGhosts.take(hash)) this.#decreaseWindow();
    this.#sketch.increment(hash);
    const lists = this.#lists;
    lists.push(WINDOW, slot);
    // While the cache fills up nothing is evicted, so window overflow simply
    // moves to probation; once full, victim() has already made room in the window.
    if (lists.length[WINDOW]! > this.#windowMaximum) lists.move(lists.head[WINDOW]!, PROBATION);
  }

  access(slot: number): void {
    const lists = this.#lists;
    const queue = lists.owner[slot]!;
    // A protected entry has already shown reuse and leaves protected only by
    // demotion after a full segment's worth of other promotions, when its
    // count would have aged anyway; skipping the sketch here saves a cache-line
    // miss on most hits of skewed traffic. Measured on the 12 hit-rate rows:
    // every row within 0.25 points of counting these hits too.
    if (queue === PROTECTED) {
      lists.moveToTail(slot);
      return;
    }
    this.#sketch.increment(this.#hashes[slot]!);
    if (queue === PROBATION) {
      // Hit again while on probation: promote, and keep protected within its share.
      lists.move(slot, PROTECTED);
      this.#demoteProtectedOverflow();
    } else {
      lists.moveToTail(slot);
    }
  }

  update(slot: number): void {
    // A write counts as a use, protected or not.
    this.#sketch.increment(this.#hashes[slot]!);
    this.#reorder(slot);
  }

  remove(slot: number): void {
    this.#lists.unlink(slot);
  }

  victim(): number {
    const lists = this.#lists;
    const hashes = this.#hashes;
    const candidate = lists.head[WINDOW]!;
    let victim = lists.head[PROBATION]!;
    if (victim === NONE) victim = lists.head[PROTECTED]!;
    this.admissionRejected = false;
    if (candidate !== NONE && (victim === NONE || lists.length[WINDOW]! >= this.#windowMaximum)) {
      // The newcomer pushes the window's least recent entry out; it joins main
      // only if it is used more often than the entry it would replace.
      if (victim !== NONE && this.#admit(hashes[candidate]!, hashes[victim]!)) {
        lists.move(candidate, PROBATION);
      } else {
        this.admissionRejected = victim !== NONE;
        this.#windowGhosts.record(hashes[candidate]!);
        return candidate;
      }
    }
    // The window has room for the newcomer (or its candidate was admitted):
    // main gives up its victim.
    if (victim === NONE) return NONE; // nothing held at all; the cache never asks then
    this.#mainGhosts.record(hashes[victim]!);
    return victim;
  }

  clear(): void {
    this.#lists.clear();
  }

  /** Current window and protected-segment targets, in entries (for tests and benchmarks). */
  get shape(): { window: number; protected: number; maximum: number } {
    return {
      window: this.#windowMaximum,
      protected: this.#protectedMaximum,
      maximum: this.#maximum,
    };
  }

  /** The queue an entry is on (for tests). */
  queueOf(slot: number): 'window' | 'probation' | 'protected' | undefined {
    const owner = this.#lists.owner[slot];
    if (owner === WINDOW) return 'window';
    if (owner === PROBATION) return 'probation';
    return owner === PROTECTED ? 'protected' : undefined;
  }

  /** The sketch's estimate for a key (for tests). */
  frequencyOf(key: string): number {
    return this.#sketch.frequency(hashString(key));
  }

  #reorder(slot: number): void {
    const lists = this.#lists;
    if (lists.owner[slot] === PROBATION) {
      // Hit again while on probation: promote, and keep protected within its share.
      lists.move(slot, PROTECTED);
      this.#demoteProtectedOverflow();
    } else {
      lists.moveToTail(slot);
    }
  }

  #demoteProtectedOverflow(): void {
    const lists = this.#lists;
    while (lists.length[PROTECTED]! > this.#protectedMaximum) {
      lists.move(lists.head[PROTECTED]!, PROBATION);
    }
  }

  #admit(candidateHash: number, victimHash: number): boolean {
    const candidateFrequency = this.#sketch.frequency(candidateHash);
    const victimFrequency = this.#sketch.frequency(victimHash);
    if (candidateFrequency > victimFrequency) return true;
    // An attacker could keep a victim artificially hot (hash flooding) and pin
    // the cache; a warm candidate occasionally wins anyway.
    if (candidateFrequency >= ADMIT_HASHDOS_THRESHOLD) {
      let x = this.#random;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.#random = x;
      return (x & 127) === 0;
    }
    return false;
  }

  /** One step uphill toward recency: main's least valuable entry becomes the window's. */
  #increaseWindow(): void {
    // The window grows at the protected segment's expense; probation keeps its share.
    if (this.#protectedMaximum === 0) return;
    this.#protectedMaximum--;
    this.#windowMaximum++;
    this.#demoteProtectedOverflow();
    const lists = this.#lists;
    let slot = lists.head[PROBATION]!;
    if (slot === NONE) slot = lists.head[PROTECTED]!;
    if (slot !== NONE) lists.move(slot, WINDOW);
  }

  /** One step uphill toward frequency: the window's oldest entry goes to probation. */
  #decreaseWindow(): void {
    if (this.#windowMaximum <= 1) return;
    this.#windowMaximum--;
    this.#protectedMaximum++;
    const lists = this.#lists;
    const slot = lists.head[WINDOW]!;
    if (slot !== NONE) lists.move(slot, PROBATION);
  }
}
