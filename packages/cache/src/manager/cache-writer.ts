import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { systemClock, type AssetType, type Clock, type DataType } from '@fiml/market';
import type { CacheEventName, CacheEvents, CacheLevel, WriteSource } from '../cache-events.js';
import { cacheKeySpace } from '../cache-keys.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import type { EntryCodec } from '../l2/entry-codec.js';
import { L2Store } from '../l2/l2-store.js';
import type { WriteOutcome } from '../l2/write-outcome.js';
import { CacheEmitter } from './cache-emitter.js';
import { Freshness, type FreshnessOptions } from './freshness.js';
import { InvalidationBus } from './invalidation-bus.js';
import type { Fetched } from './types.js';

export interface CacheWriterOptions extends FreshnessOptions {
  /** The cache Redis (a cache-role connection), standalone or Cluster. */
  readonly redis: Redis | Cluster;
  /** First segment of Redis keys and channels (CACHE_KEY_PREFIX). @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** @defaultValue msgpackCodec() */
  readonly codec?: EntryCodec;
  /** This writer's id on the invalidation channel. @defaultValue a random UUID */
  readonly instanceId?: string;
}

/** The levels of every `set` event a writer emits; shared, never mutated. */
const L2_ONLY: readonly CacheLevel[] = Object.freeze(['l2'] as const);

/**
 * The write side for processes that fetch but do not serve reads (the
 * batch-scheduler, the warmer): only the cache Redis, no L1, no subscriber.
 * `write` stores many entries newer-wins (a Lua set-if-newer on `fetchedAt`,
 * one round trip per node), publishes one invalidation for the keys it wrote
 * so every api instance drops its L1 copy, and reports each key's outcome.
 * A retried job or a slow worker therefore never puts older data over newer.
 *
 * Events: `set` per written entry (levels ['l2']), `error` for a failed write
 * or publish (components `writer`/`invalidation`).
 */
export class CacheWriter {
  readonly l2: L2Store;
  readonly #freshness: Freshness;
  readonly #clock: Clock;
  readonly #bus: InvalidationBus;
  readonly #events = new CacheEmitter();

  constructor(options: CacheWriterOptions) {
    this.#freshness = new Freshness(options);
    this.#clock = options.clock ?? systemClock;
    const space = cacheKeySpace(options.keyPrefix ?? 'fiml');
    this.l2 = new L2Store({
      redis: options.redis,
      ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
      ...(options.codec === undefined ? {} : { codec: options.codec }),
      clock: this.#clock,
    });
    this.#bus = new InvalidationBus({
      publisher: options.redis,
      channel: space.channel,
      instanceId: options.instanceId ?? randomUUID(),
    });
  }

  on<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends CacheEventName>(event: E, listener: CacheEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  /** The entry a fetch result becomes now, with the market-aware TTL. */
  buildEntry<V>(
    dataType: DataType,
    assetType: AssetType,
    fetched: Fetched<V>,
    writer: WriteSource,
  ): CacheEntry<V> {
    return this.#freshness.entry(dataType, assetType, fetched, writer, this.#clock.now());
  }

  /**
   * Stores entries newer-wins and publishes the keys written. Never rejects
   * for Redis: a write Redis did not take is a `failed` outcome. A key that
   * is not `dataType:assetType:SYMBOL` is a caller bug and throws.
   */
  async write(
    entries: readonly (readonly [key: string, entry: CacheEntry])[],
  ): Promise<WriteOutcome[]> {
    // setMany checks every key (and throws) before it writes anything.
    const outcomes = await this.l2.setMany(entries);
    const announce = this.#events.listens('set');
    const written: string[] = [];
    for (let i = 0; i < outcomes.length; i += 1) {
      const outcome = outcomes[i]!;
      if (outcome.status === 'written') {
        written.push(outcome.key);
        if (!announce) continue;
        const entry = entries[i]![1];
        this.#events.emit('set', {
          key: outcome.key,
          dataType: entry.dataType,
          writer: entry.writer,
          ttlMs: entry.ttlMs,
          levels: L2_ONLY,
        });
      } else if (outcome.status === 'failed') {
        this.#events.emit('error', {
          component: 'writer',
          operation: 'set',
          error: outcome.error,
          key: outcome.key,
        });
      }
    }
    if (written.length > 0) {
      try {
        await this.#bus.publish('set', written);
      } catch (error) {
        // The entries are in L2; api instances keep their older L1 copies until those expire.
        this.#events.emit('error', {
          component: 'invalidation',
          operation: 'publish',
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    }
    return outcomes;
  }

  /** The stored entries of keys (undefined for a miss or an unreadable value), for "is it young enough" checks. */
  async peek(keys: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    const reads = await this.l2.getMany(keys);
    return reads.map((read) => (read.status === 'hit' ? read.entry : undefined));
  }
}
