import { nonNegative } from './option-checks.js';

/**
 * DataLoader-style coalescing: `load(key)` calls are gathered into one batch
 * and flushed together as one call. One coalescer serves one upstream route,
 * so concurrent misses for different symbols of one provider become one
 * batch request.
 *
 * When a batch goes out (DataLoader's "batch scheduling", made time-aware):
 * - at once when it is full (`maxBatchSize`);
 * - when no key has joined it for `windowMs` (requests that trickle in over
 *   several turns of the event loop, as HTTP requests do, keep it open);
 * - at the latest `maxWaitMs` after its first key, so a steady trickle
 *   cannot hold the first reader back.
 */
export interface BatchCoalescerOptions<K, R> {
  /** Most keys per flush (the provider's max batch size). */
  readonly maxBatchSize: number;
  /** How long a batch waits for the next key before it goes out, ms. @defaultValue 5 */
  readonly windowMs?: number;
  /** Longest a batch's first key waits, ms. @defaultValue 4 x windowMs */
  readonly maxWaitMs?: number;
  /** Resolves every key of the batch: a result per key, in the same order. */
  readonly flush: (keys: readonly K[]) => Promise<readonly R[]>;
}

interface Pending<K, R> {
  readonly key: K;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

export class BatchCoalescer<K, R> {
  readonly #maxBatchSize: number;
  readonly #windowMs: number;
  readonly #maxWaitMs: number;
  readonly #flush: (keys: readonly K[]) => Promise<readonly R[]>;
  #queue: Pending<K, R>[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  #capTimer: NodeJS.Timeout | undefined;

  constructor(options: BatchCoalescerOptions<K, R>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    }
    this.#maxBatchSize = options.maxBatchSize;
    this.#windowMs = nonNegative(options.windowMs ?? 5, 'windowMs');
    this.#maxWaitMs = nonNegative(options.maxWaitMs ?? 4 * this.#windowMs, 'maxWaitMs');
    this.#flush = options.flush;
  }

  /** Keys waiting for their batch to go out. */
  get pending(): number {
    return this.#queue.length;
  }

  load(key: K): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ key, resolve, reject });
      if (this.#queue.length >= this.#maxBatchSize) {
        this.#flushNow();
        return;
      }
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => this.#flushNow(), this.#windowMs);
      this.#capTimer ??= setTimeout(() => this.#flushNow(), this.#maxWaitMs);
    });
  }

  #flushNow(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#capTimer);
    this.#idleTimer = undefined;
    this.#capTimer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatchSize);
      let flushed: Promise<readonly R[]>;
      try {
        flushed = this.#flush(batch.map((p) => p.key));
      } catch (error) {
        flushed = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      flushed.then(
        (results) => batch.forEach((p, i) => p.resolve(results[i] as R)),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      );
    }
  }
}
