import type { Cluster, Redis } from 'ioredis';
import {
  SeededRandom,
  randomSeed,
  systemClock,
  type AssetType,
  type Clock,
  type DataType,
  type Random,
} from '@fiml/market';
import { cacheKey } from '../cache-keys.js';
import { callScript, defineScript } from '../lua/lua-script.js';
import { encodeField } from './access-record.js';
import { ACCESS_MERGE } from './access-scripts.js';
import {
  accessSettings,
  type AccessSettings,
  type AccessSettingsOptions,
} from './access-settings.js';
import { ZoneBuckets } from './zone-buckets.js';

/** Why reads were not recorded: the `reason` of a `drop` event (a bounded set). */
export const ACCESS_DROP_REASONS = ['buffer-full', 'flush-failed', 'invalid-key'] as const;
export type AccessDropReason = (typeof ACCESS_DROP_REASONS)[number];

/** Reads the recorder could not record. */
export interface AccessDropEvent {
  readonly reason: AccessDropReason;
  readonly reads: number;
}

/** One flush written. */
export interface AccessFlushEvent {
  /** Keys (records) written. */
  readonly keys: number;
  /** Stored records that could not be decoded and were started afresh. */
  readonly corrupt: number;
  /** Shards split because they grew past `splitAt`. */
  readonly splits: number;
  /** Cold records the flush's sweep deleted. */
  readonly swept: number;
}

export interface AccessRecorderEvents {
  drop: (event: AccessDropEvent) => void;
  flush: (event: AccessFlushEvent) => void;
  error: (error: Error) => void;
}

export interface AccessRecorderOptions extends AccessSettingsOptions {
  /** The cache Redis. */
  readonly redis: Redis | Cluster;
  /** Time of a read when `record` is not told it. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Seeds the merge's stochastic rounding. @defaultValue new SeededRandom(randomSeed()) */
  readonly random?: Random;
  /** How often buffered reads are written. @defaultValue 1000 */
  readonly flushIntervalMs?: number;
  /**
   * Distinct keys buffered between flushes. Reaching it starts a flush at
   * once; when that cannot start (flushes in flight), reads of keys not
   * already buffered are dropped and counted. @defaultValue 10000
   */
  readonly maxPendingKeys?: number;
  /**
   * Flushes in flight at once. When Redis is slow, buffered reads wait for
   * one to finish instead of piling up in the client. @defaultValue 1
   */
  readonly maxInFlightFlushes?: number;
  /** Keys per Lua call: bounds how long one call holds Redis. @defaultValue 256 */
  readonly keysPerCall?: number;
  /** A shard splits when it passes this many fields (listpack holds 128). @defaultValue 120 */
  readonly splitAt?: number;
  /** How long `close` waits for the last writes. @defaultValue 5000 */
  readonly closeTimeoutMs?: number;
  /** Called when a flush fails (its reads are dropped and counted). Same as the `error` event. */
  readonly onError?: (error: Error) => void;
}

/** The reads of one key waiting for a flush. */
interface PendingKey {
  /** The latest read, in epoch minutes: the weights below are decayed to it. */
  lastMinute: number;
  /** Buckets read (usually one or two), with their weights at the same index. */
  readonly buckets: number[];
  readonly weights: number[];
  /** Undecayed reads, for the drop count. */
  reads: number;
}

const MINUTE_MS = 60_000;
/** A (bucket, weight) pair on the wire: uint8 + float32. */
const PAIR_BYTES = 5;

/**
 * Records successful reads for the warmer: per logical key, a decayed read
 * frequency, a time-of-day profile of 48 half-hour buckets in the exchange
 * time zone, and the last read, in a few dozen bytes of Redis per key (see
 * access-record.ts for the layout and docs/ARCHITECTURE.md for why).
 *
 * `record` is the read path's whole cost: a zone bucket (memoised per half
 * hour) and a Map update. Reads are buffered per key and written
 * asynchronously, every `flushIntervalMs` and at once when `maxPendingKeys`
 * keys are buffered, by Lua merges that decay and add server-side, so
 * several api instances add into the same records. Bounded end to end: at
 * most `maxPendingKeys` keys buffered and `maxInFlightFlushes` flushes in
 * flight; what does not fit is dropped and counted (`dropped`, `drop`
 * events), never queued without bound.
 */
