import type { AddOutcome, GroupKey, PendingKey, PendingStore } from './pending-store.js';

interface Part {
  readonly keys: readonly PendingKey[];
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

/**
 * The adds of one event-loop turn, per group, as one pending-store call: the
 * intake worker runs several refresh jobs at once, and each would otherwise
 * pay a script call (a Redis round trip and the script's fixed cost) of its
 * own. Nothing waits on a timer: the batch goes out on `setImmediate`, so a
 * lone request is not delayed. Each caller gets its own keys' outcomes; a
 * symbol two requests of one batch share is `queued` for the first and
 * `merged` for the second, as it would be one after the other.
 */
export class AddCoalescer {
  readonly #store: PendingStore;
  readonly #waiting = new Map<string, Waiting>();
  #scheduled = false;

  constructor(store: PendingStore) {
    this.#store = store;
  }

  add(group: GroupKey, keys: readonly PendingKey[], now: number): Promise<AddResult> {
    if (keys.length === 0) return Promise.resolve({ outcomes: [], nonLowPending: 0 });
    return new Promise<AddResult>((resolve, reject) => {
      const id = `${group.provider}:${group.assetType}:${group.dataType}`;
      let waiting = this.#waiting.get(id);
      if (!waiting) {
        waiting = { group, now, parts: [] };
        this.#waiting.set(id, waiting);
      }
      waiting.now = Math.max(waiting.now, now);
      waiting.parts.push({ keys, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batches = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const { group, now, parts } of batches) {
      const keys = parts.length === 1 ? parts[0]!.keys : parts.flatMap((p) => p.keys);
      this.#store.add(group, keys, now).then(
        ({ outcomes, nonLowPending }) => {
          // Every part's job completes now: one socket write for all their completions.
          if (parts.length > 1) this.#store.holdWrites();
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
    }
  }
}
