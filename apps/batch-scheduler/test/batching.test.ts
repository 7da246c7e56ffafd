// The batch-scheduler grouping refresh requests, built by createBatchScheduler,
// against a real redis-server, real BullMQ queues and the simulated provider
// over HTTP.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from '@jest/globals';
import { WarmLedger } from '@fiml/cache';
import { readSample } from '@fiml/observability/promtool';
import { ManualClock } from '@fiml/market';
import { QueueName, RefreshProducer, queuePrefix } from '@fiml/queue';
import { dyingWorker } from '@fiml/queue/testing';
import { startServiceProcess, testRedisUrl, uniqueName, waitFor } from '@fiml/testing';
import type { BatchOutcome } from '../src/scheduler/batch-job.js';
import { batchQueueName } from '../src/scheduler/batch-scheduler.js';
import {
  T1,
  calls,
  deploymentNames,
  enqueueThousandOver300,
  open,
  otherWriter,
  price,
  redis,
  scheduler,
  simServer,
  stored,
  twoReplicasShareABudget,
} from './support.js';

describe('grouping refresh requests', () => {
  it('turns 1,000 refresh requests for 300 symbols into ceil(300 / batch size) upstream calls', async () => {
    const clock = new ManualClock(T1); // frozen: only full batches go
    const sim = await simServer(clock);
    const { app, producer, keyPrefix } = scheduler(
      { SIM_PROVIDER_URL: sim.url, CACHE_BATCH_SIZE: '100', CACHE_BATCH_INTERVAL: '60' },
      clock,
    );
    const made = calls(app);
    const symbols = await enqueueThousandOver300(producer, 50);
    const reader = otherWriter(keyPrefix, clock);
    await waitFor(
      async () => (await reader.peek(symbols.map(price))).every((e) => e !== undefined),
      { timeoutMs: 30_000, description: 'all 300 symbols in L2' },
    );
    expect(made.map((c) => c.symbols)).toEqual([100, 100, 100]);
    expect((await stored(reader, price('S0')))?.writer).toBe('scheduler');
  });

  it('holds low-priority requests until a low-load hour, while urgent ones go at once; a warming request is written and booked as the warmer’s', async () => {
    const clock = new ManualClock(T1); // Tuesday 11:00 New York: not a low-load hour
    const sim = await simServer(clock);
    const { app, producer, keyPrefix } = scheduler(
      { SIM_PROVIDER_URL: sim.url, CACHE_BATCH_INTERVAL: '1', CACHE_LOW_LOAD_HOURS: '0,1,2,3' },
      clock,
    );
    const made = calls(app);
    const reader = otherWriter(keyPrefix, clock);
    const ledger = new WarmLedger({ redis: redis('test-ledger'), keyPrefix, clock });
    await ledger.plan('run-1', [price('MSFT')]);
    await producer.enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'urgent',
      source: 'test',
    });
    await waitFor(async () => (await stored(reader, price('AAPL'))) !== undefined, {
      timeoutMs: 10_000,
      description: 'the urgent key written',
    });
    expect(made).toHaveLength(1);

    await producer.enqueueRefresh({
      symbols: ['MSFT'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'low',
      reason: 'warm',
      source: 'warmer',
    });
    await waitFor(async () => (await app.scheduler!.pendingKeys()).some((g) => g.keys === 1), {
      timeoutMs: 10_000,
      description: 'the low key pending',
    });
    clock.advance(10 * 60_000); // far past the batch interval: still not its hour
    await app.scheduler!.tick();
    await app.scheduler!.tick();
    expect(made).toHaveLength(1);
    expect(await stored(reader, price('MSFT'))).toBeUndefined();

    clock.set(Date.parse('2026-11-25T01:30:00-05:00')); // 01:30 New York
    await waitFor(async () => (await stored(reader, price('MSFT'))) !== undefined, {
      timeoutMs: 10_000,
      description: 'the low key written in its hour',
    });
    expect(made).toHaveLength(2);
    expect((await stored(reader, price('AAPL')))?.writer).toBe('scheduler');
    const warmed = await stored(reader, price('MSFT'));
    expect(warmed?.writer).toBe('warmer');
    // Booked for run-1, with the whole call it went alone in.
    await ledger.recordRun({
      id: 'run-1',
      mode: 'scheduled',
      startedAt: T1,
      finishedAt: T1,
      tracked: 1,
      requested: 1,
      skipped: {},
      top: [],
    });
    expect((await ledger.runs(1))[0]?.outcomes).toMatchObject({ warmed: 1, calls: 1, used: 0 });
    expect(
      await ledger.read([{ key: price('MSFT'), fetchedAt: warmed!.fetchedAt, at: clock.now() }]),
    ).toBe(1);
  });

  it('two replicas share a provider budget and never fetch one key twice', async () => {
    const clock = new ManualClock(T1);
    const sim = await simServer(clock);
    const [callsA, callsB] = await twoReplicasShareABudget({ SIM_PROVIDER_URL: sim.url }, clock);
    expect(callsA.length).toBeGreaterThan(0);
    expect(callsB.length).toBeGreaterThan(0);
  });
});

