// Warming runs of the warmer as createWarmer builds it, on a manual clock,
// against a real redis-server and the simulated provider over HTTP: recorded
// reads in, warming requests (and the ledger's books) out.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AccessRecorder, cacheKey } from '@fiml/cache';
import { loadConfig } from '@fiml/config';
import { warmerEnv } from '../src/config.js';
import { ManualClock } from '@fiml/market';
import { connectionOptionsFor, createLogger } from '@fiml/runtime';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { QueueName, parseRefreshRequest, queuePrefix, type RefreshRequest } from '@fiml/queue';
import { testRedisUrl, uniqueName, waitForEvent } from '@fiml/testing';
import { createWarmer, type WarmerApp } from '../src/create-warmer.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

const DAY = 86_400_000;
const ny = (iso: string) => Date.parse(`${iso}-05:00`);
/** Tuesday 2026-11-24, a trading day; Thursday 2026-11-26 is Thanksgiving. */
const TUESDAY = '2026-11-24';

interface Harness {
  readonly keyPrefix: string;
  readonly app: WarmerApp;
  readonly clock: ManualClock;
  readonly recorder: AccessRecorder;
  /** The warming requests the run enqueued, as the batch-scheduler will read them. */
  requests(): Promise<RefreshRequest[]>;
}

async function harness(start: number, env: Record<string, string> = {}): Promise<Harness> {
  const clock = new ManualClock(start);
  const sim = await startSimulatedProviderServer({ seed: 'warm', clock, failureRate: 0, port: 0 });
  open.push(() => sim.close());
  const names = {
    QUEUE_PREFIX: uniqueName('wq'),
    CACHE_KEY_PREFIX: uniqueName('wc'),
    PROVIDER_RATE_LIMIT_PREFIX: uniqueName('wrl'),
  };
  const config = loadConfig(warmerEnv, {
    env: {
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      SIM_PROVIDER_URL: sim.url,
      CACHE_WARMING_SCHEDULE: '0 0,12 * * *',
      ...names,
      ...env,
    },
    dotenvPath: false,
  });
  const app = createWarmer(config, { logger, clock });
  open.push(() => app.close());
  const redis = new Redis(testRedisUrl(), connectionOptionsFor('cache'));
  open.push(() => Promise.resolve(redis.disconnect()));
  // Cache connections fail fast rather than queue commands: wait until they are up.
  for (const connection of [app.cacheRedis, redis]) {
    if (connection.status !== 'ready') await waitForEvent(connection, 'ready');
  }
  const recorder = new AccessRecorder({ redis, keyPrefix: names.CACHE_KEY_PREFIX, clock });
  open.push(() => recorder.close());
  const queueRedis = new Redis(testRedisUrl(), connectionOptionsFor('producer'));
  open.push(() => Promise.resolve(queueRedis.disconnect()));
  const queue = new Queue(QueueName.REFRESH, {
    connection: queueRedis,
    prefix: queuePrefix(names.QUEUE_PREFIX),
  });
  open.push(() => queue.close());
  return {
    keyPrefix: names.CACHE_KEY_PREFIX,
    app,
    clock,
    recorder,
    async requests() {
      const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
      return jobs.map((job) => parseRefreshRequest(job.data));
    },
  };
}

/** Reads of `key` at `hhmm` New York time on each of the `days` weekdays before `day`. */
function readDaily(h: Harness, key: string, day: string, hhmm: string, days: number, perDay = 3) {
  let at = ny(`${day}T${hhmm}:00`);
  let recorded = 0;
  while (recorded < days) {
    at -= DAY;
    const weekday = new Date(at).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (let i = 0; i < perDay; i++) h.recorder.record(key, at + i * 60_000);
    recorded += 1;
  }
}

const fundamentals = (symbol: string) => cacheKey('fundamentals', 'equity', symbol);
const price = (symbol: string) => cacheKey('price', 'equity', symbol);

