import { afterEach, describe, expect, it } from '@jest/globals';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '@fiml/config';
import { warmerEnv } from '../src/config.js';
import { startOpsServer, type ReadinessReport } from '@fiml/runtime';
import { readSample } from '@fiml/observability/promtool';
import { capturingLogger } from '@fiml/runtime/testing';
import {
  startRedisServer,
  testRedisUrl,
  uniqueName,
  waitForEvent,
  type RedisServer,
} from '@fiml/testing';
import { createWarmer, type WarmerApp } from '../src/create-warmer.js';
import type {
  ScheduleCheckedEvent,
  ScheduleRecreateFailedEvent,
  ScheduleRecreatedEvent,
  ScheduleRemovedEvent,
} from '../src/schedule-keeper.js';
import { PRE_OPEN_SCHEDULER_ID, WARM_SCHEDULER_ID } from '../src/warmer.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

const RECREATED = 'warming schedule was missing; re-created';
const NOT_RECREATED =
  'warming schedule is missing and could not be re-created; retrying on the next check';

async function privateServer(): Promise<RedisServer> {
  const server = await startRedisServer();
  open.push(() => server.stop());
  return server;
}

/** A warmer built as the process builds it (createWarmer) on this queue Redis, closed after the test. */
function warmer(queueUrl: string, env: Record<string, string>) {
  const { logger, lines } = capturingLogger({ level: 'warn' });
  const config = loadConfig(warmerEnv, {
    env: {
      REDIS_QUEUE_URL: queueUrl,
      REDIS_CACHE_URL: testRedisUrl(),
      QUEUE_PREFIX: uniqueName('warm'),
      CACHE_KEY_PREFIX: uniqueName('wc'),
      CACHE_WARMING_PREOPEN_MINUTES: '0',
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: '0',
      ...env,
    },
    dotenvPath: false,
  });
  const app = createWarmer(config, { logger });
  open.push(() => app.close());
  return { app, lines };
}

/** The warmer's ops server, as runWorkerProcess starts it: GET /readyz answers from app.readiness. */
async function readyz(app: WarmerApp): Promise<() => Promise<[number, ReadinessReport]>> {
  const ops = await startOpsServer({
    registry: app.registry,
    logger: app.logger,
    host: '127.0.0.1',
    port: 0,
    readiness: app.readiness,
  });
  open.push(() => ops.close());
  return async () => {
    const response = await fetch(`${ops.url}/readyz`);
    return [response.status, (await response.json()) as ReadinessReport];
  };
}

async function recreatedCount(app: WarmerApp, labels: Record<string, string>) {
  const body = await app.registry.metrics();
  return readSample(body, 'fiml_warm_schedule_recreated_total', { service: 'warmer', ...labels });
}

