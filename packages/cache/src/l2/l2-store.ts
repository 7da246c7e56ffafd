import { Cluster, type Redis } from 'ioredis';
import { systemClock, type Clock } from '@fiml/market';
import { assertEntryKey, cacheKeySpace } from '../cache-keys.js';
import { callScript, defineScript } from '../lua/lua-script.js';
import { SET_IF_NEWER } from '../lua/set-if-newer.js';
import { groupByNode, groupBySlot } from '../redis-slots.js';
import type { CacheEntry } from './cache-entry.js';
import { bodyOf } from './entry-header.js';
import { CorruptEntryError, msgpackCodec, type EntryCodec } from './entry-codec.js';
import { WritePacker } from './packed-writes.js';
import type { WriteOutcome } from './write-outcome.js';

/** What one L2 read found. A corrupt value is reported, never thrown: it reads as a miss. */
export type L2Read =
  | { readonly status: 'hit'; readonly entry: CacheEntry }
  | { readonly status: 'miss' }
  | { readonly status: 'corrupt'; readonly error: CorruptEntryError };

export interface L2StoreOptions {
  /** A cache-role connection (fails fast when Redis is down), standalone or Cluster. */
  readonly redis: Redis | Cluster;
  /** First segment of every Redis key. @defaultValue 'fiml' */
  readonly keyPrefix?: string;
  /** @defaultValue msgpackCodec() */
  readonly codec?: EntryCodec;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Keys per SCAN page and per UNLINK in {@link L2Store.deleteByPattern}. @defaultValue 500 */
  readonly scanCount?: number;
  /** Entries per set-if-newer script call (a long script blocks Redis meanwhile). @defaultValue 200 */
  readonly writeChunk?: number;
}

/**
 * The Redis tier (L2): entries with their metadata, serialized compactly,
 * expiring in Redis at their hard expiry, under the entry segment of the key
 * space (`<prefix>:v2:e:`). Writes are newer-wins: a Lua script stores an
 * entry only if no entry fetched later is there, so a slow writer, a retried
 * job or a second instance can never put older data over newer. Multi-key
 * operations take one round trip, grouped by hash slot on a Cluster (a
 * script or MGET must not span slots there).
 */
export class L2Store {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #codec: EntryCodec;
  readonly #clock: Clock;
  readonly #scanCount: number;
  readonly #writeChunk: number;
  readonly #cluster: boolean;
  readonly #packer: WritePacker;

