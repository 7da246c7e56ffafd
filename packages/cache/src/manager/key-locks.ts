import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { RELEASE_LOCKS, RENEW_LOCKS } from '../lua/lock-scripts.js';
import { callScript, defineScript, type LuaScript } from '../lua/lua-script.js';
import { groupByNode } from '../redis-slots.js';

/** Locks taken by one acquisition: released, or renewed, only under its own token. */
export interface Lease {
  readonly token: string;
  /** The logical keys this acquisition holds. */
  readonly keys: ReadonlySet<string>;
}

export interface KeyLocksOptions {
  readonly redis: Redis | Cluster;
  /** The lock segment of the key space (`<prefix>:v2:lock:`). */
  readonly prefix: string;
  /** How long a lock lives unless renewed (bounds the wait when its holder dies), ms. */
  readonly ttlMs: number;
}

/**
 * Per-key fetch locks in the cache Redis: before fetching a missing key from
 * upstream, an instance takes its lock (SET NX PX), so N api instances that
 * miss the same key make one upstream call; the others wait for the holder's
 * write. Each acquisition has its own random token, so a release or a renewal
 * touches only locks this acquisition still holds (never one that expired and
 * was taken by another instance). A lock expires by itself, so a crashed
 * holder delays the others by at most one lease; a live holder renews it
 * while its fetch runs (see {@link keepAlive}).
 */
export class KeyLocks {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly ttlMs: number;

  constructor(options: KeyLocksOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.ttlMs = options.ttlMs;
    defineScript(this.#redis, RELEASE_LOCKS);
    defineScript(this.#redis, RENEW_LOCKS);
  }

  /**
   * Tries to take the locks of many keys in one round trip; resolves with the
   * lease of those it took. If any reply failed, it releases what it did take
   * before rejecting, so a partial failure leaks no lock.
   */
  async acquire(keys: readonly string[]): Promise<Lease> {
    const token = randomUUID();
    const taken = new Set<string>();
    if (keys.length === 0) return { token, keys: taken };
    let failure: unknown;
    // One pipeline of SET NX per node: a Cluster refuses a pipeline whose keys
    // belong to several nodes; a standalone Redis takes them all in one.
    await Promise.all(
      this.#byNode(keys).map(async (group) => {
        const pipeline = this.#redis.pipeline();
        for (const key of group) pipeline.set(this.#prefix + key, token, 'PX', this.ttlMs, 'NX');
        try {
          const replies = (await pipeline.exec()) ?? [];
          group.forEach((key, i) => {
            const [error, reply] = replies[i] ?? [new Error('no reply from Redis')];
            if (error) failure ??= error;
            else if (reply === 'OK') taken.add(key);
          });
        } catch (error) {
          failure ??= error;
        }
      }),
    );
    if (failure !== undefined) {
      // Whatever was taken must not outlive this failed acquisition.
      await this.release({ token, keys: taken }).catch(() => undefined);
      throw failure instanceof Error
        ? failure
        : new Error('taking fetch locks failed', { cause: failure });
    }
    return { token, keys: taken };
  }

  /** Releases a lease's locks by compare-and-delete; resolves with how many it deleted. */
  async release(lease: Lease): Promise<number> {
    return this.#each(lease, RELEASE_LOCKS, [lease.token]);
  }

  /** Extends a lease's locks by another `ttlMs`; resolves with how many it still held. */
  async renew(lease: Lease): Promise<number> {
    return this.#each(lease, RENEW_LOCKS, [lease.token, String(this.ttlMs)]);
  }

  /**
   * Renews a lease every third of its TTL until the returned function is
   * called, so a fetch that runs longer than one lease (a slow provider and
   * its fallbacks) keeps its locks. A failed renewal is reported and retried.
   */
  keepAlive(lease: Lease, onError: (error: Error) => void): () => void {
    if (lease.keys.size === 0) return () => undefined;
    const timer = setInterval(
      () => {
        this.renew(lease).catch((error: unknown) =>
          onError(error instanceof Error ? error : new Error(String(error))),
        );
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Runs a lock script over a lease's keys: one call per slot, one pipeline per node. */
  async #each(lease: Lease, script: LuaScript, args: readonly string[]): Promise<number> {
    if (lease.keys.size === 0) return 0;
    const counts = await Promise.all(
      this.#byNode([...lease.keys], true).map(async (slots) => {
        const pipeline = this.#redis.pipeline();
        for (const group of slots) {
          void callScript(
            pipeline,
            script,
            group.map((key) => this.#prefix + key),
            args,
          );
        }
        let count = 0;
        for (const [error, reply] of (await pipeline.exec()) ?? []) {
          if (error) throw error;
          count += Number(reply);
        }
        return count;
      }),
    );
    return counts.reduce<number>((sum, n) => sum + n, 0);
  }

  /** Keys grouped by node (all in one on a standalone Redis); by slot within a node if asked. */
  #byNode(keys: readonly string[]): string[][];
  #byNode(keys: readonly string[], bySlot: true): string[][][];
  #byNode(keys: readonly string[], bySlot = false): string[][] | string[][][] {
    if (!(this.#redis instanceof Cluster)) return bySlot ? [[[...keys]]] : [[...keys]];
    const nodes = groupByNode(this.#redis, keys, (key) => this.#prefix + key);
    return bySlot ? nodes : nodes.map((slots) => slots.flat());
  }
}
