/**
 * DataLoader-style coalescing: `load(key)` calls made within a short window
 * (or until a batch is full) are flushed together as one call. One
 * coalescer serves one upstream route, so concurrent misses for different
 * symbols of one provider become one batch request.
 */
export interface BatchCoalescerOptions<K, R> {
  /** Most keys per flush (the provider's max batch size). */
  readonly maxBatchSize: number;
  /** How long the first key of a batch waits for company, ms. @defaultValue 2 */
  readonly windowMs?: number;
  /** Resolves every key of the batch: a result per key, in the same order. */
  readonly flush: (keys: readonly K[]) => Promise<readonly R[]>;
}

interface Pending<K, R> {
  readonly key: K;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export class BatchCoalescer<K, R> {
  readonly #options: Required<BatchCoalescerOptions<K, R>>;
  #queue: Pending<K, R>[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BatchCoalescerOptions<K, R>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    }
    this.#options = { windowMs: 2, ...options };
  }

  load(key: K): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ key, resolve, reject });
      if (this.#queue.length >= this.#options.maxBatchSize) this.#flushNow();
      else this.#timer ??= setTimeout(() => this.#flushNow(), this.#options.windowMs);
    });
  }

  #flushNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.maxBatchSize);
      this.#options.flush(batch.map((p) => p.key)).then(
        (results) => batch.forEach((p, i) => p.resolve(results[i] as R)),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      );
    }
  }
}
