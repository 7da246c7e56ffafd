/**
 * The discrete-event loop's agenda: a binary min-heap of callbacks by (time, insertion order), so
 * events at the same virtual millisecond run in the order they were scheduled. Hot path (every
 * upstream call, flush and timer of a simulated week): arrays of parallel fields, no allocation
 * per event beyond the callback.
 */
export class EventQueue {
  #times: number[] = [];
  #seqs: number[] = [];
  #fns: (() => void)[] = [];
  #seq = 0;

  get size(): number {
    return this.#times.length;
  }

  /** The time of the next event; Infinity when empty. */
  peekTime(): number {
    return this.#times.length === 0 ? Number.POSITIVE_INFINITY : this.#times[0]!;
  }

  push(time: number, fn: () => void): void {
    if (!Number.isFinite(time)) throw new RangeError(`event time must be finite, got ${time}`);
    const times = this.#times;
    const seqs = this.#seqs;
    const fns = this.#fns;
    const seq = this.#seq++;
    let i = times.length;
    times.push(time);
    seqs.push(seq);
    fns.push(fn);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! < time || (times[parent] === time && seqs[parent]! < seq)) break;
      times[i] = times[parent]!;
      seqs[i] = seqs[parent]!;
      fns[i] = fns[parent]!;
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    fns[i] = fn;
  }

  /** Removes and returns the next event's callback (the caller read its time with peekTime). */
  pop(): () => void {
    const times = this.#times;
    const seqs = this.#seqs;
    const fns = this.#fns;
    if (times.length === 0) throw new RangeError('pop() on an empty event queue');
    const top = fns[0]!;
    const lastTime = times.pop()!;
    const lastSeq = seqs.pop()!;
    const lastFn = fns.pop()!;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (times[right]! < times[child]! ||
          (times[right] === times[child] && seqs[right]! < seqs[child]!))
      ) {
        child = right;
      }
      if (times[child]! > lastTime || (times[child] === lastTime && seqs[child]! > lastSeq)) break;
      times[i] = times[child]!;
      seqs[i] = seqs[child]!;
      fns[i] = fns[child]!;
      i = child;
    }
    times[i] = lastTime;
    seqs[i] = lastSeq;
    fns[i] = lastFn;
    return top;
  }
}
