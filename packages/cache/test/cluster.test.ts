import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { ManualClock, SeededRandom } from '@fiml/market';
import { startRedisCluster, uniqueName, waitForEvent, type RedisCluster } from '@fiml/testing';
import { AccessHistory } from '../src/access/access-history.js';
import { AccessRecorder } from '../src/access/access-recorder.js';
import { cacheKeySpace } from '../src/cache-keys.js';
import type { CacheEntry } from '../src/l2/cache-entry.js';
import { L2Store } from '../src/l2/l2-store.js';
import { CacheManager } from '../src/manager/cache-manager.js';
import { KeyLocks } from '../src/manager/key-locks.js';
import { groupByNode } from '../src/redis-slots.js';
import { TtlPolicy } from '../src/index.js';
import { AAPL, T0, open } from './support.js';

// Every multi-key path of the cache on a real Redis Cluster (3 masters, 3
// replicas): one cluster for the file, a unique prefix per test.

let cluster: RedisCluster;
let redis: Cluster;

/** A cache-role Cluster client, as @fiml/runtime builds one (fail fast, retried over a failover). */
function clusterClient(): Cluster {
  const client = new Cluster(
    cluster.seeds.map((s) => ({ ...s })),
    {
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1 },
      retryDelayOnFailover: 200,
      maxRedirections: 16,
    },
  );
  client.on('error', () => undefined);
  return client;
}

async function ready(client: Cluster): Promise<Cluster> {
  if (client.status !== 'ready') await waitForEvent(client, 'ready', { timeoutMs: 10_000 });
  return client;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = await ready(clusterClient());
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

function entry(value: unknown): CacheEntry {
  return {
    kind: 'value',
    value,
    dataType: 'price',
    fetchedAt: T0,
    source: 'sim-equities',
    writer: 'read-through',
    ttlMs: 300_000,
    softExpiresAt: T0 + 300_000,
    hardExpiresAt: T0 + 600_000,
  };
}

const symbols = (n: number) => Array.from({ length: n }, (_, i) => `S${i}`);

describe('on a Redis Cluster', () => {
  it('groups keys by the master that serves them, one slot per command within', () => {
    const keys = symbols(300).map((s) => `fiml:v2:e:price:equity:${s}`);
    const nodes = groupByNode(redis, keys, (k) => k);
    expect(nodes).toHaveLength(3);
    expect(nodes.flat(2).sort()).toEqual([...keys].sort());
    for (const slots of nodes) {
      const owners = new Set(slots.flat().map((k) => redis.slots[calculateSlot(k)]?.[0]));
      expect(owners.size).toBe(1);
    }
  });

  it('L2 writes and reads many keys across every master, in order, newer-wins', async () => {
    const clock = new ManualClock(T0);
    const l2 = new L2Store({ redis, keyPrefix: uniqueName('l2'), clock });
    const keys = symbols(250).map((s) => `price:equity:${s}`);
    const outcomes = await l2.setMany(keys.map((k, i) => [k, entry(i)]));
    expect(outcomes.every((o) => o.status === 'written')).toBe(true);
    const older = { ...entry('old'), fetchedAt: T0 - 1 };
    expect((await l2.setMany([[keys[7]!, older]]))[0]).toMatchObject({ status: 'skipped' });

    const reads = await l2.getMany([...keys, 'price:equity:NONE']);
    expect(reads.slice(0, -1).map((r) => (r.status === 'hit' ? r.entry : r))).toEqual(
      keys.map((_, i) => expect.objectContaining({ value: i })),
    );
    expect(reads.at(-1)).toEqual({ status: 'miss' });

    expect(await l2.delete(keys.slice(0, 40))).toBe(40);
    expect(await l2.deleteByPattern('price:equity:S1*')).toBe(
      keys.filter((k, i) => i >= 40 && k.startsWith('price:equity:S1')).length,
    );
    const left = await l2.getMany(keys);
    expect(left.filter((r) => r.status === 'hit')).toHaveLength(
      keys.filter((k, i) => i >= 40 && !k.startsWith('price:equity:S1')).length,
    );
  });

  it('takes, renews and releases fetch locks of keys in many slots in one go', async () => {
    const prefix = cacheKeySpace(uniqueName('lk')).lock;
    const a = new KeyLocks({ redis, prefix, ttlMs: 5_000 });
    const b = new KeyLocks({ redis, prefix, ttlMs: 5_000 });
    const keys = symbols(60).map((s) => `price:equity:${s}`);
    const lease = await a.acquire(keys);
    expect(lease.keys.size).toBe(60);
    expect((await b.acquire([...keys, 'price:equity:FREE'])).keys).toEqual(
      new Set(['price:equity:FREE']),
    );
    expect(await a.renew(lease)).toBe(60);
    expect(await a.release(lease)).toBe(60);
    expect((await b.acquire(keys)).keys.size).toBe(60);
  });

  it('merges access records server-side and reads them back', async () => {
    const keyPrefix = uniqueName('acc');
    const clock = new ManualClock(T0);
    const recorder = new AccessRecorder({
      redis,
      keyPrefix,
      clock,
      random: new SeededRandom(1),
      flushIntervalMs: 3_600_000,
      splitAt: 16,
    });
    open.push(() => recorder.close());
    for (let i = 0; i < 200; i++) recorder.record(`price:equity:K${i}`);
    recorder.record('price:equity:K0');
    await recorder.flush();
    expect(recorder.dropped).toBe(0);
    const { stats } = await new AccessHistory({ redis, keyPrefix }).read(T0);
    expect(stats).toHaveLength(200);
    expect(stats.find((s) => s.key === 'price:equity:K0')?.frequency).toBeCloseTo(2, 1);
  });

  it('keeps the L1 of two instances coherent through sharded pub/sub', async () => {
    const keyPrefix = uniqueName('cm');
    const make = async () => {
      const clock = new ManualClock(T0);
      const client = await ready(clusterClient());
      open.push(() => client.disconnect());
      const m = new CacheManager({
        ttlPolicy: new TtlPolicy({ clock, jitter: 0 }),
        clock,
        redis: client,
        keyPrefix,
      });
      await m.start();
      open.push(() => m.close());
      return m;
    };
    const [a, b] = [await make(), await make()];
    await a.setPrice(AAPL, 'sim', { price: 1 });
    expect((await b.get('price:equity:AAPL'))?.value).toEqual({ price: 1 });
    const dropped = waitForEvent(b, 'invalidate', {
      filter: (e) => (e as { origin: string }).origin === 'remote',
    });
    await a.setPrice(AAPL, 'sim', { price: 2 });
    await dropped;
    expect(await b.get('price:equity:AAPL')).toMatchObject({ from: 'l2', value: { price: 2 } });
    // Both subscribe on the channel's shard only; nothing is broadcast to every node.
    const channel = cacheKeySpace(keyPrefix).channel;
    const owner = await cluster.masterFor(channel);
    const node = redis.nodes('master').find((n) => n.options.port === owner.port)!;
    expect(await node.call('PUBSUB', 'SHARDNUMSUB', channel)).toEqual([channel, 2]);
    expect(await node.call('PUBSUB', 'NUMSUB', channel)).toEqual([channel, 0]);
  });
});
