import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '@fiml/market';
import type { CacheHitEvent } from '../cache-events.js';
import type { WarmLedger } from './warm-ledger.js';

export interface WarmReadRecorderOptions {
  readonly ledger: Pick<WarmLedger, 'read'>;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** How often buffered reads are sent. @defaultValue 1000 */
  readonly flushIntervalMs?: number;
  /** Distinct warmed entries buffered between flushes; past it, reads are dropped and counted. @defaultValue 10000 */
  readonly maxPending?: number;
}

export interface WarmReadRecorderEvents {
  /** Reads lost: the buffer was full, or the ledger could not be written. */
  drop: [
    event: {
      readonly reason: 'buffer-full' | 'flush-failed';
      readonly reads: number;
      readonly error?: Error;
    },
  ];
}

/**
 * The api's side of warm precision: a read answered by an entry the warmer
 * wrote is sent to the warm ledger, which counts the entry used if it was
 * still fresh. Costs a string comparison per hit on the read path; only the
 * first read of each warmed entry is kept (one entry is one warm, read once or
 * a thousand times), buffered and sent once a second in one script call. One
 * flush at a time; the buffer is bounded, and what cannot be kept is counted.
 */
export class WarmReadRecorder extends EventEmitter<WarmReadRecorderEvents> {
  readonly #ledger: Pick<WarmLedger, 'read'>;
  readonly #clock: Clock;
  readonly #maxPending: number;
  #pending = new Map<string, { key: string; fetchedAt: number; at: number }>();
  /** Entries sent already (cleared when large: the ledger ignores a second read anyway). */
  #sent = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #dropped = 0;

  constructor(options: WarmReadRecorderOptions) {
    super();
    this.#ledger = options.ledger;
    this.#clock = options.clock ?? systemClock;
    this.#maxPending = options.maxPending ?? 10_000;
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  /** A cache 'hit' listener: keeps reads of warmer-written entries. */
  readonly onHit = (event: Pick<CacheHitEvent, 'key' | 'writer' | 'fetchedAt'>): void => {
    if (event.writer !== 'warmer') return;
    const id = `${event.key}@${event.fetchedAt}`;
    if (this.#sent.has(id) || this.#pending.has(id)) return;
    if (this.#pending.size >= this.#maxPending) {
      this.#drop('buffer-full', 1);
      return;
    }
    this.#pending.set(id, { key: event.key, fetchedAt: event.fetchedAt, at: this.#clock.now() });
  };

  /** Reads lost since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Sends the buffered reads now (after a flush in progress). */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    if (this.#sent.size > 100_000) this.#sent = new Set();
    for (const id of batch.keys()) this.#sent.add(id);
    this.#flushing = this.#ledger
      .read([...batch.values()])
      .then(
        () => undefined,
        (error: unknown) =>
          this.#drop(
            'flush-failed',
            batch.size,
            error instanceof Error ? error : new Error(String(error)),
          ),
      )
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #drop(reason: 'buffer-full' | 'flush-failed', reads: number, error?: Error): void {
    this.#dropped += reads;
    this.emit('drop', { reason, reads, ...(error ? { error } : {}) });
  }
}