describe('bad answers', () => {
  it('a provider answering garbage fails only its batch: its keys are retried, then failed with the reason', async () => {
    const clock = new ManualClock(T1);
    const garbage = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"nonsense":true}');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    open.push(() => new Promise((resolve) => garbage.close(() => resolve(undefined))));
    const { port } = garbage.address() as AddressInfo;
    const { app, producer } = scheduler(
      {
        SIM_PROVIDER_URL: `http://127.0.0.1:${port}`,
        CACHE_BATCH_INTERVAL: '0',
        REFRESH_MAX_ATTEMPTS: '2',
      },
      clock,
      { scheduler: { retryBaseMs: 1_000 } },
    );
    const outcomes: BatchOutcome[] = [];
    const batches = new QueueEvents(batchQueueName('sim-equities'), {
      connection: redis('test-events'),
      prefix: queuePrefix(app.summary.queuePrefix as string),
    });
    open.push(() => batches.close());
    batches.on('completed', ({ returnvalue }) =>
      outcomes.push(returnvalue as unknown as BatchOutcome),
    );
    await batches.waitUntilReady();
    await producer.enqueueRefresh({
      symbols: ['AAPL', 'MSFT'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    await waitFor(() => outcomes.length === 1, {
      timeoutMs: 15_000,
      description: 'the first batch',
    });
    expect(outcomes[0]).toMatchObject({ keys: 2, retrying: 2, written: 0, failed: [] });
    const keysCounted = async (outcome: string) =>
      readSample(await app.registry.metrics(), 'fiml_batch_keys_total', {
        provider: 'sim-equities',
        outcome,
      });
    expect([await keysCounted('retrying'), await keysCounted('failed')]).toEqual([2, 0]);
    clock.advance(5_000); // past the backoff (1-2 s with jitter)
    await app.scheduler!.tick();
    await waitFor(() => outcomes.length === 2, { timeoutMs: 15_000, description: 'the retry' });
    expect(outcomes[1]!.failed.map((f) => [f.symbol, f.code, f.attempts]).sort()).toEqual([
      ['AAPL', 'FIML_PROVIDER_BAD_RESPONSE', 2],
      ['MSFT', 'FIML_PROVIDER_BAD_RESPONSE', 2],
    ]);
    expect(await app.scheduler!.pendingKeys()).toEqual([
      { provider: 'sim-equities', dataType: 'price', keys: 0 },
    ]);
    // Failed for good, counted where an alert sees them (FimlRefreshKeysFailed); no batch job
    // failed.
    expect([await keysCounted('retrying'), await keysCounted('failed')]).toEqual([2, 2]);
    expect(await keysCounted('written')).toBe(0);
    expect(
      readSample(await app.registry.metrics(), 'fiml_queue_jobs_completed_total', {
        queue: batchQueueName('sim-equities'),
      }),
    ).toBe(2);
  });
});

describe('crash safety', () => {
  it('a replica killed mid-batch loses no request: another replica takes its batch over', async () => {
    const clock = new ManualClock(T1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    // Every upstream call waits at the gate until the test opens it.
    const sim = await simServer(clock, 0, {
      delay: true,
      sleep: () => {
        arrived += 1;
        return gate;
      },
    });
    const names = deploymentNames();
    const shared = {
      ...names,
      SIM_PROVIDER_URL: sim.url,
      CACHE_BATCH_INTERVAL: '0',
      BATCH_LOCK_DURATION_MS: '2000',
      BATCH_STALLED_INTERVAL_MS: '1000',
    };
    const victim = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        ...shared,
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      },
    });
    open.push(async () => victim.kill());
    // A child process compiled by tsx starts slowly on a loaded CI machine.
    await victim.waitForLog((r) => r.msg === 'batch-scheduler ready', 90_000);
    const producerSide = scheduler({ ...shared, CACHE_BATCH_ENABLED: 'false' }, clock);
    // The producer side's own worker would consume the request: stop it first.
    await producerSide.app.worker.close();
    await producerSide.producer.enqueueRefresh({
      symbols: ['AAPL', 'MSFT'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    await waitFor(() => arrived > 0, {
      timeoutMs: 20_000,
      description: 'the victim calling upstream',
    });
    victim.child.kill('SIGKILL');
    await victim.exited;

    const survivor = scheduler(shared, clock);
    release();
    const reader = otherWriter(names.CACHE_KEY_PREFIX, clock);
    await waitFor(
      async () => (await reader.peek([price('AAPL'), price('MSFT')])).every((e) => e !== undefined),
      { timeoutMs: 30_000, description: 'the survivor writing the batch' },
    );
    expect((await survivor.app.scheduler!.pendingKeys()).every((g) => g.keys === 0)).toBe(true);
  }, 180_000);

  it('a refresh request taken by a replica that died is grouped by another once its lock lapses (BATCH_LOCK_DURATION_MS, BATCH_STALLED_INTERVAL_MS)', async () => {
    const clock = new ManualClock(T1);
    const sim = await simServer(clock);
    const names = deploymentNames();
    // The replica that dies with the request, its timings the deployment's.
    const dead = dyingWorker({
      queueName: QueueName.REFRESH,
      prefix: names.QUEUE_PREFIX,
      connection: redis('test-dead'),
      lockDurationMs: 2_000,
      stalledIntervalMs: 1_000,
    });
    open.push(() => dead.close());
    const producer = new RefreshProducer({
      connection: redis('test-p'),
      prefix: names.QUEUE_PREFIX,
    });
    open.push(() => producer.close());
    await producer.enqueueRefresh({
      symbols: ['LOCK'],
      assetType: 'equity',
      dataType: 'price',
      priority: 'urgent',
      source: 'test',
    });
    await dead.died;

    // BullMQ's own stalled interval (30 s) would leave the request with the dead
    // replica for the whole wait; the configured one hands it over in seconds.
    const { app } = scheduler(
      {
        ...names,
        SIM_PROVIDER_URL: sim.url,
        CACHE_BATCH_INTERVAL: '0',
        BATCH_LOCK_DURATION_MS: '2000',
        BATCH_STALLED_INTERVAL_MS: '1000',
      },
      clock,
    );
    const reader = otherWriter(names.CACHE_KEY_PREFIX, clock);
    await waitFor(async () => (await reader.peek([price('LOCK')]))[0] !== undefined, {
      timeoutMs: 15_000,
      description: 'the request redelivered to the live replica and written',
    });
    expect(app.worker.worker.opts).toMatchObject({ lockDuration: 2_000, stalledInterval: 1_000 });
    // The take-over is counted by the replica that found it.
    expect(
      readSample(await app.registry.metrics(), 'fiml_queue_jobs_stalled_total', {
        queue: QueueName.REFRESH,
      }),
    ).toBe(1);
  }, 60_000);
});

describe('intake', () => {
  it('completes a refresh job only behind its add, on the same connection: Redis stores the keys before the job reads as done', async () => {
    const clock = new ManualClock(T1); // frozen, a long interval: the keys stay pending
    const sim = await simServer(clock);
    const { app, producer } = scheduler(
      { SIM_PROVIDER_URL: sim.url, CACHE_BATCH_INTERVAL: '600' },
      clock,
    );
    await app.worker.worker.waitUntilReady();
    // Every command the redis-server runs, in the order it runs them, with the client that sent it.
    const client = redis('test-monitor');
    if (!(client instanceof Redis)) throw new Error('MONITOR needs a standalone redis-server');
    const monitor = await client.monitor();
    open.push(() => Promise.resolve(monitor.disconnect()));
    const seen: { args: string[]; client: string }[] = [];
    monitor.on('monitor', (_time: string, args: string[], client: string) =>
      seen.push({ args, client }),
    );
    const completed = new Promise<string>((resolve) =>
      app.worker.worker.once('completed', (job) => resolve(job.id!)),
    );
    await producer.enqueueRefresh({
      symbols: ['ORDR'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    const jobId = await completed;
    expect((await app.scheduler!.pendingKeys()).map((g) => g.keys)).toEqual([1]);

    // The add: the script call that carries the symbol. The completion: BullMQ's
    // moveToFinished, the script call that names the job and its 'completed' target.
    const script = (c: { args: string[] }) => /^eval(sha)?$/i.test(c.args[0] ?? '');
    const add = seen.findIndex((c) => script(c) && c.args.includes('ORDR'));
    const done = seen.findIndex(
      (c) => script(c) && c.args.includes(jobId) && c.args.includes('completed'),
    );
    expect(add).toBeGreaterThanOrEqual(0);
    expect(done).toBeGreaterThan(add);
    expect(seen[done]!.client).toBe(seen[add]!.client);
  });

  it('reports a store failure that comes after its job completed: the job done, its keys failed in the intake event', async () => {
    const clock = new ManualClock(T1);
    const sim = await simServer(clock);
    const prefix = uniqueName('bs');
    const { app, producer } = scheduler(
      { SIM_PROVIDER_URL: sim.url, CACHE_BATCH_INTERVAL: '600', QUEUE_PREFIX: prefix },
      clock,
    );
    // The group's state hash replaced by a string: the add script fails with WRONGTYPE.
    await redis('test-corrupt').set(
      `${queuePrefix(prefix)}:sched:sim-equities:equity:price:state`,
      'x',
    );
    const intake = new Promise<unknown>((resolve) => app.scheduler!.once('intake', resolve));
    const completed = new Promise<unknown>((resolve) =>
      app.worker.worker.once('completed', (_job, result) => resolve(result)),
    );
    await producer.enqueueRefresh({
      symbols: ['LOST1', 'LOST2'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });
    expect(await completed).toMatchObject({ group: 'sim-equities:equity:price', accepted: 2 });
    expect(await intake).toEqual({
      provider: 'sim-equities',
      dataType: 'price',
      queued: 0,
      merged: 0,
      inFlight: 0,
      fresh: 0,
      failed: 2,
    });
  });
});
