import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ManualClock } from '@fiml/market';
import { createLogger, createRedisConnection } from '@fiml/runtime';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { RefreshProducer } from '@fiml/queue';
import {
  startServiceProcess,
  testRedisUrl,
  uniqueName,
  waitFor,
  type ServiceProcess,
} from '@fiml/testing';

const logger = createLogger({ service: 'test', level: 'silent' });
const open: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const promtool = findPromtool();
if (!promtool) {
  process.stdout.write(
    'promtool not found (Debian package "prometheus"; .ci/run installs it): skipping the batch-scheduler /metrics lint\n',
  );
}

(promtool ? describe : describe.skip)('the batch-scheduler /metrics', () => {
  it('exports the refresh queue and worker series, and passes promtool check metrics', async () => {
    const prefix = uniqueName('bs');
    const sim = await startSimulatedProviderServer({
      seed: 'metrics',
      clock: new ManualClock('2026-11-24T11:00:00-05:00'),
      failureRate: 0,
    });
    open.push(() => sim.close());
    const proc: ServiceProcess = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        SIM_PROVIDER_URL: sim.url,
        CACHE_KEY_PREFIX: uniqueName('c'),
        QUEUE_PREFIX: prefix,
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        CACHE_BATCH_INTERVAL: '0',
      },
    });
    open.push(() => proc.kill());
    const ready = await proc.waitForLog((r) => r.msg === 'batch-scheduler ready');
    const metricsUrl = ready.metrics as string;

    const connection = createRedisConnection(testRedisUrl(), {
      role: 'producer',
      name: 'test-p',
      logger,
    });
    open.push(() => connection.disconnect());
    const producer = new RefreshProducer({ connection, prefix });
    open.push(() => producer.close());
    await producer.enqueueRefresh({
      symbols: ['AAPL', 'MSFT'],
      assetType: 'equity',
      dataType: 'price',
      source: 'test',
    });

    const queue = { queue: 'refresh', service: 'batch-scheduler' };
    // The batch-scheduler's own queue for the provider: one job per upstream call.
    const batchQueue = { queue: 'refresh-batch-sim-equities', service: 'batch-scheduler' };
    const text = await waitFor(
      async () => {
        const body = await (await fetch(metricsUrl)).text();
        const accepted = readSample(body, 'fiml_queue_jobs_completed_total', queue) === 1;
        const written = readSample(body, 'fiml_cache_writes_total', {
          service: 'batch-scheduler',
          writer: 'scheduler',
          outcome: 'written',
        });
        const flushed = readSample(body, 'fiml_batch_size_count', {
          service: 'batch-scheduler',
          provider: 'sim-equities',
        });
        // The batch job's completion is recorded after its writes.
        const batchDone = readSample(body, 'fiml_queue_jobs_completed_total', batchQueue) === 1;
        return accepted && written === 2 && flushed === 1 && batchDone ? body : undefined;
      },
      { timeoutMs: 15_000, description: 'the refresh job accepted and its batch written' },
    );
    expect(readSample(text, 'fiml_queue_jobs', { ...queue, state: 'waiting' })).toBe(0);
    expect(readSample(text, 'fiml_queue_jobs', { ...queue, state: 'active' })).toBeDefined();
    expect(readSample(text, 'fiml_queue_jobs_failed_total', { ...queue, final: 'true' })).toBe(0);
    expect(readSample(text, 'fiml_queue_job_wait_seconds_count', queue)).toBe(1);
    expect(readSample(text, 'fiml_queue_job_run_seconds_count', queue)).toBe(1);
    expect(readSample(text, 'fiml_queue_jobs_stalled_total', queue)).toBe(0);
    // The batch queue and its worker are exported as the refresh queue is.
    expect(readSample(text, 'fiml_queue_jobs', { ...batchQueue, state: 'completed' })).toBe(1);
    expect(readSample(text, 'fiml_queue_jobs', { ...batchQueue, state: 'waiting' })).toBe(0);
    expect(readSample(text, 'fiml_queue_jobs_failed_total', { ...batchQueue, final: 'true' })).toBe(
      0,
    );
    expect(readSample(text, 'fiml_queue_job_run_seconds_count', batchQueue)).toBe(1);
    expect(readSample(text, 'fiml_queue_jobs_stalled_total', batchQueue)).toBe(0);
    expect(
      readSample(text, 'fiml_queue_jobs_completed_total', {
        queue: 'refresh-batch-sim-crypto',
        service: 'batch-scheduler',
      }),
    ).toBe(0);
    // One upstream call for the two symbols, both written by the scheduler.
    const service = { service: 'batch-scheduler' };
    expect(
      readSample(text, 'fiml_provider_requests_total', {
        ...service,
        provider: 'sim-equities',
        data_type: 'price',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      readSample(text, 'fiml_cache_writes_total', {
        ...service,
        writer: 'scheduler',
        outcome: 'written',
      }),
    ).toBe(2);
    expect(
      readSample(text, 'fiml_cache_errors_total', {
        ...service,
        component: 'writer',
        operation: 'set',
      }),
    ).toBe(0);
    // One batch of two keys: one call, one saved.
    const provider = { ...service, provider: 'sim-equities' };
    expect(readSample(text, 'fiml_batch_size_count', provider)).toBe(1);
    expect(readSample(text, 'fiml_batch_size_sum', provider)).toBe(2);
    expect(readSample(text, 'fiml_batch_upstream_calls_saved_total', provider)).toBe(1);
    // What intake made of the request's keys, counted once the add replied (after the job).
    const intake = (outcome: string) =>
      readSample(text, 'fiml_batch_intake_keys_total', { ...provider, outcome });
    expect([intake('queued'), intake('merged'), intake('fresh'), intake('failed')]).toEqual([
      2, 0, 0, 0,
    ]);
    // What the batch made of them.
    const batchKeys = (outcome: string) =>
      readSample(text, 'fiml_batch_keys_total', { ...provider, outcome });
    expect([batchKeys('written'), batchKeys('retrying'), batchKeys('failed')]).toEqual([2, 0, 0]);
    // The write side only: no read-path families (hits, latency, circuit) in this process.
    const cacheFamilies = [...text.matchAll(/^# TYPE (fiml_cache_\w+)/gm)].map((m) => m[1]);
    expect(cacheFamilies.sort()).toEqual(['fiml_cache_errors_total', 'fiml_cache_writes_total']);

    expect(await checkMetrics(text, promtool!)).toEqual({ exitCode: 0, problems: [] });
  });
});