describe('the warmer keeps its Job Scheduler', () => {
  it('re-creates it when the queue Redis comes back empty, and warming cycles run again', async () => {
    const server = await privateServer();
    const { app, lines } = warmer(server.url, {
      // Every second, so a cycle runs soon after the schedule is back.
      CACHE_WARMING_SCHEDULE: '* * * * * *',
    });
    const get = await readyz(app);
    await app.start();
    expect(await get()).toMatchObject([200, { checks: { warmSchedule: { ok: true } } }]);
    expect(await recreatedCount(app, { scheduler: WARM_SCHEDULER_ID, trigger: 'reconnect' })).toBe(
      0,
    );

    // A restart without persistence: the new server knows no scheduler and no job.
    const recreated = waitForEvent<[ScheduleRecreatedEvent]>(app.warmer.schedule, 'recreated', {
      timeoutMs: 20_000,
      description: 'the Job Scheduler re-created after the restart',
    });
    await server.kill();
    await server.start();
    const [event] = await recreated;
    expect(event).toEqual({ scheduler: WARM_SCHEDULER_ID, trigger: 'reconnect' });

    expect(await app.warmer.queue.getJobScheduler(WARM_SCHEDULER_ID)).toMatchObject({
      pattern: '* * * * * *',
      tz: 'America/New_York',
    });
    // A warming cycle of the re-created scheduler runs on the new server.
    const [job] = await waitForEvent<[Job]>(app.warmer.worker.worker, 'completed', {
      timeoutMs: 10_000,
      description: 'a warming cycle after the restart',
    });
    expect(job.repeatJobKey).toBe(WARM_SCHEDULER_ID);
    expect(await app.warmer.queue.getJobCountByTypes('completed')).toBeGreaterThanOrEqual(1);

    expect(await get()).toMatchObject([
      200,
      { checks: { queueRedis: { ok: true }, warmSchedule: { ok: true } } },
    ]);
    expect(await recreatedCount(app, { scheduler: WARM_SCHEDULER_ID, trigger: 'reconnect' })).toBe(
      1,
    );
    // One warning says it was missing and was re-created.
    expect(lines.filter((l) => l.msg === RECREATED)).toEqual([
      expect.objectContaining({
        level: 'warn',
        scheduler: WARM_SCHEDULER_ID,
        trigger: 'reconnect',
      }),
    ]);
  });

  it('re-creates a scheduler removed while the connection stays up, on the periodic check', async () => {
    const { app, lines } = warmer(testRedisUrl(), {
      CACHE_WARMING_SCHEDULE: '0 9 * * 1-5',
      CACHE_WARMING_PREOPEN_MINUTES: '45',
      CACHE_WARMING_SCHEDULE_CHECK_MS: '100',
    });
    expect(await app.readiness.warmSchedule!()).toEqual({
      ok: false,
      error: 'warming schedule not registered yet',
    });
    await app.start();
    expect(await app.readiness.warmSchedule!()).toEqual({ ok: true });

    // A check that finds everything in place re-creates nothing.
    await waitForEvent<[ScheduleCheckedEvent]>(app.warmer.schedule, 'checked', {
      description: 'a periodic check',
    });
    expect(lines.filter((l) => l.msg === RECREATED)).toEqual([]);

    const recreated = waitForEvent<[ScheduleRecreatedEvent]>(app.warmer.schedule, 'recreated', {
      description: 'the removed scheduler re-created',
    });
    expect(await app.warmer.queue.removeJobScheduler(PRE_OPEN_SCHEDULER_ID)).toBe(true);
    expect((await recreated)[0]).toEqual({ scheduler: PRE_OPEN_SCHEDULER_ID, trigger: 'periodic' });

    const byId = new Map((await app.warmer.queue.getJobSchedulers()).map((s) => [s.key, s]));
    expect(byId.get(PRE_OPEN_SCHEDULER_ID)).toMatchObject({
      pattern: '45 8 * * 1-5',
      tz: 'America/New_York',
      template: { data: { mode: 'pre-open' } },
    });
    expect(byId.get(WARM_SCHEDULER_ID)).toMatchObject({ pattern: '0 9 * * 1-5' });
    // Its next run is waiting as a delayed job again.
    expect(await app.warmer.queue.getDelayedCount()).toBe(2);
    expect(await app.readiness.warmSchedule!()).toEqual({ ok: true });
    expect(
      await recreatedCount(app, { scheduler: PRE_OPEN_SCHEDULER_ID, trigger: 'periodic' }),
    ).toBe(1);
    expect(lines.filter((l) => l.msg === RECREATED)).toEqual([
      expect.objectContaining({
        level: 'warn',
        scheduler: PRE_OPEN_SCHEDULER_ID,
        trigger: 'periodic',
      }),
    ]);
  });

  it('says it is not ready while a missing scheduler cannot be re-created, and is ready once it is', async () => {
    const server = await privateServer();
    const { app, lines } = warmer(server.url, {
      CACHE_WARMING_SCHEDULE: '0 9 * * 1-5',
      CACHE_WARMING_SCHEDULE_CHECK_MS: '100',
    });
    const get = await readyz(app);
    await app.start();
    expect((await get())[0]).toBe(200);

    // The queue Redis loses its data and refuses writes: over maxmemory with noeviction.
    const admin = new Redis(server.url);
    open.push(() => admin.quit());
    const failedTwice = new Promise<ScheduleRecreateFailedEvent>((resolve) => {
      let seen = 0;
      app.warmer.schedule.on('recreate-failed', (event) => {
        if (++seen === 2) resolve(event);
      });
    });
    const failed = waitForEvent<[ScheduleRecreateFailedEvent]>(
      app.warmer.schedule,
      'recreate-failed',
      { description: 'a check that cannot re-create the scheduler' },
    );
    await admin.multi().flushall().config('SET', 'maxmemory', '1').exec();
    expect((await failed)[0]).toMatchObject({ scheduler: WARM_SCHEDULER_ID, trigger: 'periodic' });

    const [status, report] = await get();
    expect(status).toBe(503);
    // The connection is fine: only the schedule is missing.
    expect(report.checks.queueRedis).toMatchObject({ ok: true });
    expect(report.checks.warmSchedule).toEqual({
      ok: false,
      error: expect.stringMatching(
        /^Job Scheduler missing and could not be re-created: warm-cycle \(OOM /,
      ),
    });

    // Checks keep trying, with one warning for the loss, not one per check.
    await failedTwice;
    expect(lines.filter((l) => l.msg === NOT_RECREATED)).toEqual([
      expect.objectContaining({ level: 'warn', scheduler: WARM_SCHEDULER_ID }),
    ]);

    const recreated = waitForEvent<[ScheduleRecreatedEvent]>(app.warmer.schedule, 'recreated', {
      description: 'the scheduler re-created once Redis takes writes again',
    });
    await admin.config('SET', 'maxmemory', '0');
    expect((await recreated)[0]).toEqual({ scheduler: WARM_SCHEDULER_ID, trigger: 'periodic' });
    expect(await get()).toMatchObject([200, { checks: { warmSchedule: { ok: true } } }]);
    expect(await app.warmer.queue.getJobScheduler(WARM_SCHEDULER_ID)).toMatchObject({
      pattern: '0 9 * * 1-5',
    });
    expect(lines.filter((l) => l.msg === RECREATED)).toHaveLength(1);
  });

  it('removes a scheduler another replica re-created while warming is off here, and is ready', async () => {
    const { app, lines } = warmer(testRedisUrl(), {
      CACHE_WARMING_ENABLED: 'false',
      CACHE_WARMING_SCHEDULE_CHECK_MS: '100',
    });
    await app.start();
    expect(app.warmer.schedule.schedulers).toEqual([]);
    expect(await app.readiness.warmSchedule!()).toEqual({ ok: true });

    // A replica still on the old configuration (warming on) re-creates it during a rollout.
    const removed = waitForEvent<[ScheduleRemovedEvent]>(app.warmer.schedule, 'removed', {
      description: 'the scheduler removed again',
    });
    await app.warmer.queue.upsertJobScheduler(
      WARM_SCHEDULER_ID,
      { pattern: '0 9 * * 1-5' },
      { name: 'warm-cycle', data: { mode: 'scheduled' } },
    );
    expect((await removed)[0]).toEqual({ scheduler: WARM_SCHEDULER_ID, trigger: 'periodic' });
    expect(await app.warmer.queue.getJobSchedulersCount()).toBe(0);
    expect(await app.readiness.warmSchedule!()).toEqual({ ok: true });
    expect(lines.map((l) => l.msg)).toEqual([
      'warming schedule is off in this configuration but was present; removed',
    ]);
  });
});
