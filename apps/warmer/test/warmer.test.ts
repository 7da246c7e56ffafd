import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { createLogger } from '@fiml/observability';
import { createRedisConnection } from '@fiml/queue';
import {
  startServiceProcess,
  testRedisUrl,
  uniqueName,
  waitForEvent,
  type ServiceProcess,
} from '@fiml/testing';
import { WARM_SCHEDULER_ID, buildWarmer, type Warmer } from '../src/warmer.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

function warmer(
  schedule: { pattern: string; tz: string },
  extra: { enabled?: boolean; prefix?: string } = {},
): Warmer {
  const connection = createRedisConnection(testRedisUrl(), {
    role: 'worker',
    name: 'test-warmer',
    logger,
  });
  open.push(() => Promise.resolve(connection.disconnect()));
  const w = buildWarmer({
    connection,
    prefix: extra.prefix ?? uniqueName('warm'),
    logger,
    schedule,
    ...extra,
  });
  open.push(() => w.close());
  return w;
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

describe('buildWarmer', () => {
  it('registers one Job Scheduler with the cron pattern in the exchange time zone', async () => {
    const w = warmer({ pattern: '0 9 * * 1-5', tz: 'America/New_York' });
    await w.start();
    await w.start(); // idempotent: replicas and restarts share one schedule
    const schedulers = await w.queue.getJobSchedulers();
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
    const w = warmer({ pattern: '* * * * * *', tz: 'America/New_York' });
    const completed = waitForEvent<[Job, unknown]>(w.worker.worker, 'completed', {
      description: 'a scheduled warming cycle',
    });
    await w.start();
    const [job, result] = await completed;
    expect(job.name).toBe('warm-cycle');
    expect(job.repeatJobKey).toBe(WARM_SCHEDULER_ID);
    expect(result).toEqual({ warmed: 0 });
  });

  it('removes the schedule when warming is disabled', async () => {
    const prefix = uniqueName('warm');
    const on = warmer({ pattern: '*/5 * * * *', tz: 'America/New_York' }, { prefix });
    await on.start();
    expect(await on.queue.getJobSchedulersCount()).toBe(1);
    const off = warmer(
      { pattern: '*/5 * * * *', tz: 'America/New_York' },
      { prefix, enabled: false },
    );
    await off.start();
    expect(await off.queue.getJobSchedulersCount()).toBe(0);
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
    expect((await fetch((ready.metrics as string).replace('/metrics', '/readyz'))).status).toBe(
      200,
    );
    service.child.kill('SIGTERM');
    await expect(service.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('refuses an invalid schedule at start-up', async () => {
    service = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        REDIS_QUEUE_URL: testRedisUrl(),
        CACHE_WARMING_SCHEDULE: 'every minute',
        CACHE_WARMING_TIMEZONE: 'EST5',
      },
    });
    await expect(service.exited).resolves.toEqual({ code: 1, signal: null });
    expect(service.stderr()).toMatch(/CACHE_WARMING_SCHEDULE: "every minute" is invalid/);
  });
});
