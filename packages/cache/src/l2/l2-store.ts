// The declaration must travel with this module to packages that type-check it from source.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { systemClock, type Clock } from '@fiml/market';
import { KEY_SCHEME_VERSION, assertValidKey } from '../cache-keys.js';
import type { CacheEntry } from './cache-entry.js';
import { CorruptEntryError, msgpackCodec, type EntryCodec } from './entry-codec.js';

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
}

export interface SetManyOptions {
  /**
   * Write all entries in one MULTI/EXEC transaction, so readers see all or
   * none. On a Redis Cluster a transaction cannot span slots, so atomicity
   * holds per hash slot there. @defaultValue false
   */
  readonly atomic?: boolean;
}

/**
 * The Redis tier (L2): entries with their metadata, serialized compactly,
 * expiring in Redis at their hard expiry. Multi-key operations are pipelined
 * into one round trip, grouped by hash slot when the client is a Cluster (a
 * pipeline or MULTI must not span slots there); a standalone Redis gets one
 * command for the whole batch.
 */
export class L2Store {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #codec: EntryCodec;
  readonly #clock: Clock;
  readonly #scanCount: number;
  readonly #cluster: boolean;

  constructor(options: L2StoreOptions) {
    const prefix = options.keyPrefix ?? 'fiml';
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(prefix)) {
      throw new RangeError(
        `keyPrefix must be 1-32 letters, digits, ".", "_" or "-", got ${JSON.stringify(prefix)}`,
      );
    }
    this.#redis = options.redis;
    this.#prefix = `${prefix}:${KEY_SCHEME_VERSION}:`;
    this.#codec = options.codec ?? msgpackCodec();
    this.#clock = options.clock ?? systemClock;
    this.#scanCount = options.scanCount ?? 500;
    this.#cluster = options.redis instanceof Cluster;
  }

  /** The Redis key of a logical key. */
  redisKey(key: string): string {
    return this.#prefix + key;
  }

  async get(key: string): Promise<L2Read> {
    assertValidKey(key);
    return this.#read(await this.#redis.getBuffer(this.redisKey(key)));
  }

  /** Reads many keys in one round trip; the result is in the order of `keys`. */
  async getMany(keys: readonly string[]): Promise<L2Read[]> {
    keys.forEach(assertValidKey);
    if (keys.length === 0) return [];
    const results = new Array<L2Read>(keys.length);
    if (!this.#cluster) {
      const values = await this.#redis.mgetBuffer(...keys.map((k) => this.redisKey(k)));
      values.forEach((value, i) => (results[i] = this.#read(value)));
      return results;
    }
    // A Cluster cannot MGET across slots: one MGET per slot, sent concurrently.
    const groups = this.#bySlot(
      keys.map((_, i) => i),
      (i) => keys[i]!,
    );
    await Promise.all(
      groups.map(async (indexes) => {
        const values = await this.#redis.mgetBuffer(...indexes.map((i) => this.redisKey(keys[i]!)));
        indexes.forEach((keyIndex, j) => (results[keyIndex] = this.#read(values[j] ?? null)));
      }),
    );
    return results;
  }

  /** Writes one entry, expiring at its hard expiry. An entry already past it is not written. */
  async set(key: string, entry: CacheEntry): Promise<void> {
    await this.setMany([[key, entry]]);
  }

  /** Writes many entries in one round trip (per hash slot on a Cluster). */
  async setMany(
    entries: readonly (readonly [string, CacheEntry])[],
    options: SetManyOptions = {},
  ): Promise<void> {
    const now = this.#clock.now();
    const live = entries.filter(([key, entry]) => {
      assertValidKey(key);
      return entry.hardExpiresAt > now;
    });
    if (live.length === 0) return;
    // Standalone: one pipeline (or one MULTI) for everything. Cluster: one per
    // hash slot, sent concurrently, since neither may span slots there.
    const groups = this.#cluster ? this.#bySlot(live, ([key]) => key) : [live];
    await Promise.all(
      groups.map(async (group) => {
        const batch = options.atomic ? this.#redis.multi() : this.#redis.pipeline();
        for (const [key, entry] of group) {
          const px = Math.max(1, entry.hardExpiresAt - now);
          batch.set(this.redisKey(key), this.#codec.encode(entry), 'PX', px);
        }
        const replies = await batch.exec();
        const failed = replies?.find(([error]) => error);
        if (failed?.[0]) throw failed[0];
      }),
    );
  }

  /** Deletes keys; resolves with how many existed. */
  async delete(keys: readonly string[]): Promise<number> {
    keys.forEach(assertValidKey);
    if (keys.length === 0) return 0;
    if (!this.#cluster) return this.#redis.unlink(...keys.map((k) => this.redisKey(k)));
    let removed = 0;
    for (const group of this.#bySlot([...keys], (k) => k)) {
      removed += await this.#redis.unlink(...group.map((k) => this.redisKey(k)));
    }
    return removed;
  }

  /**
   * Deletes every key matching a glob pattern over logical keys
   * (`price:equity:*`). Walks the keyspace with SCAN, never KEYS, so Redis
   * keeps serving while it runs; resolves with how many keys it removed.
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
          for (const group of this.#cluster ? this.#bySlot(found, (k) => k) : [found]) {
            removed += await node.unlink(...group);
          }
        }
      } while (cursor !== '0');
    }
    return removed;
  }

  #read(value: Buffer | null): L2Read {
    if (value === null) return { status: 'miss' };
    try {
      return { status: 'hit', entry: this.#codec.decode(value) };
    } catch (error) {
      const corrupt =
        error instanceof CorruptEntryError
          ? error
          : new CorruptEntryError('undecodable entry', { cause: error });
      return { status: 'corrupt', error: corrupt };
    }
  }

  #bySlot<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
    const groups = new Map<number, T[]>();
    for (const item of items) {
      const slot = calculateSlot(this.redisKey(keyOf(item)));
      let group = groups.get(slot);
      if (!group) groups.set(slot, (group = []));
      group.push(item);
    }
    return [...groups.values()];
  }
}
