// Warming end to end with real processes: the api, the batch-scheduler and the
// warmer (each its own main.ts), a real redis-server and the simulated
// provider over HTTP. Reads through the api are recorded; a warming run
// requests what is missing; the batch-scheduler fills L2; later reads are
// hits; and the warmer's precision metric equals the scripted value. Run on
// a redis-server, and again on a Redis Cluster (3 masters, 3 replicas) named
// by a redis+cluster:// URL for both Redis roles.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import {
  AccessHistory,
  type CacheEntry,
  cacheKey,
  CacheWriter,
  TtlPolicy,
  WarmLedger,
} from '@fiml/cache';
import { readSample } from '@fiml/observability/promtool';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { QueueName, WARM_CYCLE_JOB_NAME, queuePrefix } from '@fiml/queue';
import { createLogger, createRedisConnection, type RedisRole } from '@fiml/runtime';
import {
  freePort,
  startRedisCluster,
  startServiceProcess,
  testRedisUrl,
  uniqueName,
  waitFor,
  waitForEvent,
  type RedisCluster,
  type ServiceProcess,
} from '@fiml/testing';

const open: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const KEY = 'warm-e2e-client-key-0123456789';
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP'] as const;
const key = (symbol: string) => cacheKey('fundamentals', 'crypto', symbol);
const apps = join(__dirname, '../..');

function start(app: string, env: Record<string, string>): ServiceProcess {
  const proc = startServiceProcess({
    entry: join(apps, app, 'src/main.ts'),
    cwd: join(apps, app),
    env,
  });
  open.push(() => proc.kill());
  return proc;
}

const logger = createLogger({ service: 'test', level: 'silent' });

async function connection(url: string, role: RedisRole = 'cache') {
  const redis = createRedisConnection(url, { role, name: 'test', logger });
  open.push(() => redis.disconnect());
  if (redis.status !== 'ready') await waitForEvent(redis, 'ready', { timeoutMs: 10_000 });
  return redis;
}

