/** "No slot": the end of a list, or an empty list's head and tail. */
export const NONE = -1;

/**
 * A family of doubly linked lists threaded through cache slots, all in typed
 * arrays: `prev[slot]` and `next[slot]` link a slot to its neighbours and
 * `owner[slot]` says which list holds it (0: none, so list ids start at 1).
 * A slot is on at most one list. Heads are the least recently appended end
 * (the eviction end), tails the most recent.
 *
 * Written for speed on purpose: no allocation after construction, no objects
 * per entry, every operation O(1). The links at a list's ends (the head's
 * prev, the tail's next) are never read, because head and tail are checked
 * first; so no sentinel is kept in them and the links can be Uint16 while
 * slot numbers fit in 16 bits (as node-lru-cache does), halving their memory. The eviction strategies (LFU buckets,
 * W-TinyLFU's window/probation/protected queues) keep their ordering here.
 */
export class SlotLists {
  readonly prev: Uint16Array | Int32Array;
  readonly next: Uint16Array | Int32Array;
  /** The list a slot is on; 0 when it is on none. */
  readonly owner: Uint8Array;
  readonly head: Int32Array;
  readonly tail: Int32Array;
  /** Entries per list. */
  readonly length: Int32Array;

  /**
   * @param slots how many slots can be linked (the cache's capacity)
   * @param lists how many lists, numbered 1..lists (at most 255: owner is a byte)
   */
  constructor(slots: number, lists: number) {
    if (lists > 255) throw new RangeError(`SlotLists: at most 255 lists, got ${lists}`);
    this.prev = slots <= 0x10000 ? new Uint16Array(slots) : new Int32Array(slots);
    this.next = slots <= 0x10000 ? new Uint16Array(slots) : new Int32Array(slots);
    this.owner = new Uint8Array(slots);
    this.head = new Int32Array(lists + 1).fill(NONE);
    this.tail = new Int32Array(lists + 1).fill(NONE);
    this.length = new Int32Array(lists + 1);
  }

  /** Appends a slot that is on no list to the tail of `list`. */
  push(list: number, slot: number): void {
    const tail = this.tail[list]!;
    this.prev[slot] = tail;
    if (this.length[list] === 0) this.head[list] = slot;
    else this.next[tail] = slot;
    this.tail[list] = slot;
    this.owner[slot] = list;
    this.length[list]!++;
  }

  /** Takes a slot off its list (no-op when it is on none). */
  unlink(slot: number): void {
    const list = this.owner[slot]!;
    if (list === 0) return;
    if (slot === this.head[list]) {
      if (slot === this.tail[list]) {
        this.head[list] = NONE;
        this.tail[list] = NONE;
      } else {
        this.head[list] = this.next[slot]!;
      }
    } else if (slot === this.tail[list]) {
      this.tail[list] = this.prev[slot]!;
    } else {
      // An inner slot's links are both live: unhook it from its neighbours.
      const before = this.prev[slot]!;
      const after = this.next[slot]!;
      this.next[before] = after;
      this.prev[after] = before;
    }
    this.owner[slot] = 0;
    this.length[list]!--;
  }

  /** Moves a slot to the tail of the list it is on (the "just used" end). */
  moveToTail(slot: number): void {
    const list = this.owner[slot]!;
    const tail = this.tail[list]!;
    if (slot === tail) return;
    const next = this.next;
    const after = next[slot]!; // live: the slot is not the tail
    if (slot === this.head[list]) this.head[list] = after;
    else {
      const before = this.prev[slot]!;
      next[before] = after;
      this.prev[after] = before;
    }
    this.prev[slot] = tail;
    next[tail] = slot;
    this.tail[list] = slot;
  }

  /** Moves a slot from its list to the tail of `list`. */
  move(slot: number, list: number): void {
    this.unlink(slot);
    this.push(list, slot);
  }

  /**
   * Appends all of list `from` to the tail of list `to` in O(1) and empties
   * `from`. The moved slots' `owner` entries are NOT updated: the caller
   * rewrites them in one pass (LFU aging relabels every slot anyway).
   */
  spliceInto(from: number, to: number): void {
    if (this.length[from] === 0 || from === to) return;
    const head = this.head[from]!;
    if (this.length[to] === 0) this.head[to] = head;
    else {
      const toTail = this.tail[to]!;
      this.next[toTail] = head;
      this.prev[head] = toTail;
    }
    this.tail[to] = this.tail[from]!;
    this.length[to]! += this.length[from]!;
    this.head[from] = NONE;
    this.tail[from] = NONE;
    this.length[from] = 0;
  }

  /** Empties every list. */
  clear(): void {
    this.owner.fill(0);
    this.head.fill(NONE);
    this.tail.fill(NONE);
    this.length.fill(0);
  }
}