export class AccessRecorder {
  readonly #redis: Redis | Cluster;
  readonly #settings: AccessSettings;
  readonly #zone: ZoneBuckets;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #maxPending: number;
  readonly #maxInFlight: number;
  readonly #keysPerCall: number;
  readonly #splitAt: number;
  readonly #closeTimeoutMs: number;
  readonly #listeners: { [E in keyof AccessRecorderEvents]: AccessRecorderEvents[E][] } = {
    drop: [],
    flush: [],
    error: [],
  };
  #pending = new Map<string, PendingKey>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;
  #closed = false;

  constructor(options: AccessRecorderOptions) {
    this.#redis = options.redis;
    this.#settings = accessSettings(options);
    this.#zone = new ZoneBuckets(this.#settings.timeZone);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? new SeededRandom(randomSeed());
    this.#maxPending = positive('maxPendingKeys', options.maxPendingKeys ?? 10_000);
    this.#maxInFlight = positive('maxInFlightFlushes', options.maxInFlightFlushes ?? 1);
    this.#keysPerCall = positive('keysPerCall', options.keysPerCall ?? 256);
    this.#splitAt = options.splitAt ?? 120;
    if (!Number.isInteger(this.#splitAt) || this.#splitAt < 2 || this.#splitAt > 127) {
      throw new RangeError(`splitAt must be an integer in 2..127, got ${this.#splitAt}`);
    }
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
    if (options.onError) this.on('error', options.onError);
    defineScript(this.#redis, ACCESS_MERGE);
    const interval = positive('flushIntervalMs', options.flushIntervalMs ?? 1_000);
    this.#timer = setInterval(() => void this.flush(), interval);
    this.#timer.unref();
  }

  on<E extends keyof AccessRecorderEvents>(event: E, listener: AccessRecorderEvents[E]): this {
    this.#listeners[event].push(listener);
    return this;
  }

  off<E extends keyof AccessRecorderEvents>(event: E, listener: AccessRecorderEvents[E]): this {
    const list = this.#listeners[event];
    const at = list.indexOf(listener);
    if (at >= 0) list.splice(at, 1);
    return this;
  }

  /**
   * Records one successful read of a logical key (`price:equity:AAPL`) at
   * `at` (epoch ms; the time of the read, not of the flush). Call it after the
   * read succeeded: failed and not-found reads are not reads the warmer can
   * serve. Never throws and never waits.
   */
  record(key: string, at: number = this.#clock.now()): void {
    let pending = this.#pending.get(key);
    if (!pending) {
      if (this.#closed || encodeField(key) === undefined) {
        this.#drop(this.#closed ? 'buffer-full' : 'invalid-key', 1);
        return;
      }
      if (this.#pending.size >= this.#maxPending) {
        void this.flush();
        if (this.#pending.size >= this.#maxPending) {
          this.#drop('buffer-full', 1);
          return;
        }
      }
      pending = { lastMinute: Math.floor(at / MINUTE_MS), buckets: [], weights: [], reads: 0 };
      this.#pending.set(key, pending);
    }
    this.#add(pending, at);
    if (this.#pending.size >= this.#maxPending) void this.flush();
  }

  /**
   * The original FIML warmer's name for {@link record}:
   * `warmer.recordCacheAccess('AAPL', DataType.PRICE)`. The asset type is
   * equity unless given (the original had no crypto keys of the same symbol).
   */
  recordCacheAccess(
    symbol: string,
    dataType: DataType,
    assetType: AssetType = 'equity',
    at?: number,
  ): void {
    this.record(cacheKey(dataType, assetType, symbol), at);
  }

  /** Reads dropped since start (buffer full, flush failed, invalid key). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Distinct keys waiting for a flush. */
  get pendingKeys(): number {
    return this.#pending.size;
  }

  /** Flushes being written now (at most `maxInFlightFlushes`). */
  get inFlightFlushes(): number {
    return this.#inFlight.size;
  }

  /**
   * Starts writing the buffered reads, unless `maxInFlightFlushes` are
   * already in flight (then they stay buffered for a later flush). Resolves
   * when the flush it started, or the ones in flight, have settled; never
   * rejects (a failed flush is dropped, counted and reported).
   */
  flush(): Promise<void> {
    if (this.#inFlight.size >= this.#maxInFlight || this.#pending.size === 0) {
      return this.#settled();
    }
    const batch = this.#pending;
    this.#pending = new Map();
    const flight = this.#write(batch).finally(() => this.#inFlight.delete(flight));
    this.#inFlight.add(flight);
    return flight;
  }

  /**
   * Stops the timer and writes what is buffered, waiting at most
   * `closeTimeoutMs`; reads still buffered then are dropped and counted.
   * Reads recorded after close are dropped.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const deadline = performance.now() + this.#closeTimeoutMs;
    while (this.#pending.size > 0 || this.#inFlight.size > 0) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        timer.unref();
      });
      await Promise.race([this.flush(), timeout]).finally(() => clearTimeout(timer));
    }
    this.#closed = true;
    let left = 0;
    for (const pending of this.#pending.values()) left += pending.reads;
    this.#pending.clear();
    if (left > 0) this.#drop('buffer-full', left);
  }

  /** Adds one read to a key's pending weights, decayed to the key's latest read. */
  #add(pending: PendingKey, at: number): void {
    const minute = Math.floor(at / MINUTE_MS);
    let weight = 1;
    if (minute > pending.lastMinute) {
      const scale = 2 ** (-((minute - pending.lastMinute) * MINUTE_MS) / this.#settings.halfLifeMs);
      for (let i = 0; i < pending.weights.length; i++) pending.weights[i]! *= scale;
      pending.lastMinute = minute;
    } else if (minute < pending.lastMinute) {
      weight = 2 ** (-((pending.lastMinute - minute) * MINUTE_MS) / this.#settings.halfLifeMs);
    }
    const bucket = this.#zone.bucket(at);
    const i = pending.buckets.indexOf(bucket);
    if (i >= 0) pending.weights[i]! += weight;
    else {
      pending.buckets.push(bucket);
      pending.weights.push(weight);
    }
    pending.reads++;
  }

  #settled(): Promise<void> {
    return Promise.all(this.#inFlight).then(() => undefined);
  }

  /** Writes one batch: a pipeline of Lua merges of `keysPerCall` keys each. */
  async #write(batch: Map<string, PendingKey>): Promise<void> {
    const { shardPrefix, directoryKey, halfLifeMs, coldAfterMs } = this.#settings;
    const now = Math.floor(this.#clock.now() / MINUTE_MS);
    const head = [
      shardPrefix,
      String(now),
      String(halfLifeMs / MINUTE_MS),
      String(Math.ceil(coldAfterMs / MINUTE_MS)),
      String(coldAfterMs),
      String(this.#splitAt),
    ];
    const calls: { args: (string | Buffer)[]; reads: number }[] = [];
    let call: { args: (string | Buffer)[]; reads: number } | undefined;
    let inCall = 0;
    for (const [key, pending] of batch) {
      if (!call || inCall === this.#keysPerCall) {
        call = {
          args: [...head, String(Math.floor(this.#random.next() * 2_147_483_646) + 1)],
          reads: 0,
        };
        calls.push(call);
        inCall = 0;
      }
      const pairs = Buffer.alloc(pending.buckets.length * PAIR_BYTES);
      for (let i = 0; i < pending.buckets.length; i++) {
        pairs.writeUInt8(pending.buckets[i]!, i * PAIR_BYTES);
        pairs.writeFloatLE(pending.weights[i]!, i * PAIR_BYTES + 1);
      }
      call.args.push(encodeField(key)!, String(pending.lastMinute), pairs);
      call.reads += pending.reads;
      inCall++;
    }
    const pipeline = this.#redis.pipeline();
    for (const c of calls) void callScript(pipeline, ACCESS_MERGE, [directoryKey], c.args);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      replies = null;
      this.#fail(error);
    }
    const totals = { keys: 0, corrupt: 0, splits: 0, swept: 0 };
    let failedReads = 0;
    let firstError: unknown;
    calls.forEach((c, i) => {
      const [error, reply] = replies?.[i] ?? [new Error('no reply'), null];
      if (error || !Array.isArray(reply)) {
        failedReads += c.reads;
        firstError ??= error ?? new Error(`unexpected merge reply ${String(reply)}`);
        return;
      }
      const [keys, corrupt, splits, swept] = (reply as unknown[]).map(Number);
      totals.keys += keys ?? 0;
      totals.corrupt += corrupt ?? 0;
      totals.splits += splits ?? 0;
      totals.swept += swept ?? 0;
    });
    if (failedReads > 0) {
      this.#drop('flush-failed', failedReads);
      if (replies) this.#fail(firstError);
    }
    if (totals.keys > 0) this.#emit('flush', totals);
  }

  #drop(reason: AccessDropReason, reads: number): void {
    this.#dropped += reads;
    this.#emit('drop', { reason, reads });
  }

  #fail(error: unknown): void {
    this.#emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #emit<E extends keyof AccessRecorderEvents>(
    event: E,
    payload: Parameters<AccessRecorderEvents[E]>[0],
  ): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (p: typeof payload) => void)(payload);
      } catch {
        // A listener's failure must not fail a read or a flush; metrics listeners guard themselves.
      }
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
