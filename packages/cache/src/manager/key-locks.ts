import type { Cluster, Redis } from 'ioredis';

/** Deletes the lock only if this instance still holds it (a lock that expired and was retaken is left alone). */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Short per-key locks in the cache Redis: before fetching a missing key from
 * upstream, an instance takes its lock (SET NX PX), so N api instances that
 * miss the same key make one upstream call; the others wait for the holder's
 * write. Locks expire by themselves, so a crashed holder delays the others by
 * at most the lock TTL, never forever.
 */
export class KeyLocks {
  readonly #redis: Redis | Cluster;
  readonly #prefix: string;
  readonly #owner: string;
  readonly #ttlMs: number;

  constructor(options: { redis: Redis | Cluster; prefix: string; owner: string; ttlMs: number }) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#owner = options.owner;
    this.#ttlMs = options.ttlMs;
  }

  /** Tries to take the locks of many keys in one round trip; resolves with the keys taken. */
  async acquire(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.set(this.#prefix + key, this.#owner, 'PX', this.#ttlMs, 'NX');
    const replies = (await pipeline.exec()) ?? [];
    const taken = new Set<string>();
    replies.forEach(([error, reply], i) => {
      if (error) throw error;
      if (reply === 'OK') taken.add(keys[i]!);
    });
    return taken;
  }

  /** Releases locks this instance holds; ones that expired meanwhile are left to their new owner. */
  async release(keys: Iterable<string>): Promise<void> {
    const pipeline = this.#redis.pipeline();
    let count = 0;
    for (const key of keys) {
      pipeline.eval(RELEASE_SCRIPT, 1, this.#prefix + key, this.#owner);
      count += 1;
    }
    if (count > 0) await pipeline.exec();
  }
}
