import type { Workload } from './workloads.js';

/**
 * Belady's OPT: on a miss with the cache full, evict the key whose next use
 * is farthest in the future (never used again = infinitely far). The incoming
 * key competes too: when it is itself the farthest it is not admitted, which
 * is the optimum for a cache that may decline to store a key (as W-TinyLFU
 * does). Returns the hit ratio over the measured part of the workload.
 *
 * O(n log C): next uses come from one backward pass; the cached keys sit in
 * an indexed binary max-heap on next use.
 */
export function beladyHitRate(workload: Workload, capacity: number): number {
  const { ids, distinct, measureFrom } = workload;
  const n = ids.length;
  const NEVER = n; // a next use past the end of the trace
  const nextUse = new Int32Array(n);
  const seen = new Int32Array(distinct).fill(NEVER);
  for (let i = n - 1; i >= 0; i--) {
    const id = ids[i]!;
    nextUse[i] = seen[id]!;
    seen[id] = i;
  }

  // heap[j] = key id; due[id] = its next use; at[id] = its heap index, -1 when not cached.
  const heap = new Int32Array(capacity);
  const due = new Int32Array(distinct);
  const at = new Int32Array(distinct).fill(-1);
  let size = 0;

  const place = (j: number, id: number): void => {
    heap[j] = id;
    at[id] = j;
  };
  const siftUp = (j: number): void => {
    const id = heap[j]!;
    while (j > 0) {
      const parent = (j - 1) >> 1;
      const p = heap[parent]!;
      if (due[p]! >= due[id]!) break;
      place(j, p);
      j = parent;
    }
    place(j, id);
  };
  const siftDown = (j: number): void => {
    const id = heap[j]!;
    for (;;) {
      let child = 2 * j + 1;
      if (child >= size) break;
      if (child + 1 < size && due[heap[child + 1]!]! > due[heap[child]!]!) child++;
      const c = heap[child]!;
      if (due[c]! <= due[id]!) break;
      place(j, c);
      j = child;
    }
    place(j, id);
  };

  let hits = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    const next = nextUse[i]!;
    if (at[id]! >= 0) {
      if (i >= measureFrom) hits++;
      // Its next use moved later, so it rises in the max-heap.
      due[id] = next;
      siftUp(at[id]!);
      continue;
    }
    if (size < capacity) {
      due[id] = next;
      place(size, id);
      size++;
      siftUp(size - 1);
      continue;
    }
    const farthest = heap[0]!;
    if (next >= due[farthest]!) continue; // the newcomer is the one to drop
    at[farthest] = -1;
    due[id] = next;
    place(0, id);
    siftDown(0);
  }
  return hits / (n - measureFrom);
}
