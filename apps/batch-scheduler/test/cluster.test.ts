// The batch-scheduler end to end on a real Redis Cluster (3 masters, 3
// replicas) for both Redis roles: BullMQ queues under the hash-tagged prefix,
// the pending-set scripts, the shared rate limits and the node-grouped L2
// writes, built by createBatchScheduler from a redis+cluster:// URL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { startRedisCluster, waitFor, type RedisCluster } from '@fiml/testing';
import {
  T1,
  calls,
  deploymentNames,
  enqueueThousandOver300,
  otherWriter,
  price,
  scheduler,
  simServer,
  stored,
} from './support.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(() => cluster?.stop());

const onCluster = (env: Record<string, string>) => ({
  REDIS_QUEUE_URL: cluster.url,
  REDIS_CACHE_URL: cluster.url,
  ...env,
});

describe('the batch-scheduler on a Redis Cluster', () => {
  it('turns 1,000 refresh requests for 300 symbols into 3 upstream calls, written across every master', async () => {
    const clock = new ManualClock(T1); // frozen: only full batches go
    const sim = await simServer(clock);
    const { app, producer, keyPrefix } = scheduler(
      onCluster({ SIM_PROVIDER_URL: sim.url, CACHE_BATCH_SIZE: '100', CACHE_BATCH_INTERVAL: '60' }),
      clock,
    );
    expect(app.queueRedis).toBeInstanceOf(Cluster);
    const made = calls(app);
    const symbols = await enqueueThousandOver300(producer, 100);
    const reader = otherWriter(keyPrefix, clock, cluster.url);
    await waitFor(
      async () => (await reader.peek(symbols.map(price))).every((e) => e !== undefined),
      { timeoutMs: 30_000, description: 'all 300 symbols in L2' },
    );
    expect(made.map((c) => c.symbols)).toEqual([100, 100, 100]);
    expect((await stored(reader, price('S0')))?.writer).toBe('scheduler');
  });

  it('two replicas share a provider budget and never fetch one key twice', async () => {
    const clock = new ManualClock(T1);
    const sim = await simServer(clock);
    const env = onCluster({
      ...deploymentNames(),
      SIM_PROVIDER_URL: sim.url,
      PROVIDER_RATE_LIMITS: 'sim-crypto=30/min',
      CACHE_BATCH_SIZE: '1',
      CACHE_BATCH_INTERVAL: '0',
    });
    const a = scheduler(env, clock);
    const b = scheduler(env, clock);
    const made = [calls(a.app), calls(b.app)];
    const writes = new Map<string, number>();
    for (const { app } of [a, b]) {
      app.writer.on('set', (e) => writes.set(e.key, (writes.get(e.key) ?? 0) + 1));
    }
    const symbols = Array.from({ length: 40 }, (_, i) => `C${i}`);
    await Promise.all(
      symbols.map((symbol, i) =>
        (i % 2 ? a : b).producer.enqueueRefresh({
          symbols: [symbol],
          assetType: 'crypto',
          dataType: 'price',
          source: 'test',
        }),
      ),
    );
    const total = () => made[0]!.length + made[1]!.length;
    await waitFor(() => total() >= 14, { timeoutMs: 20_000, description: '14 calls' });
    expect(total()).toBeLessThanOrEqual(30);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    await waitFor(
      async () => (await a.app.refreshQueue.getJobCounts('completed')).completed === symbols.length,
      { timeoutMs: 10_000, description: 'every request accepted' },
    );
    const group = { provider: 'sim-crypto', assetType: 'crypto', dataType: 'price' } as const;
    const held = await a.app.scheduler!.store.holds(group, symbols);
    const written = new Set([...writes.keys()]);
    expect(symbols.filter((s, i) => !held[i] && !written.has(`price:crypto:${s}`))).toEqual([]);
  });
});
