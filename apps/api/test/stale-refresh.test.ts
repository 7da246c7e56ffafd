import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from '@fiml/runtime';
import { startRedisServer, waitFor } from '@fiml/testing';
import { STALE_REFRESH_DEDUP_TTL_MS } from '../src/create-api.js';
import {
  PAST_FRESHNESS_MS,
  expectStaleReadRefreshedByScheduler,
  readPrice,
  startHarness,
  type Harness,
} from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args);
  open.push(() => h.close());
  return h;
}

describe('stale reads in the running api', () => {
  it('enqueue one deduplicated urgent refresh per key, however many instances and reads', async () => {
    const a = await harness();
    // A second instance of the same deployment: same queue and cache prefixes.
    const b = await harness({ env: { QUEUE_PREFIX: a.prefix, CACHE_KEY_PREFIX: a.prefix } });
    expect((await readPrice(a, 'MSFT')).cache).toBe('miss');
    expect((await readPrice(b, 'MSFT')).cache).toBe('l2');
    const asked = [
      jest.spyOn(a.refresh, 'enqueueRefresh'),
      jest.spyOn(b.refresh, 'enqueueRefresh'),
    ];

    a.clock.advance(PAST_FRESHNESS_MS);
    b.clock.advance(PAST_FRESHNESS_MS);
    for (let i = 0; i < 3; i++) {
      expect((await readPrice(a, 'MSFT')).cache).toBe('stale');
      expect((await readPrice(b, 'MSFT')).cache).toBe('stale');
    }
    const calls = await waitFor(
      () => {
        const made = asked.flatMap((spy) => spy.mock.results);
        return made.length >= 2 ? made : undefined;
      },
      { description: 'each instance asks for a refresh' },
    );
    const enqueued = await Promise.all(calls.map((c) => c.value as Promise<{ jobId: string }>));
    expect(new Set(enqueued.map((e) => e.jobId)).size).toBe(1);

    const jobs = await a.refresh.queue.getJobs(['prioritized', 'waiting']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toEqual({
      symbols: ['MSFT'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'urgent',
      reason: 'stale',
      source: 'api:stale',
    });
    expect(jobs[0]?.opts).toMatchObject({
      priority: 1,
      deduplication: { id: 'stale:price:equity:MSFT', ttl: STALE_REFRESH_DEDUP_TTL_MS },
    });
    // The refresh goes to the batch-scheduler: the api did not fetch in-process.
    expect(a.calls.length + b.calls.length).toBe(1);
  });

  it('get refreshed by the batch-scheduler, built by its own composition function', async () => {
    await expectStaleReadRefreshedByScheduler(await harness(), 'AAPL');
  });

  it('get refreshed in-process when the queue Redis is down, and the failure is logged', async () => {
    const queueServer = await startRedisServer();
    open.push(() => queueServer.stop());
    const lines: Record<string, unknown>[] = [];
    const capturing = createLogger({
      service: 'test',
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          }
          done();
        },
      }),
    });
    const h = await harness({ env: { REDIS_QUEUE_URL: queueServer.url }, logger: capturing });
    const first = await readPrice(h, 'NVDA');
    await queueServer.kill();

    h.clock.advance(PAST_FRESHNESS_MS);
    expect((await readPrice(h, 'NVDA')).cache).toBe('stale');
    await waitFor(() => h.calls.length === 2, { description: 'the in-process refresh fetch' });
    const fresh = await waitFor(
      async () => {
        const now = await readPrice(h, 'NVDA');
        return now.cache !== 'stale' ? now : undefined;
      },
      { description: 'the refreshed entry served' },
    );
    expect(Date.parse(fresh.fetchedAt)).toBeGreaterThan(Date.parse(first.fetchedAt));
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'cache error',
        cacheComponent: 'revalidate',
        operation: 'enqueue',
      }),
    );
  });
});
