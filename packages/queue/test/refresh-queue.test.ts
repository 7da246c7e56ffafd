import { afterEach, describe, expect, it } from '@jest/globals';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger, createRedisConnection } from '@fiml/runtime';
import {
  startRedisServer,
  testRedisUrl,
  uniqueName,
  waitFor,
  waitForEvent,
  withDeadline,
  type RedisServer,
} from '@fiml/testing';
import {
  InvalidJobPayloadError,
  QueueName,
  RefreshProducer,
  createJobWorker,
  refreshRequestSchema,
  type JobWorker,
  type RefreshRequest,
} from '../src/index.js';

const logger = createLogger({ service: 'test', level: 'silent' });

/** Everything a test opened, closed after it whatever happened. */
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

function connection(role: 'worker' | 'producer', url = testRedisUrl()): Redis {
  const client = createRedisConnection(url, { role, name: `test-${role}`, logger }) as Redis;
  open.push(() => Promise.resolve(client.disconnect()));
  return client;
}

function producer(prefix: string, url = testRedisUrl()): RefreshProducer {
  const p = new RefreshProducer({ connection: connection('producer', url), prefix });
  open.push(() => p.close());
  return p;
}

function worker(
  prefix: string,
  process: (payload: RefreshRequest, job: Job) => Promise<unknown>,
  extra: { shutdownTimeoutMs?: number; url?: string } = {},
): JobWorker {
  const w = createJobWorker({
    queueName: QueueName.REFRESH,
    prefix,
    connection: connection('worker', extra.url),
    schema: refreshRequestSchema,
    process,
    logger,
    ...(extra.shutdownTimeoutMs === undefined
      ? {}
      : { shutdownTimeoutMs: extra.shutdownTimeoutMs }),
  });
  open.push(() => w.close());
  return w;
}

