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
  enqueueThousandOver300,
  otherWriter,
  price,
  scheduler,
  simServer,
  stored,
  twoReplicasShareABudget,
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
    await twoReplicasShareABudget(onCluster({ SIM_PROVIDER_URL: sim.url }), clock);
  });
});