  constructor(options: L2StoreOptions) {
    this.#redis = options.redis;
    this.#prefix = cacheKeySpace(options.keyPrefix ?? 'fiml').entry;
    this.#codec = options.codec ?? msgpackCodec();
    this.#clock = options.clock ?? systemClock;
    this.#scanCount = options.scanCount ?? 500;
    this.#writeChunk = options.writeChunk ?? 200;
    this.#cluster = options.redis instanceof Cluster;
    this.#packer = new WritePacker(this.#codec);
    defineScript(this.#redis, SET_IF_NEWER);
  }

  /** The Redis key of a logical key. */
  redisKey(key: string): string {
    return this.#prefix + key;
  }

  async get(key: string): Promise<L2Read> {
    assertEntryKey(key);
    return this.#read(await this.#redis.getBuffer(this.redisKey(key)));
  }

  /** Reads many keys in one round trip; the result is in the order of `keys`. */
  async getMany(keys: readonly string[]): Promise<L2Read[]> {
    keys.forEach(assertEntryKey);
    if (keys.length === 0) return [];
    const results = new Array<L2Read>(keys.length);
    if (!this.#cluster) {
      const values = await this.#redis.mgetBuffer(...keys.map((k) => this.redisKey(k)));
      values.forEach((value, i) => (results[i] = this.#read(value)));
      return results;
    }
    // A Cluster cannot MGET across slots, and a pipeline goes to one node: one
    // pipeline per master holding an MGET per slot, the masters concurrently.
    await Promise.all(
      this.#byNode(
        keys.map((_, i) => i),
        (i) => keys[i]!,
      ).map(async (slots) => {
        const pipeline = this.#redis.pipeline();
        for (const indexes of slots)
          pipeline.mgetBuffer(...indexes.map((i) => this.redisKey(keys[i]!)));
        const replies = (await pipeline.exec()) ?? [];
        slots.forEach((indexes, s) => {
          const [error, values] = replies[s] ?? [new Error('no reply from Redis'), undefined];
          if (error) throw error;
          indexes.forEach((keyIndex, j) => {
            results[keyIndex] = this.#read((values as (Buffer | null)[] | undefined)?.[j] ?? null);
          });
        });
      }),
    );
    return results;
  }

  /** Writes one entry unless a newer one is stored; see {@link setMany}. */
  async set(key: string, entry: CacheEntry): Promise<WriteOutcome> {
    const [outcome] = await this.setMany([[key, entry]]);
    return outcome!;
  }

  /**
   * Writes entries newer-wins, expiring at their hard expiry: each is stored
   * unless the stored entry was fetched later. One round trip (script calls
   * of at most `writeChunk` entries, pipelined; one group per hash slot on a
   * Cluster). Resolves with an outcome per entry in order; a Redis error is a
   * `failed` outcome for the entries it hit, never a rejection.
   */
  async setMany(entries: readonly (readonly [string, CacheEntry])[]): Promise<WriteOutcome[]> {
    for (const [key, entry] of entries) {
      assertEntryKey(key);
      assertWritable(key, entry);
    }
    const now = this.#clock.now();
    const outcomes = new Array<WriteOutcome>(entries.length);
    const live: number[] = [];
    entries.forEach(([key, entry], i) => {
      if (entry.hardExpiresAt > now) live.push(i);
      else outcomes[i] = { key, status: 'skipped', reason: 'expired' };
    });
    if (live.length === 0) return outcomes;
    // Standalone: chunks of `live`; a Cluster groups by node below.
    const chunks = this.#cluster ? [] : chunk(live, this.#writeChunk);
    // Every entry of a chunk in one argument (lua/set-if-newer.ts); KEYS still
    // lists each key, for Cluster routing and for Redis to know what it touches.
    const send = (target: Redis | Cluster | ReturnType<Redis['pipeline']>, indexes: number[]) => {
      const keys = new Array<string>(indexes.length);
      for (let j = 0; j < indexes.length; j += 1) keys[j] = this.redisKey(entries[indexes[j]!]![0]);
      const packed = this.#packer.pack(entries, indexes, now);
      return callScript(target, SET_IF_NEWER, keys, [packed]);
    };
    const record = (indexes: number[], reply: unknown, error: Error | null | undefined) => {
      indexes.forEach((entryIndex, j) => {
        const key = entries[entryIndex]![0];
        const flag = Array.isArray(reply) ? (reply[j] as unknown) : undefined;
        outcomes[entryIndex] = error
          ? { key, status: 'failed', error }
          : flag === 1
            ? { key, status: 'written' }
            : flag === 0
              ? { key, status: 'skipped', reason: 'newer' }
              : {
                  key,
                  status: 'failed',
                  error: new Error(`unexpected script reply ${String(flag)}`),
                };
      });
    };
    if (!this.#cluster && chunks.length === 1) {
      // Standalone, one chunk (the usual batch): a plain call, no pipeline to build.
      const indexes = chunks[0]!;
      const reply = send(this.#redis, indexes); // a codec error throws here, as on the pipeline path
      try {
        record(indexes, await reply, undefined);
      } catch (error) {
        record(indexes, undefined, asError(error));
      }
      return outcomes;
    }
    if (!this.#cluster) {
      // Standalone: every chunk in one pipeline, one round trip.
      const pipeline = this.#redis.pipeline();
      for (const indexes of chunks) void send(pipeline, indexes);
      try {
        const replies = (await pipeline.exec()) ?? [];
        chunks.forEach((indexes, c) => {
          const [error, reply] = replies[c] ?? [new Error('no reply from Redis'), undefined];
          record(indexes, reply, error);
        });
      } catch (error) {
        chunks.forEach((indexes) => record(indexes, undefined, asError(error)));
      }
      return outcomes;
    }
    // Cluster: one pipeline per master holding the chunks of its slots (a
    // script call keeps to one slot, a pipeline to one node), masters concurrently.
    await Promise.all(
      this.#byNode(live, (i) => entries[i]![0]).map(async (slots) => {
        const nodeChunks = slots.flatMap((group) => chunk(group, this.#writeChunk));
        const pipeline = this.#redis.pipeline();
        for (const indexes of nodeChunks) void send(pipeline, indexes);
        try {
          const replies = (await pipeline.exec()) ?? [];
          nodeChunks.forEach((indexes, c) => {
            const [error, reply] = replies[c] ?? [new Error('no reply from Redis'), undefined];
            record(indexes, reply, error);
          });
        } catch (error) {
          nodeChunks.forEach((indexes) => record(indexes, undefined, asError(error)));
        }
      }),
    );
    return outcomes;
  }

  /** Deletes keys; resolves with how many existed. Rejects when Redis does. */
  async delete(keys: readonly string[]): Promise<number> {
    keys.forEach(assertEntryKey);
    if (keys.length === 0) return 0;
    if (!this.#cluster) return this.#redis.unlink(...keys.map((k) => this.redisKey(k)));
    // One pipeline per master, an UNLINK per slot in it.
    const counts = await Promise.all(
      this.#byNode(keys, (k) => k).map(async (slots) => {
        const pipeline = this.#redis.pipeline();
        for (const group of slots) pipeline.unlink(...group.map((k) => this.redisKey(k)));
        let removed = 0;
        for (const [error, count] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          removed += Number(count);
        }
        return removed;
      }),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Deletes every entry whose logical key matches a glob (`price:equity:*`).
   * Walks the entry segment with SCAN, never KEYS, so Redis keeps serving while
   * it runs; locks, access data and limits live in other segments and are never
   * matched, whatever the pattern. Resolves with how many entries it removed.
   */
  async deleteByPattern(pattern: string): Promise<number> {
    if (typeof pattern !== 'string' || pattern.length === 0) {
      throw new RangeError('pattern must be a non-empty glob over logical keys');
    }
    const nodes = this.#redis instanceof Cluster ? this.#redis.nodes('master') : [this.#redis];
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(
          cursor,
          'MATCH',
          this.redisKey(pattern),
          'COUNT',
          this.#scanCount,
        );
        cursor = next;
        if (found.length > 0) {
          for (const group of this.#cluster ? this.#bySlot(found, (k) => k, true) : [found]) {
            removed += await node.unlink(...group);
          }
        }
      } while (cursor !== '0');
    }
    return removed;
  }

  #read(value: Buffer | null): L2Read {
    if (value === null) return { status: 'miss' };
    const body = bodyOf(value);
    if (!body) {
      return { status: 'corrupt', error: new CorruptEntryError('stored value has no fiml header') };
    }
    try {
      return { status: 'hit', entry: this.#codec.decode(body) };
    } catch (error) {
      const corrupt =
        error instanceof CorruptEntryError
          ? error
          : new CorruptEntryError('undecodable entry', { cause: error });
      return { status: 'corrupt', error: corrupt };
    }
  }

  #bySlot<T>(items: readonly T[], keyOf: (item: T) => string, isRedisKey = false): T[][] {
    return groupBySlot(items, isRedisKey ? keyOf : (item) => this.redisKey(keyOf(item)));
  }

  /** Cluster only: per node, the items grouped by slot (see {@link groupByNode}). */
  #byNode<T>(items: readonly T[], keyOf: (item: T) => string): T[][][] {
    return groupByNode(this.#redis as Cluster, items, (item) => this.redisKey(keyOf(item)));
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** An entry whose times are not finite would store a value no reader can use (or fail its chunk). */
function assertWritable(key: string, entry: CacheEntry): void {
  if (!Number.isFinite(entry.fetchedAt) || !Number.isFinite(entry.hardExpiresAt)) {
    throw new RangeError(
      `entry for ${key} has fetchedAt ${entry.fetchedAt} and hardExpiresAt ${entry.hardExpiresAt}; both must be finite`,
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
