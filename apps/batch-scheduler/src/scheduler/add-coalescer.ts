import type { AddOutcome, GroupKey, PendingKey, PendingStore } from './pending-store.js';

interface Part {
  readonly keys: readonly PendingKey[];
  readonly sent: () => void;
  readonly resolve: (result: AddResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Waiting {
  readonly group: GroupKey;
  now: number;
  readonly parts: Part[];
}

export interface AddResult {
  readonly outcomes: AddOutcome[];
  readonly nonLowPending: number;
}

/** One caller's add, handed to the coalescer. */
export interface CoalescedAdd {
  /**
   * Resolves once the add's command is on the pending store's connection:
   * a command issued on that connection afterwards runs after the add.
   */
  readonly sent: Promise<void>;
  /** The add's reply: this caller's keys' outcomes, and the group's non-low keys pending. */
  readonly result: Promise<AddResult>;
}

/**
 * The adds of one burst, per group, as one pending-store call: the intake
 * worker runs several refresh jobs at once, and each would otherwise pay a
 * script call (a Redis round trip and the script's fixed cost) of its own.
 *
 * A burst is what one microtask drain brings: BullMQ hands the worker the
 * next jobs in the replies to its completions, and the jobs whose replies
 * one socket read delivered all reach `add` before the drain ends. The call
 * goes out on `process.nextTick`, right after it, and nothing waits on a
 * timer or a loop turn: while the add runs in Redis the worker goes on, so
 * node and Redis work side by side rather than in turn (a flush on
 * `setImmediate` held every job of the burst until the next loop turn, and
 * the two took turns idling: bench/README.md).
 *
 * Each caller gets its own keys' outcomes; a symbol two requests of one
 * call share is `queued` for the first and `merged` for the second, as it
 * would be one after the other.
 */
export class AddCoalescer {
  readonly #store: PendingStore;
  readonly #waiting = new Map<string, Waiting>();
  #scheduled = false;

  constructor(store: PendingStore) {
    this.#store = store;
  }

  add(group: GroupKey, keys: readonly PendingKey[], now: number): CoalescedAdd {
    if (keys.length === 0) {
      return {
        sent: Promise.resolve(),
        result: Promise.resolve({ outcomes: [], nonLowPending: 0 }),
      };
    }
    let sent!: () => void;
    const onSent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const result = new Promise<AddResult>((resolve, reject) => {
      const id = `${group.provider}:${group.assetType}:${group.dataType}`;
      let waiting = this.#waiting.get(id);
      if (!waiting) {
        waiting = { group, now, parts: [] };
        this.#waiting.set(id, waiting);
      }
      waiting.now = Math.max(waiting.now, now);
      waiting.parts.push({ keys, sent, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(() => this.#flush());
      }
    });
    return { sent: onSent, result };
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const { group, now, parts } of batches) {
      const keys = parts.length === 1 ? parts[0]!.keys : parts.flatMap((p) => p.keys);
      // The store issues its command synchronously: once `add` returns, it is on the connection.
      this.#store.add(group, keys, now).then(
        ({ outcomes, nonLowPending }) => {
          let offset = 0;
          for (const part of parts) {
            part.resolve({
              outcomes: outcomes.slice(offset, offset + part.keys.length),
              nonLowPending,
            });
            offset += part.keys.length;
          }
        },
        (error: unknown) => {
          for (const part of parts) part.reject(error);
        },
      );
      for (const part of parts) part.sent();
    }
  }
}
