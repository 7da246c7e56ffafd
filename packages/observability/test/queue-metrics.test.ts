import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  startRedisServer,
  testRedisUrl,
  uniqueName,
  waitFor,
  withDeadline,
  type RedisServer,
} from '@fiml/testing';
import { registerQueueMetrics, type TimedWorker } from '../src/index.js';
import { createMetricsRegistry } from '@fiml/runtime';
import { capturingLogger, families, sample } from './metrics-helpers.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** A worker-role connection: blocking commands wait out a Redis restart. */
function connection(url = testRedisUrl()): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', () => undefined);
  open.push(() => Promise.resolve(redis.disconnect()));
  return redis;
}

function queue(prefix: string, url?: string): Queue {
  const q = new Queue('refresh', { connection: connection(url), prefix: `{${prefix}}` });
  q.on('error', () => undefined);
  open.push(() => q.close());
  return q;
}

describe('registerQueueMetrics', () => {
  it('exports job counts by state and counts and times what the workers finish', async () => {
    const prefix = uniqueName('qm');
    const q = queue(prefix);
    const worker = new Worker(
      'refresh',
      (job: Job<{ outcome: 'ok' | 'retry' | 'bad' }>) => {
        if (job.data.outcome === 'retry') throw new Error('upstream 503');
        if (job.data.outcome === 'bad') throw new UnrecoverableError('bad payload');
        return Promise.resolve('done');
      },
      { connection: connection(), prefix: `{${prefix}}`, autorun: false },
    );
    worker.on('error', () => undefined);
    open.push(() => worker.close());
    const registry = createMetricsRegistry({ service: 'batch-scheduler', defaultMetrics: false });
    registerQueueMetrics(registry, { queues: [q], workers: [worker] });

    let finished = 0;
    worker.on('completed', () => (finished += 1));
    worker.on('failed', () => (finished += 1));
    await q.add('refresh', { outcome: 'ok' });
    await q.add('refresh', { outcome: 'ok' }, { delay: 50 });
    await q.add('refresh', { outcome: 'retry' }, { attempts: 2 });
    await q.add('refresh', { outcome: 'bad' }, { attempts: 5 });
    expect(await sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state: 'waiting' })).toBe(
      3,
    );
    expect(await sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state: 'delayed' })).toBe(
      1,
    );

    void worker.run();
    // ok, ok (delayed), retry x2, bad x1
    await waitFor(() => finished === 5, {
      timeoutMs: 10_000,
      description: 'five finished attempts',
    });

    const jobs = (state: string) =>
      sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state });
    expect(await jobs('completed')).toBe(2);
    expect(await jobs('failed')).toBe(2);
    expect(await jobs('waiting')).toBe(0);
    expect(await jobs('active')).toBe(0);
    expect(await sample(registry, 'fiml_queue_jobs_completed_total', { queue: 'refresh' })).toBe(2);
    expect(
      await sample(registry, 'fiml_queue_jobs_failed_total', { queue: 'refresh', final: 'false' }),
    ).toBe(1);
    expect(
      await sample(registry, 'fiml_queue_jobs_failed_total', { queue: 'refresh', final: 'true' }),
    ).toBe(2);
    expect(await sample(registry, 'fiml_queue_job_wait_seconds_count', { queue: 'refresh' })).toBe(
      5,
    );
    expect(
      await sample(registry, 'fiml_queue_job_run_seconds_count', { queue: 'refresh' }),
    ).toBeGreaterThanOrEqual(4);
    expect(await sample(registry, 'fiml_queue_jobs_stalled_total', { queue: 'refresh' })).toBe(0);
  });

  it('registers nothing without queues, and only job counts for a producer without workers', async () => {
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    registerQueueMetrics(registry, { queues: [] });
    expect(await families(registry)).toEqual([]);
    registerQueueMetrics(registry, { queues: [queue(uniqueName('qm'))] });
    expect(await families(registry)).toEqual(['fiml_queue_jobs']);
    expect(await sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state: 'waiting' })).toBe(
      0,
    );
  });

  it('measures wait from when a delayed job was due, and run time per attempt', async () => {
    const registry = createMetricsRegistry({ service: 'warmer', defaultMetrics: false });
    // The worker events of a real BullMQ Worker, with job timestamps we choose.
    const worker = new EventEmitter() as EventEmitter & { name: string };
    worker.name = 'warm';
    registerQueueMetrics(registry, { queues: [], workers: [worker as unknown as TimedWorker] });
    const job = (fields: Partial<Job>) =>
      ({ opts: {}, attemptsMade: 1, timestamp: 1_000, ...fields }) as Job;
    // Added at 1.000 s, due at 61.000 s (a Job Scheduler tick), started at 61.250 s.
    worker.emit(
      'completed',
      job({ opts: { delay: 60_000 }, processedOn: 61_250, finishedOn: 61_300 }),
    );
    worker.emit('failed', job({ processedOn: 1_500 }), new Error('x'));
    worker.emit('failed', undefined, new Error('lost'));
    // Found by this worker's stalled check: the worker that held it stopped renewing its lock.
    worker.emit('stalled', 'job-7', 'active');
    expect(
      await sample(registry, 'fiml_queue_job_wait_seconds_sum', { queue: 'warm' }),
    ).toBeCloseTo(0.75, 9);
    expect(await sample(registry, 'fiml_queue_job_run_seconds_sum', { queue: 'warm' })).toBeCloseTo(
      0.05,
      9,
    );
    expect(await sample(registry, 'fiml_queue_job_run_seconds_count', { queue: 'warm' })).toBe(1);
    expect(
      await sample(registry, 'fiml_queue_jobs_failed_total', { queue: 'warm', final: 'true' }),
    ).toBe(2);
    expect(await sample(registry, 'fiml_queue_jobs_stalled_total', { queue: 'warm' })).toBe(1);
  });

  it('keeps exporting the last counts within its deadline while the queue Redis is down', async () => {
    const server: RedisServer = await startRedisServer();
    open.push(() => server.stop());
    const prefix = uniqueName('qm');
    const q = queue(prefix, server.url);
    await q.add('refresh', {});
    const { logger, lines } = capturingLogger();
    const registry = createMetricsRegistry({ service: 'api', defaultMetrics: false });
    registerQueueMetrics(registry, { queues: [q], countTimeoutMs: 200, logger });
    expect(await sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state: 'waiting' })).toBe(
      1,
    );

    await server.kill();
    // Bounded: a worker-role connection would wait for Redis forever without the deadline.
    for (let i = 0; i < 3; i++) {
      const text = await withDeadline(registry.metrics(), 5_000, 'a scrape while Redis is down');
      expect(text).toContain('fiml_queue_jobs{queue="refresh",state="waiting",service="api"} 1');
    }
    const warnings = lines.filter(
      (l) => l.msg === 'cannot read job counts; exporting the last ones',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      queue: 'refresh',
      component: 'queue-metrics',
    });

    await server.start();
    // The restarted server starts empty (no persistence): two new jobs tell fresh counts from old.
    await q.add('refresh', {});
    await q.add('refresh', {});
    await waitFor(
      async () =>
        (await sample(registry, 'fiml_queue_jobs', { queue: 'refresh', state: 'waiting' })) === 2,
      { timeoutMs: 10_000, description: 'fresh counts after Redis is back' },
    );
    expect(lines.some((l) => l.msg === 'job counts readable again')).toBe(true);
  });
});
