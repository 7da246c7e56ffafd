import type { Cluster, Redis } from 'ioredis';
import { callScript, defineScript } from '../lua/lua-script.js';
import { decodeField, decodeRecord, profileOf } from './access-record.js';
import { ACCESS_SWEEP } from './access-scripts.js';
import {
  accessSettings,
  type AccessSettings,
  type AccessSettingsOptions,
} from './access-settings.js';
import type { AccessStats } from './access-stats.js';

export interface AccessHistoryOptions extends AccessSettingsOptions {
  /** The cache Redis. */
  readonly redis: Redis | Cluster;
  /** Shards read per round trip (each at most ~120 records). @defaultValue 64 */
  readonly shardsPerBatch?: number;
}

/** What one read of the whole history found. */
export interface AccessSnapshot {
  /** One entry per tracked key, decayed to `asOf`. */
  readonly stats: AccessStats[];
  /** Records skipped because their value is not a record (wrong length, non-finite figures). */
  readonly corrupt: number;
  /** Records skipped because their field names no key this version knows (a foreign record). */
  readonly foreign: number;
  /** Shard ids in the directory whose key is not a hash (skipped whole). */
  readonly foreignShards: number;
}

const MINUTE_MS = 60_000;
/** Directory re-reads that may find shards split while a read was under way. */
const MAX_DIRECTORY_ROUNDS = 4;

/**
 * Reads the access history the {@link AccessRecorder}s write, for the
 * warmer's planner, and deletes keys gone cold.
 *
 * A read walks the leaf shards of the directory in bounded batches (one pipeline
 * of HGETALLs per `shardsPerBatch` shards). A shard may split between the
 * directory read and its own read (splits are atomic in Lua, but a read of
 * many shards is not one call): its id is then gone from the directory and
 * its children are new there, so the directory is read again after the
 * shards, new ids are read too, and a key seen twice keeps the copy read
 * last. Records it cannot decode are skipped and counted, never thrown.
 */
export class AccessHistory {
  readonly #redis: Redis | Cluster;
  readonly #settings: AccessSettings;
  readonly #batch: number;

  constructor(options: AccessHistoryOptions) {
    this.#redis = options.redis;
    this.#settings = accessSettings(options);
    this.#batch = options.shardsPerBatch ?? 64;
    if (!Number.isInteger(this.#batch) || this.#batch < 1) {
      throw new RangeError(`shardsPerBatch must be a positive integer, got ${this.#batch}`);
    }
    defineScript(this.#redis, ACCESS_SWEEP);
  }

  /** The half-life the figures decay with, ms. */
  get halfLifeMs(): number {
    return this.#settings.halfLifeMs;
  }

  /** Every tracked key's figures, decayed to `asOf` (epoch ms). */
  async read(asOf: number): Promise<AccessSnapshot> {
    const byKey = new Map<string, AccessStats>();
    const seen = new Set<string>();
    let corrupt = 0;
    let foreign = 0;
    let foreignShards = 0;
    for (let round = 0; round < MAX_DIRECTORY_ROUNDS; round++) {
      const ids = (await this.#directory()).filter((id) => !seen.has(id));
      if (ids.length === 0) break;
      for (let from = 0; from < ids.length; from += this.#batch) {
        const slice = ids.slice(from, from + this.#batch);
        const pipeline = this.#redis.pipeline();
        for (const id of slice) pipeline.hgetallBuffer(this.#settings.shardPrefix + id);
        const replies = (await pipeline.exec()) ?? [];
        slice.forEach((id, i) => {
          seen.add(id);
          const [error, flat] = replies[i] ?? [new Error('no reply'), null];
          if (error || flat === null || typeof flat !== 'object') {
            foreignShards++;
            return;
          }
          for (const [field, value] of Object.entries(flat as Record<string, Buffer>)) {
            const key = decodeField(field);
            if (!key) {
              foreign++;
              continue;
            }
            const record = decodeRecord(value);
            if (!record) {
              corrupt++;
              continue;
            }
            const decay =
              2 ** (-Math.max(0, asOf - record.lastAccessAt) / this.#settings.halfLifeMs);
            byKey.set(key.key, {
              key: key.key,
              dataType: key.dataType,
              assetType: key.assetType,
              symbol: key.symbol,
              frequency: record.frequency * decay,
              profile: profileOf(record).map((v) => v * decay),
              lastAccessAt: record.lastAccessAt,
              asOf,
            });
          }
        });
      }
    }
    return { stats: [...byKey.values()], corrupt, foreign, foreignShards };
  }

  /** Every tracked key's figures, decayed to `asOf`; skipped records are left out (see {@link read}). */
  async stats(asOf: number): Promise<AccessStats[]> {
    return (await this.read(asOf)).stats;
  }

  /**
   * Deletes the records of keys not read for `coldAfterMs` before `now`, and
   * records that cannot be decoded, shard batch by shard batch. The merges
   * sweep one random shard each as they go; this sweeps them all (the
   * warmer calls it once per cycle). Returns how many records it deleted.
   */
  async prune(now: number): Promise<number> {
    const coldBefore = Math.floor((now - this.#settings.coldAfterMs) / MINUTE_MS);
    const ids = await this.#directory();
    let removed = 0;
    for (let from = 0; from < ids.length; from += this.#batch) {
      const reply = await callScript(
        this.#redis,
        ACCESS_SWEEP,
        [this.#settings.directoryKey],
        [this.#settings.shardPrefix, String(coldBefore), ...ids.slice(from, from + this.#batch)],
      );
      removed += Number(reply);
    }
    return removed;
  }

  /**
   * The leaf shard ids: the directory bitmap's set bits whose children are
   * not set (a split sets both children; see access-scripts.ts).
   */
  async #directory(): Promise<string[]> {
    const bitmap = (await this.#redis.getBuffer(this.#settings.directoryKey)) ?? Buffer.alloc(0);
    const has = (id: number): boolean =>
      id >> 3 < bitmap.length && (bitmap[id >> 3]! & (0x80 >> (id & 7))) !== 0;
    const ids: string[] = [];
    for (let id = 1; id < bitmap.length * 8; id++) {
      if (!has(id)) continue;
      const span = 2 ** Math.floor(Math.log2(id));
      if (!has(id + span)) ids.push(String(id));
    }
    return ids;
  }
}
