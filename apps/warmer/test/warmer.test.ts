import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { loadConfig } from '@fiml/config';
import { warmerEnv, type WarmerConfig } from '../src/config.js';
import { createLogger } from '@fiml/runtime';
import {
  freePort,
  startServiceProcess,
  testRedisUrl,
  uniqueName,
  waitFor,
  waitForEvent,
  withDeadline,
  type ServiceProcess,
} from '@fiml/testing';
import { createWarmer, type WarmerApp } from '../src/create-warmer.js';
import {
  PRE_OPEN_SCHEDULER_ID,
  REFRESH_AHEAD_SCHEDULER_ID,
  WARM_SCHEDULER_ID,
} from '../src/warmer.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** The configuration the process would parse from this environment. */
function config(env: Record<string, string> = {}): WarmerConfig {
  return loadConfig(warmerEnv, {
    env: {
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      QUEUE_PREFIX: uniqueName('warm'),
      CACHE_KEY_PREFIX: uniqueName('wc'),
      // Only the scheduled runs, unless a test turns the others on.
      CACHE_WARMING_PREOPEN_MINUTES: '0',
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: '0',
      ...env,
    },
    dotenvPath: false,
  });
}

/** A warmer built as the process builds it (createWarmer), closed after the test. */
function warmer(env: Record<string, string> = {}): WarmerApp {
  const app = createWarmer(config(env), { logger });
  open.push(() => app.close());
  return app;
}

/** The wall-clock hour and minute of an instant in a time zone. */
function localTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
}

describe('createWarmer', () => {
  it('registers one Job Scheduler with the cron pattern in the exchange time zone', async () => {
    const w = warmer({
      CACHE_WARMING_SCHEDULE: '0 9 * * 1-5',
      CACHE_WARMING_TIMEZONE: 'America/New_York',
    });
    await w.start();
    await w.start(); // idempotent: replicas and restarts share one schedule
    const schedulers = await w.warmer.queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({
      key: WARM_SCHEDULER_ID,
      pattern: '0 9 * * 1-5',
      tz: 'America/New_York',
    });
    // The next run is 09:00 on the exchange's clock, whatever the host's zone and the DST offset.
    expect(localTime(schedulers[0]!.next!, 'America/New_York')).toBe('09:00');
  });

  it('runs a cycle on every tick of the schedule', async () => {
    const w = warmer({ CACHE_WARMING_SCHEDULE: '* * * * * *' });
    const completed = waitForEvent<[Job, unknown]>(w.warmer.worker.worker, 'completed', {
      description: 'a scheduled warming cycle',
    });
    await w.start();
    const [job, result] = await completed;
    expect(job.name).toBe('warm-cycle');
    expect(job.repeatJobKey).toBe(WARM_SCHEDULER_ID);
    // Nothing was read yet: the run plans nothing and requests nothing.
    expect(result).toMatchObject({ mode: 'scheduled', ran: true, tracked: 0, requested: 0 });
  });

  it('adds a pre-open run on weekdays before the open and refresh-ahead runs, each when configured', async () => {
    const w = warmer({
      CACHE_WARMING_SCHEDULE: '0,6,12,18',
      CACHE_WARMING_PREOPEN_MINUTES: '45',
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: '30',
    });
    await w.start();
    const byId = new Map((await w.warmer.queue.getJobSchedulers()).map((s) => [s.key, s]));
    expect(byId.get(WARM_SCHEDULER_ID)).toMatchObject({ pattern: '0 0,6,12,18 * * *' });
    expect(byId.get(PRE_OPEN_SCHEDULER_ID)).toMatchObject({
      pattern: '45 8 * * 1-5',
      tz: 'America/New_York',
    });
    expect(byId.get(REFRESH_AHEAD_SCHEDULER_ID)).toMatchObject({ every: 30_000 });
    // Turned off again: their schedulers go.
    const again = createWarmer(
      config({
        QUEUE_PREFIX: w.summary.queuePrefix as string,
        CACHE_WARMING_SCHEDULE: '0,6,12,18',
      }),
      { logger },
    );
    open.push(() => again.close());
    await again.start();
    expect((await again.warmer.queue.getJobSchedulers()).map((s) => s.key)).toEqual([
      WARM_SCHEDULER_ID,
    ]);
  });

  it('removes the schedule when warming is disabled', async () => {
    const prefix = uniqueName('warm');
    const on = warmer({ QUEUE_PREFIX: prefix, CACHE_WARMING_SCHEDULE: '*/5 * * * *' });
    await on.start();
    expect(await on.warmer.queue.getJobSchedulersCount()).toBe(1);
    const off = warmer({
      QUEUE_PREFIX: prefix,
      CACHE_WARMING_SCHEDULE: '*/5 * * * *',
      CACHE_WARMING_ENABLED: 'false',
    });
    await off.start();
    expect(await off.warmer.queue.getJobSchedulersCount()).toBe(0);
  });

  it('a start() waiting for a queue Redis that is down ends when the warmer closes', async () => {
    const w = createWarmer(
      config({
        REDIS_QUEUE_URL: `redis://127.0.0.1:${await freePort()}`,
        SHUTDOWN_TIMEOUT_MS: '500',
      }),
      { logger },
    );
    let settled = false;
    const started = w.start().then(() => (settled = true));
    // /readyz would say 503: the connection never comes up.
    await waitFor(async () => (await w.readiness.queueRedis!()).ok === false);
    expect(settled).toBe(false);
    await withDeadline(w.close(), 5_000, 'close() with the queue Redis down');
    await withDeadline(started, 1_000, 'start() to stop retrying');
    expect(settled).toBe(true);
  });
});

describe('the warmer process', () => {
  let service: ServiceProcess | undefined;
  afterEach(() => {
    service?.kill();
    service = undefined;
  });

  it('registers its schedule, serves /readyz, and exits 0 on SIGTERM', async () => {
    service = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        QUEUE_PREFIX: uniqueName('warm'),
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        CACHE_WARMING_SCHEDULE: '30 9 * * 1-5',
      },
    });
    const ready = await service.waitForLog((r) => r.msg === 'warmer ready');
    await service.waitForLog(
      (r) => r.msg === 'warming schedule registered' && r.pattern === '30 9 * * 1-5',
    );
    // Ready once every scheduler is registered (the pre-open and refresh-ahead ones follow).
    const readyz = (ready.metrics as string).replace('/metrics', '/readyz');
    const report = await waitFor(
      async () => {
        const response = await fetch(readyz);
        return response.status === 200 ? await response.json() : undefined;
      },
      { timeoutMs: 10_000, description: '/readyz 200' },
    );
    expect(report).toMatchObject({
      checks: { queueRedis: { ok: true }, cacheRedis: { ok: true }, warmSchedule: { ok: true } },
    });
    service.child.kill('SIGTERM');
    await expect(service.exited).resolves.toEqual({ code: 0, signal: null });
    const steps = service.logs.filter((r) => r.msg === 'closed').map((r) => r.step);
    expect(steps).toEqual([
      'ops server',
      'warm worker',
      'refresh producer',
      'cache redis',
      'queue redis',
      'warmer',
    ]);
  });

  it('refuses an invalid schedule at start-up', async () => {
    service = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        CACHE_WARMING_SCHEDULE: 'every minute',
        CACHE_WARMING_TIMEZONE: 'EST5',
      },
    });
    await expect(service.exited).resolves.toEqual({ code: 1, signal: null });
    expect(service.stderr()).toMatch(/CACHE_WARMING_SCHEDULE: "every minute" is invalid/);
  });
});
