import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';
import { RELEASE_LOCKS, RENEW_LOCKS } from '../lua/lock-scripts.js';
import { callScript, defineScript } from '../lua/lua-script.js';
import { groupBySlot } from '../redis-slots.js';

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
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.set(this.#prefix + key, token, 'PX', this.ttlMs, 'NX');
    let failure: unknown;
    try {
      const replies = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply from Redis')];
        if (error) failure ??= error;
        else if (reply === 'OK') taken.add(key);
      });
    } catch (error) {
      failure = error;
    }
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
    return this.#each(lease, (keys) => callScript(this.#redis, RELEASE_LOCKS, keys, [lease.token]));
  }

  /** Extends a lease's locks by another `ttlMs`; resolves with how many it still held. */
  async renew(lease: Lease): Promise<number> {
    return this.#each(lease, (keys) =>
      callScript(this.#redis, RENEW_LOCKS, keys, [lease.token, String(this.ttlMs)]),
    );
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

  async #each(lease: Lease, run: (redisKeys: string[]) => Promise<unknown>): Promise<number> {
    if (lease.keys.size === 0) return 0;
    const redisKeys = [...lease.keys].map((key) => this.#prefix + key);
    const groups = this.#redis instanceof Cluster ? groupBySlot(redisKeys, (k) => k) : [redisKeys];
    const counts = await Promise.all(groups.map(run));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }
}
