import type { Cluster, Redis } from 'ioredis';
import { systemClock, type Clock } from '@fiml/market';
import { cacheKeySpace } from '../cache-keys.js';

export interface AccessRecorderOptions {
  /** The cache Redis. */
  readonly redis: Redis | Cluster;
  /** @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** How often buffered counts are written. @defaultValue 1000 */
  readonly flushIntervalMs?: number;
  /** Distinct keys buffered between flushes; past it, a flush starts at once. @defaultValue 10000 */
  readonly maxPendingKeys?: number;
  /** How long an hour's counts are kept in Redis. @defaultValue 8 days */
  readonly retentionMs?: number;
  /** Called when a flush fails (the counts of that flush are dropped). */
  readonly onError?: (error: Error) => void;
}

const HOUR_MS = 3_600_000;

/**
 * Records reads for the warmer: counts per logical key, buffered in memory
 * and written once a second as one pipelined ZINCRBY per key into the
 * current hour's sorted set (`<prefix>:v2:access:<epoch hour>`), kept for
 * eight days. Recording costs a Map increment on the read path; the I/O is
 * batched and off it. Memory is bounded: a full buffer flushes early.
 */
export class AccessRecorder {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #maxPending: number;
  readonly #retentionMs: number;
  readonly #onError: (error: Error) => void;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #dropped = 0;

  constructor(options: AccessRecorderOptions) {
    this.#redis = options.redis;
    this.#prefix = cacheKeySpace(options.keyPrefix ?? 'fiml').access;
    this.#clock = options.clock ?? systemClock;
    this.#maxPending = options.maxPendingKeys ?? 10_000;
    this.#retentionMs = options.retentionMs ?? 8 * 24 * HOUR_MS;
    this.#onError = options.onError ?? (() => undefined);
    const interval = options.flushIntervalMs ?? 1_000;
    this.#timer = setInterval(() => void this.flush(), interval);
    this.#timer.unref();
  }

  /** Counts one read of a key. */
  record(key: string): void {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
    if (this.#pending.size >= this.#maxPending) void this.flush();
  }

  /** Reads counted but lost to failed flushes, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The sorted set holding the counts of the hour containing `instant`. */
  hourKey(instant: number): string {
    return this.#prefix + Math.floor(instant / HOUR_MS);
  }

  /** Writes the buffered counts now. Resolves when they are in Redis (or dropped on error). */
  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#flushing;
    const batch = this.#pending;
    this.#pending = new Map();
    const key = this.hourKey(this.#clock.now());
    this.#flushing = this.#flushing.then(async () => {
      const pipeline = this.#redis.pipeline();
      for (const [member, count] of batch) pipeline.zincrby(key, count, member);
      pipeline.pexpire(key, this.#retentionMs);
      try {
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error);
        if (failed?.[0]) throw failed[0];
      } catch (error) {
        for (const count of batch.values()) this.#dropped += count;
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return this.#flushing;
  }

  /** The most-read keys of the hours in [from, to), with their counts, most read first. */
  async topKeys(from: number, to: number, limit = 100): Promise<{ key: string; reads: number }[]> {
    const totals = new Map<string, number>();
    for (let hour = Math.floor(from / HOUR_MS); hour * HOUR_MS < to; hour++) {
      const flat = await this.#redis.zrevrange(this.#prefix + hour, 0, limit * 4 - 1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) {
        totals.set(flat[i]!, (totals.get(flat[i]!) ?? 0) + Number(flat[i + 1]));
      }
    }
    return [...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([key, reads]) => ({ key, reads }));
  }

  /** Stops the timer and writes what is buffered. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
