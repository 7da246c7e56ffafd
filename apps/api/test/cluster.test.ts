import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster } from 'ioredis';
import { simulatedUniverse } from '@fiml/simulator';
import { startRedisCluster, waitFor, type RedisCluster } from '@fiml/testing';
import {
  asClient,
  expectStaleReadRefreshedByScheduler,
  readPrice,
  startHarness,
  type Datum,
  type Harness,
} from './harness.js';

// The api end to end on a real Redis Cluster (3 masters, 3 replicas) for both
// Redis roles, named by a redis+cluster:// URL: the same createApi, the same
// batch-scheduler composition, one cluster for the file.

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(() => cluster?.stop());

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({
    env: { REDIS_QUEUE_URL: cluster.url, REDIS_CACHE_URL: cluster.url, ...env },
  });
  open.push(() => h.close());
  return h;
}

describe('the api on a Redis Cluster', () => {
  it('opens Cluster clients for both roles and reads 100 cold equities with one upstream call; a second instance reads them from L2', async () => {
    const a = await harness();
    expect(a.cacheRedis).toBeInstanceOf(Cluster);
    expect(a.queueRedis).toBeInstanceOf(Cluster);
    const b = await harness({ QUEUE_PREFIX: a.prefix, CACHE_KEY_PREFIX: a.prefix });
    const symbols = simulatedUniverse(7).equity.slice(0, 100);
    const url = `/v1/data/price?symbols=${symbols.join(',')}`;
    const first = (await a.app.inject(url)).json<{ results: Datum[] }>().results;
    expect(first.every((r) => r.status === 'ok' && r.cache === 'miss')).toBe(true);
    expect(a.calls).toHaveLength(1);
    // The 100 keys live on all three masters; the read takes one pipeline per master.
    const fromL2 = (await b.app.inject(url)).json<{ results: Datum[] }>().results;
    expect(fromL2.every((r) => r.status === 'ok' && r.cache === 'l2')).toBe(true);
    expect(b.calls).toHaveLength(0);
    expect((await a.app.inject('/readyz')).json<{ status: string }>().status).toBe('ready');
  });

  it('refreshes a stale key through the batch-scheduler, whose write reaches the api’s L1 over sharded pub/sub', async () => {
    await expectStaleReadRefreshedByScheduler(await harness(), 'AAPL');
  });

  it('drops a deleted key from every instance, and lists its queues on the dashboard', async () => {
    const a = await harness();
    const b = await harness({ QUEUE_PREFIX: a.prefix, CACHE_KEY_PREFIX: a.prefix });
    await readPrice(a, 'NVDA');
    expect((await readPrice(b, 'NVDA')).cache).toBe('l2');
    expect((await readPrice(b, 'NVDA')).cache).toBe('l1');
    const deleted = await a.app.inject({
      method: 'DELETE',
      url: '/v1/cache/price/NVDA',
      headers: asClient,
    });
    expect(deleted.statusCode).toBe(204);
    await waitFor(async () => (await readPrice(b, 'NVDA')).cache === 'miss', {
      description: 'the other instance to drop its L1 copy',
    });
    const board = await a.app.inject({ url: '/admin/queues/api/queues', headers: asClient });
    expect(board.statusCode).toBe(200);
    expect(JSON.stringify(board.json())).toContain('"refresh"');
  });
});