/** A promise with its resolve function, to hold a job open until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, open: release };
}

describe('refresh queue through a real redis-server', () => {
  it('delivers the validated, normalized payload to the worker with its priority', async () => {
    const prefix = uniqueName('q');
    const received: { payload: RefreshRequest; priority: number | undefined }[] = [];
    const w = worker(prefix, (payload, job) => {
      received.push({ payload, priority: job.opts.priority });
      return Promise.resolve({ refreshed: payload.symbols.length });
    });
    const done = waitForEvent<[Job, unknown]>(w.worker, 'completed', {
      description: 'the refresh job',
    });

    const { jobId, request } = await producer(prefix).enqueueRefresh({
      symbols: ['aapl', 'msft', 'AAPL'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'urgent',
      source: 'portfolio-service',
    });

    const [job, result] = await done;
    expect(job.id).toBe(jobId);
    expect(result).toEqual({ refreshed: 2 });
    expect(received).toEqual([{ payload: request, priority: 1 }]);
    expect(request.symbols).toEqual(['AAPL', 'MSFT']);
  });

  it('never lets an invalid request reach Redis', async () => {
    const prefix = uniqueName('q');
    const p = producer(prefix);
    await expect(
      p.enqueueRefresh({
        symbols: ['AAPL'],
        assetType: 'bond' as 'equity',
        dataType: 'price',
        source: 'x',
      }),
    ).rejects.toThrow(InvalidJobPayloadError);
    expect(await p.queue.getJobCounts()).toMatchObject({ waiting: 0, prioritized: 0, delayed: 0 });
  });

  it('deduplicates by id across producers: one job, and every add answers with its id', async () => {
    const prefix = uniqueName('q');
    // Two api instances serving the same stale key.
    const [a, b] = [producer(prefix), producer(prefix)];
    const stale = {
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'urgent',
      reason: 'stale',
      source: 'api:stale',
    } as const;
    const dedup = { deduplicationId: 'stale:price:equity:AAPL', deduplicationTtlMs: 60_000 };
    const first = await a.enqueueRefresh(stale, dedup);
    const again = await Promise.all([
      a.enqueueRefresh(stale, dedup),
      b.enqueueRefresh(stale, dedup),
      b.enqueueRefresh({ ...stale, symbols: ['aapl'] }, dedup),
    ]);
    expect(again.map((e) => e.jobId)).toEqual([first.jobId, first.jobId, first.jobId]);
    // Another key, and a request without an id, are jobs of their own.
    const other = await b.enqueueRefresh(
      { ...stale, symbols: ['MSFT'] },
      { ...dedup, deduplicationId: 'stale:price:equity:MSFT' },
    );
    const plain = await b.enqueueRefresh(stale);
    expect(new Set([first.jobId, other.jobId, plain.jobId]).size).toBe(3);

    const jobs = await a.queue.getJobs(['prioritized', 'waiting']);
    expect(jobs).toHaveLength(3);
    const job = await a.queue.getJob(first.jobId);
    expect(job?.data).toEqual({ ...stale });
    expect(job?.opts).toMatchObject({
      priority: 1,
      deduplication: { id: 'stale:price:equity:AAPL', ttl: 60_000 },
    });
  });

  it('refuses an empty deduplication id or a TTL that is not a positive integer, before Redis', async () => {
    const p = producer(uniqueName('q'));
    const request = {
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 'x',
    } as const;
    await expect(p.enqueueRefresh(request, { deduplicationId: '' })).rejects.toThrow(RangeError);
    for (const ttl of [0, -1, 1.5, Number.NaN]) {
      await expect(
        p.enqueueRefresh(request, { deduplicationId: 'k', deduplicationTtlMs: ttl }),
      ).rejects.toThrow(RangeError);
    }
    expect(await p.queue.count()).toBe(0);
  });

  it('fails a job whose payload breaks the contract without retrying it', async () => {
    const prefix = uniqueName('q');
    let calls = 0;
    const w = worker(prefix, () => {
      calls += 1;
      return Promise.resolve();
    });
    const failed = waitForEvent<[Job, Error]>(w.worker, 'failed', {
      description: 'the bad job to fail',
    });
    // A foreign producer that skips validation.
    const raw = new Queue(QueueName.REFRESH, {
      connection: connection('producer'),
      prefix: `{${prefix}}`,
    });
    open.push(() => raw.close());
    await raw.add('refresh', { symbols: 'AAPL', assetType: 'equity' }, { attempts: 5 });

    const [job, error] = await failed;
    expect(calls).toBe(0);
    expect(error.name).toBe('UnrecoverableError');
    expect(error.message).toContain('symbols: Invalid input: expected array, received string');
    expect(error.message).toContain('dataType: one of price, fundamentals, news');
    expect(job.attemptsMade).toBe(1);
    expect(await raw.getJobState(job.id!)).toBe('failed');
  });

  it('on close, stops fetching and lets the active job finish', async () => {
    const prefix = uniqueName('q');
    const hold = gate();
    const seen: string[] = [];
    const w = worker(prefix, async (payload) => {
      seen.push(payload.symbols[0]!);
      await hold.promise;
    });
    const p = producer(prefix);
    const active = waitForEvent(w.worker, 'active', { description: 'the first job to start' });
    await p.enqueueRefresh({
      symbols: ['FIRST'],
      assetType: 'equity',
      dataType: 'price',
      source: 't',
    });
    await active;

    const closing = w.close();
    // Enqueued after close began: must stay in the queue for another worker.
    await p.enqueueRefresh({
      symbols: ['SECOND'],
      assetType: 'equity',
      dataType: 'price',
      source: 't',
    });
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);

    const completed = waitForEvent<[Job]>(w.worker, 'completed', { description: 'the active job' });
    hold.open();
    const [job] = await completed;
    await expect(closing).resolves.toEqual({ graceful: true });
    expect(job.data).toMatchObject({ symbols: ['FIRST'] });
    expect(seen).toEqual(['FIRST']);
    expect(await p.queue.getJobCounts('completed', 'waiting', 'prioritized')).toEqual({
      completed: 1,
      waiting: 0,
      prioritized: 1,
    });
  });

  it('on close, stops waiting for a job that outlives the shutdown timeout', async () => {
    const prefix = uniqueName('q');
    const hold = gate();
    open.push(() => Promise.resolve(hold.open()));
    const w = worker(prefix, () => hold.promise, { shutdownTimeoutMs: 200 });
    const active = waitForEvent(w.worker, 'active');
    await producer(prefix).enqueueRefresh({
      symbols: ['HANG'],
      assetType: 'equity',
      dataType: 'price',
      source: 't',
    });
    await active;
    await expect(withDeadline(w.close(), 5_000, 'the forced close')).resolves.toEqual({
      graceful: false,
    });
  });
});

describe('when the queue Redis goes away', () => {
  /** A private server, stopped after everything connected to it has closed. */
  async function privateServer(): Promise<RedisServer> {
    const server = await startRedisServer();
    open.push(() => server.stop());
    return server;
  }

  it('a producer fails fast instead of hanging the caller, and recovers when Redis is back', async () => {
    const server = await privateServer();
    const prefix = uniqueName('q');
    const p = producer(prefix, server.url);
    const request = {
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      source: 't',
    } as const;
    await p.enqueueRefresh(request);

    await server.kill();
    await expect(withDeadline(p.enqueueRefresh(request), 2_000, 'the add to fail')).rejects.toThrow(
      /Stream isn't writeable|Connection is closed|enableOfflineQueue/,
    );

    await server.start();
    const again = await waitFor(() => p.enqueueRefresh(request), {
      timeoutMs: 10_000,
      intervalMs: 50,
      description: 'an add to succeed after Redis restarted',
    });
    expect(again.jobId).toBeDefined();
  });

  it('a worker rides out a Redis restart and processes jobs added afterwards', async () => {
    const server = await privateServer();
    const prefix = uniqueName('q');
    const w = worker(prefix, (payload) => Promise.resolve(payload.symbols), { url: server.url });
    await w.worker.waitUntilReady();
    await server.kill();
    await server.start();

    const completed = waitForEvent<[Job, unknown]>(w.worker, 'completed', {
      // BullMQ's worker retries a failed fetch after its runRetryDelay (15 s).
      timeoutMs: 25_000,
      description: 'a job after the restart',
    });
    const p = producer(prefix, server.url);
    await waitFor(
      () =>
        p.enqueueRefresh({
          symbols: ['AFTER'],
          assetType: 'crypto',
          dataType: 'price',
          source: 't',
        }),
      { timeoutMs: 10_000, intervalMs: 50, description: 'an add to succeed after Redis restarted' },
    );
    const [, result] = await completed;
    expect(result).toEqual(['AFTER']);
  });
});