describe.each([
  { target: 'a redis-server', cluster: false },
  { target: 'a Redis Cluster', cluster: true },
])('warming, end to end, on $target', ({ cluster: onCluster }) => {
  let cluster: RedisCluster | undefined;
  if (onCluster) {
    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 60_000);
    afterAll(() => cluster?.stop());
  }

  it('recorded reads -> a warming run -> refresh requests -> L2 filled -> hits, with exact precision', async () => {
    const redisUrl = cluster?.url ?? testRedisUrl();
    const sim = await startSimulatedProviderServer({ seed: 'warm-e2e', failureRate: 0 });
    open.push(() => sim.close());
    const shared = {
      REDIS_QUEUE_URL: redisUrl,
      REDIS_CACHE_URL: redisUrl,
      QUEUE_PREFIX: uniqueName('we'),
      CACHE_KEY_PREFIX: uniqueName('we'),
      PROVIDER_RATE_LIMIT_PREFIX: uniqueName('we'),
      SIM_PROVIDER_URL: sim.url,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      // Without jitter a warmed entry's freshness is what the planner predicts, so the
      // runs' choices do not depend on a random draw (or on the time of day the test runs).
      CACHE_TTL_JITTER: '0',
    };
    const port = await freePort();
    const api = start('api', {
      ...shared,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      API_KEYS: `e2e:${KEY}`,
      // No load shedding on a busy test machine (a CI run answered a read 503 here): this
      // test is about warming; the api's overload test turns shedding on itself.
      API_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    // Every hour a low-load hour: warming requests go as soon as they are due.
    const scheduler = start('batch-scheduler', {
      ...shared,
      CACHE_LOW_LOAD_HOURS: Array.from({ length: 24 }, (_, h) => h).join(','),
      CACHE_BATCH_INTERVAL: '1',
    });
    // Runs only when this test asks (a yearly schedule, no pre-open, no refresh-ahead).
    const warmer = start('warmer', {
      ...shared,
      CACHE_WARMING_SCHEDULE: '0 0 1 1 *',
      CACHE_WARMING_PREOPEN_MINUTES: '0',
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: '0',
    });
    await api.waitForLog((r) => r.msg === 'api ready');
    await scheduler.waitForLog((r) => r.msg === 'batch-scheduler ready');
    const warmerMetrics = (await warmer.waitForLog((r) => r.msg === 'warmer ready'))
      .metrics as string;
    const base = `http://127.0.0.1:${port}`;
    const get = async (symbol: string) => {
      const response = await fetch(`${base}/v1/data/fundamentals/${symbol}?assetType=crypto`);
      const body = (await response.json()) as { cache: string };
      // The body in the failure message: a refusal says which (overload, budget, upstream).
      expect({ status: response.status, body }).toMatchObject({ status: 200 });
      return body;
    };
    const invalidate = async (symbol: string) => {
      const response = await fetch(`${base}/v1/cache/fundamentals/${symbol}?assetType=crypto`, {
        method: 'DELETE',
        headers: { 'x-api-key': KEY },
      });
      expect(response.status).toBe(204);
    };

    const redis = await connection(redisUrl);
    const l2 = new CacheWriter({
      redis,
      ttlPolicy: new TtlPolicy(),
      keyPrefix: shared.CACHE_KEY_PREFIX,
    });
    const entries = async (): Promise<(CacheEntry | undefined)[]> => l2.peek(SYMBOLS.map(key));
    const history = new AccessHistory({ redis, keyPrefix: shared.CACHE_KEY_PREFIX });
    const ledger = new WarmLedger({ redis, keyPrefix: shared.CACHE_KEY_PREFIX });
    const queueRedis = await connection(redisUrl, 'producer');
    const warmQueue = new Queue(QueueName.WARM, {
      connection: queueRedis,
      prefix: queuePrefix(shared.QUEUE_PREFIX),
    });
    open.push(() => warmQueue.close());
    const runWarming = async () => {
      const job = await warmQueue.add(WARM_CYCLE_JOB_NAME, { mode: 'scheduled' });
      await waitFor(async () => (await job.isCompleted()) || undefined, {
        timeoutMs: 30_000,
        description: 'the warming run',
      });
    };

    // 1. Reads: 40 of each symbol (the first a miss, then hits), recorded by the api.
    for (const symbol of SYMBOLS) for (let i = 0; i < 40; i++) await get(symbol);
    await waitFor(
      async () => {
        const stats = (await history.read(Date.now())).stats;
        return stats.length === SYMBOLS.length && stats.every((s) => s.frequency > 39);
      },
      { timeoutMs: 15_000, description: 'the reads in the access history' },
    );
    // 2. Gone from the cache: a warming run finds them missing.
    for (const symbol of SYMBOLS) await invalidate(symbol);
    expect((await entries()).every((e) => e === undefined)).toBe(true);

    // 3. The run requests them; the batch-scheduler writes them as the warmer's.
    await runWarming();
    const warmed = await waitFor(
      async () => {
        const found = await entries();
        return found.every((e) => e?.writer === 'warmer') ? found : undefined;
      },
      { timeoutMs: 30_000, description: 'the warmed entries in L2' },
    );
    // The batch-scheduler books them in the ledger once their write has returned: a read
    // before that finds nothing to mark used (a CI run read them in that gap).
    await waitFor(async () => (await ledger.totals()).warmed === SYMBOLS.length, {
      timeoutMs: 15_000,
      description: 'the warmed entries booked in the ledger',
    });

    // 4. Three of them are read: hits, and used warms.
    for (const symbol of SYMBOLS.slice(0, 3)) expect((await get(symbol)).cache).not.toBe('miss');
    await waitFor(async () => (await ledger.totals()).used === 3, {
      timeoutMs: 15_000,
      description: 'three warmed entries booked as used',
    });
    // 5. The fourth goes unread and is replaced: the next run warms it again, the first was wasted.
    await invalidate(SYMBOLS[3]);
    await runWarming();
    await waitFor(
      async () => {
        const [entry] = await l2.peek([key(SYMBOLS[3])]);
        return entry !== undefined && entry.fetchedAt !== warmed[3]!.fetchedAt;
      },
      { timeoutMs: 30_000, description: 'the fourth symbol warmed again' },
    );
    // 6. One more run reads the books: 3 used, 1 wasted, 1 pending.
    await runWarming();
    const metrics = await (await fetch(warmerMetrics)).text();
    expect(readSample(metrics, 'fiml_warm_precision')).toBe(0.75);
    expect(readSample(metrics, 'fiml_warm_entries', { outcome: 'used' })).toBe(3);
    expect(readSample(metrics, 'fiml_warm_entries', { outcome: 'wasted' })).toBe(1);
    expect(readSample(metrics, 'fiml_warm_entries', { outcome: 'warmed' })).toBe(5);
    expect(readSample(metrics, 'fiml_warm_entries', { outcome: 'pending' })).toBe(1);
    expect(readSample(metrics, 'fiml_warm_runs_total', { mode: 'scheduled', outcome: 'ran' })).toBe(
      3,
    );

    // The api shows the runs, newest first, with their choices and reasons.
    const shown = (await (await fetch(`${base}/v1/cache/warming?limit=5`)).json()) as {
      totals: { precision: number; used: number };
      runs: {
        requested: number;
        outcomes: { precision: number | null };
        top: { key: string; reason: string }[];
      }[];
    };
    expect(shown.totals).toMatchObject({ precision: 0.75, used: 3 });
    expect(shown.runs.map((r) => r.requested)).toEqual([0, 1, 4]);
    expect(shown.runs[2]!.outcomes.precision).toBe(0.75);
    expect(shown.runs[2]!.top.map((c) => c.reason)).toEqual([
      'missing',
      'missing',
      'missing',
      'missing',
    ]);
    expect(shown.runs[2]!.top.map((c) => c.key).sort()).toEqual(SYMBOLS.map(key).sort());
  });
});