describe('a warming run', () => {
  it('requests the keys read in the coming window and missing from L2, as low-priority warming, and books them', async () => {
    const h = await harness(ny(`${TUESDAY}T09:50:00`));
    readDaily(h, fundamentals('AAPL'), TUESDAY, '10:05', 8); // read every morning
    readDaily(h, fundamentals('MSFT'), TUESDAY, '15:05', 8); // read every afternoon
    await h.recorder.flush();

    const result = await h.app.cycle.run('scheduled');
    expect(result).toMatchObject({ mode: 'scheduled', ran: true, tracked: 2, requested: 1 });

    const requests = await h.requests();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'fundamentals',
      priority: 'low',
      reason: 'warm',
    });
    // A scheduled run's requests wait for a low-load window or an idle budget.
    expect(requests[0]!.deadline).toBeUndefined();
    expect(requests[0]!.source).toBe(`warmer:${result.id}`);

    const [run] = await h.app.ledger.runs(1);
    expect(run).toMatchObject({ id: result.id, mode: 'scheduled', requested: 1 });
    expect(run!.top[0]).toMatchObject({ key: fundamentals('AAPL'), reason: 'missing' });
    expect(run!.skipped.unlikely).toBe(1); // MSFT: its reads come after the next run
  });

  it('prepares the open before 09:30 on a trading day, with the open as deadline, and not on Thanksgiving', async () => {
    const h = await harness(ny(`${TUESDAY}T09:00:00`), { CACHE_WARMING_PREOPEN_MINUTES: '30' });
    // Hot at the open: 20 reads in its first half hour every day. A price
    // written just before the open stays fresh 5 minutes into it.
    readDaily(h, price('AAPL'), TUESDAY, '09:31', 6, 20);
    readDaily(h, price('MSFT'), TUESDAY, '09:31', 6, 1);
    await h.recorder.flush();
    const tuesday = await h.app.cycle.run('pre-open');
    expect(tuesday).toMatchObject({ ran: true, requested: 1 });
    expect(tuesday.skipped.unlikely).toBe(1); // MSFT: one read in 30 minutes
    const [request] = await h.requests();
    expect(request).toMatchObject({ symbols: ['AAPL'], dataType: 'price', priority: 'low' });
    expect(Date.parse(request!.deadline!)).toBe(ny(`${TUESDAY}T09:30:00`));

    h.clock.set(ny('2026-11-26T09:00:00'));
    const thanksgiving = await h.app.cycle.run('pre-open');
    expect(thanksgiving).toMatchObject({ ran: false, why: 'not a trading day', requested: 0 });
    expect(await h.requests()).toHaveLength(1);
  });

  it('refreshes ahead only during the session', async () => {
    const h = await harness(ny(`${TUESDAY}T20:00:00`));
    const evening = await h.app.cycle.run('refresh-ahead');
    expect(evening).toMatchObject({ ran: false, why: 'outside the regular session' });
  });

  it('skips and counts access records that are not ours, and still plans the rest', async () => {
    const h = await harness(ny(`${TUESDAY}T09:50:00`));
    readDaily(h, fundamentals('AAPL'), TUESDAY, '10:05', 8);
    await h.recorder.flush();
    // A foreign writer's field, and a record cut short, in the access shard.
    const [shard] = await h.app.cacheRedis.keys(`${h.keyPrefix}:*access*:s:*`);
    expect(shard).toBeDefined();
    await h.app.cacheRedis.hset(shard!, 'not a key of ours', 'garbage');
    const [field] = await h.app.cacheRedis.hkeys(shard!);
    const copy = `${field!.slice(0, -1)}Z`; // another symbol, same encoding
    await h.app.cacheRedis.hset(shard!, copy, 'xx');
    const result = await h.app.cycle.run('scheduled');
    expect(result.badRecords).toEqual({ corrupt: 1, foreign: 1 });
    expect(result.requested).toBe(1);
  });
});
