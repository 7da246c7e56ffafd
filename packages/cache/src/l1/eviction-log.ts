import type { EvictionPolicy } from './eviction-policy.js';

/** Why an entry left the cache without being deleted. */
export type EvictionReason = 'capacity' | 'expired' | 'admission-rejected';

const REASONS: readonly EvictionReason[] = ['capacity', 'expired', 'admission-rejected'];
const REASON_CODE: Readonly<Record<EvictionReason, number>> = {
  capacity: 0,
  expired: 1,
  'admission-rejected': 2,
};

/** One line of the eviction log. */
export interface EvictionRecord {
  readonly key: string;
  readonly reason: EvictionReason;
  /** The policy the cache runs (so a reader of a merged log knows which cache decided). */
  readonly policy: EvictionPolicy;
  /** Clock time of the eviction, epoch ms. */
  readonly at: number;
}

/**
 * A fixed-size ring of the most recent evictions, in parallel arrays so that
 * logging allocates nothing: keys (strings the cache already held), reason
 * codes in a byte array, times in a Float64Array. The oldest line is
 * overwritten when the ring is full.
 */
export class EvictionLog {
  readonly #keys: (string | undefined)[];
  readonly #reasons: Uint8Array;
  readonly #times: Float64Array;
  readonly #policy: EvictionPolicy;
  /** Index the next record is written to. */
  #next = 0;
  #count = 0;

  constructor(capacity: number, policy: EvictionPolicy) {
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#reasons = new Uint8Array(capacity);
    this.#times = new Float64Array(capacity);
    this.#policy = policy;
  }

  record(key: string, reason: EvictionReason, at: number): void {
    const i = this.#next;
    this.#keys[i] = key;
    this.#reasons[i] = REASON_CODE[reason];
    this.#times[i] = at;
    this.#next = i + 1 === this.#keys.length ? 0 : i + 1;
    if (this.#count < this.#keys.length) this.#count++;
  }

  /** The most recent evictions, newest first. */
  recent(limit: number): EvictionRecord[] {
    const capacity = this.#keys.length;
    const n = Math.min(limit, this.#count);
    const out: EvictionRecord[] = [];
    for (let k = 1; k <= n; k++) {
      // Walk backwards from the last written index, wrapping around the ring.
      const i = (this.#next - k + capacity) % capacity;
      out.push({
        key: this.#keys[i]!,
        reason: REASONS[this.#reasons[i]!]!,
        policy: this.#policy,
        at: this.#times[i]!,
      });
    }
    return out;
  }

  clear(): void {
    this.#keys.fill(undefined);
    this.#next = 0;
    this.#count = 0;
  }
}
