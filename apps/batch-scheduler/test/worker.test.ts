import { afterEach, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ManualClock } from '@fiml/market';
import { createLogger, createRedisConnection } from '@fiml/runtime';
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
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

function producer(prefix: string): RefreshProducer {
  const connection = createRedisConnection(testRedisUrl(), {
    role: 'producer',
    name: 'test-p',
    logger,
  });
  open.push(() => Promise.resolve(connection.disconnect()));
  const p = new RefreshProducer({ connection, prefix });
  open.push(() => p.close());
  return p;
}

describe('the batch-scheduler process', () => {
  let service: ServiceProcess | undefined;
  afterEach(() => {
    service?.kill();
    service = undefined;
  });

  const start = (env: Record<string, string>) =>
    (service = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env,
    }));

  it('serves /readyz and /metrics, refreshes requests, and exits 0 on SIGTERM', async () => {
    const prefix = uniqueName('bs');
    const sim = await startSimulatedProviderServer({
      seed: 'process',
      clock: new ManualClock('2026-11-24T11:00:00-05:00'),
      failureRate: 0,
    });
    open.push(() => sim.close());
    const proc = start({
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      SIM_PROVIDER_URL: sim.url,
      CACHE_KEY_PREFIX: uniqueName('c'),
      QUEUE_PREFIX: prefix,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    const ready = await proc.waitForLog((r) => r.msg === 'batch-scheduler ready');
    const metricsUrl = ready.metrics as string;
    // "ready" means listening; /readyz turns 200 once the queue Redis connection is up.
    await waitFor(
      async () => (await fetch(metricsUrl.replace('/metrics', '/readyz'))).status === 200,
      {
        description: '/readyz 200',
      },
    );
    expect(await (await fetch(metricsUrl)).text()).toContain('service="batch-scheduler"');

    const { jobId } = await producer(prefix).enqueueRefresh({
      symbols: ['AAPL'],
      assetType: 'equity',
      dataType: 'fundamentals',
      source: 'test',
    });
    await proc.waitForLog((r) => r.msg === 'refresh request received' && r.jobId === jobId);
    const grouped = await proc.waitForLog(
      (r) => r.msg === 'refresh request grouped' && r.jobId === jobId,
    );
    expect(grouped).toMatchObject({ group: 'sim-reference:equity:fundamentals', accepted: 1 });
    const done = await proc.waitForLog((r) => r.msg === 'batch done');
    expect(done).toMatchObject({ keys: 1, upstreamCalls: 1, written: 1, failed: 0 });

    proc.child.kill('SIGTERM');
    await expect(proc.exited).resolves.toEqual({ code: 0, signal: null });
    const steps = proc.logs.filter((r) => r.msg === 'closed').map((r) => r.step);
    expect(steps).toEqual([
      'ops server',
      'refresh worker',
      'batch scheduler',
      'refresh queue',
      'queue redis',
      'cache redis',
      'batch-scheduler',
    ]);
  });

  it('exits 1 listing every invalid variable', async () => {
    const proc = start({ WORKER_CONCURRENCY: 'lots', METRICS_PORT: 'x' });
    await expect(proc.exited).resolves.toEqual({ code: 1, signal: null });
    expect(proc.stderr()).toContain(
      'Invalid configuration for batch-scheduler: 4 variables to fix.',
    );
    expect(proc.stderr()).toMatch(/REDIS_QUEUE_URL: is required/);
    expect(proc.stderr()).toMatch(/REDIS_CACHE_URL: is required/);
    expect(proc.stderr()).toMatch(/METRICS_PORT: "x" is invalid/);
    expect(proc.stderr()).toMatch(/WORKER_CONCURRENCY: "lots" is invalid/);
  });

  it('exits 1 when a route names a provider it has no key for, with nothing left open', async () => {
    const proc = start({
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      METRICS_PORT: '0',
      PROVIDER_ROUTES: 'equity:price=polygon',
    });
    await expect(proc.exited).resolves.toEqual({ code: 1, signal: null });
    const fatal = proc.logs.find((r) => r.msg === 'could not build the batch-scheduler');
    expect(fatal).toBeDefined();
    expect(JSON.stringify(fatal)).toContain('POLYGON_API_KEY is required');
  });
});
