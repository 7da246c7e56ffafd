import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { startRedisServer, testRedisUrl, uniqueName, waitForEvent } from '@fiml/testing';
import { LeasedRateLimit } from '../src/leased-rate-limit.js';
import { asClient, startHarness, T0, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function connect(url = testRedisUrl()): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  open.push(() => Promise.resolve(redis.disconnect()));
  if (redis.status !== 'ready') await waitForEvent(redis, 'ready');
  return redis;
}

/** `n` instances of one deployment's limit: same Redis and key prefix, one clock. */
async function instances(n: number, max: number, url?: string) {
  const clock = new ManualClock(T0);
  const keyPrefix = `${uniqueName('limit')}:`;
  const limits = await Promise.all(
    Array.from(
      { length: n },
      async () =>
        new LeasedRateLimit({ redis: await connect(url), keyPrefix, clock, max, windowMs: 60_000 }),
    ),
  );
  return { clock, limits };
}

/** One request of `client`: admitted when its window's count is within `max`. */
function admit(limit: LeasedRateLimit, client: string, max: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    limit.incr(client, (error, result) =>
      error ? reject(error) : resolve(result!.current <= max),
    );
  });
}

async function spread(limits: readonly LeasedRateLimit[], max: number, client: string, n: number) {
  let admitted = 0;
  for (let i = 0; i < n; i++) if (await admit(limits[i % limits.length]!, client, max)) admitted++;
  return admitted;
}

describe('LeasedRateLimit: a request limit shared by instances through leases', () => {
  it('never admits more than the limit per window across instances, and at most 2 blocks per other instance fewer', async () => {
    const { clock, limits } = await instances(3, 1_000);
    const block = limits[0]!.blockSize;
    expect(block).toBe(10);

    const admitted = await spread(limits, 1_000, 'client-a', 1_500);
    expect(admitted).toBeLessThanOrEqual(1_000);
    expect(admitted).toBeGreaterThanOrEqual(1_000 - 2 * (limits.length - 1) * block);
    // A Redis round trip per block, not per request.
    const leases = limits.reduce((sum, l) => sum + l.leases, 0);
    expect(leases).toBeLessThanOrEqual(Math.ceil(1_000 / block) + 3 * limits.length);
    // Another client has its own window.
    expect(await spread(limits, 1_000, 'client-b', 30)).toBe(30);

    // The next window starts from zero on every instance.
    clock.advance(60_000);
    expect(await spread(limits, 1_000, 'client-a', 30)).toBe(30);
  });

  it('counts exactly when the limit is small (a block of one)', async () => {
    const { limits } = await instances(2, 5);
    expect(limits[0]!.blockSize).toBe(1);
    expect(await spread(limits, 5, 'client-a', 12)).toBe(5);
  });

  it('reports an unreachable Redis (the plugin then lets the request through)', async () => {
    const server = await startRedisServer();
    open.push(() => server.stop());
    const { limits } = await instances(1, 100, server.url);
    await server.kill();
    await expect(admit(limits[0]!, 'client-a', 100)).rejects.toThrow();
  });
});

describe('the api with API_RATE_LIMIT_PER_MINUTE', () => {
  async function harness(env: Record<string, string>): Promise<Harness> {
    const h = await startHarness({ env });
    open.push(() => h.close());
    return h;
  }

  it('shares one limit between two instances of a deployment', async () => {
    const a = await harness({ API_RATE_LIMIT_PER_MINUTE: '200' });
    const b = await harness({
      API_RATE_LIMIT_PER_MINUTE: '200',
      QUEUE_PREFIX: a.prefix,
      CACHE_KEY_PREFIX: a.prefix,
    });
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const h = i % 2 === 0 ? a : b;
      statuses.push(
        (await h.app.inject({ url: '/v1/data/price/AAPL', headers: asClient })).statusCode,
      );
    }
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Blocks of 2 (1 % of 200): the other instance holds at most 2 blocks unspent.
    expect(ok).toBeLessThanOrEqual(200);
    expect(ok).toBeGreaterThanOrEqual(200 - 2 * 2);
  });
});
