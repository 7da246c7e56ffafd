import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createMetricsRegistry } from '@fiml/runtime';
import { checkMetrics, findPromtool, readSample } from '@fiml/observability/promtool';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { freePort, startServiceProcess, testRedisUrl, uniqueName, waitFor } from '@fiml/testing';
import { asClient, startHarness, type Harness } from './harness.js';

const open: (() => Promise<unknown> | void)[] = [];
let h: Harness | undefined;
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
  await h?.close();
  h = undefined;
});

const promtool = findPromtool();
if (!promtool) {
  process.stdout.write(
    'promtool not found (Debian package "prometheus"; .ci/run installs it): skipping the api /metrics lint\n',
  );
}

const refreshBody = { dataType: 'price', assetType: 'equity', symbols: ['AAPL', 'MSFT'] };

(promtool ? describe : describe.skip)('the api /metrics', () => {
  it('after a refresh and reads, exports queue and cache series that pass promtool check metrics', async () => {
    const registry = createMetricsRegistry({ service: 'api' });
    // Queue, cache and provider metrics are wired by createApi, as in production.
    h = await startHarness({ registry });

    const refresh = await h.app.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload: refreshBody,
    });
    expect(refresh.statusCode).toBe(202);
    expect((await h.app.inject('/v1/data/price/AAPL')).statusCode).toBe(200);
    expect((await h.app.inject('/v1/data/price/AAPL')).statusCode).toBe(200);

    const res = await h.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    const text = res.body;
    const api = { service: 'api' };
    // A normal-priority refresh waits in the prioritized set until a worker takes it.
    expect(
      readSample(text, 'fiml_queue_jobs', { ...api, queue: 'refresh', state: 'prioritized' }),
    ).toBe(1);
    expect(
      readSample(text, 'fiml_cache_hits_total', { ...api, data_type: 'price', cache_level: 'l1' }),
    ).toBe(1);
    expect(
      readSample(text, 'fiml_cache_misses_total', {
        ...api,
        data_type: 'price',
        cache_level: 'l2',
      }),
    ).toBe(1);
    expect(
      readSample(text, 'fiml_cache_latency_seconds_count', {
        ...api,
        data_type: 'price',
        cache_level: 'miss',
      }),
    ).toBe(1);
    expect(readSample(text, 'fiml_cache_entries', { ...api, cache_level: 'l1' })).toBe(1);
    // One coalesced read-through fetch, labelled with the loader id.
    expect(readSample(text, 'fiml_batch_size_count', { ...api, provider: 'equity:price' })).toBe(1);

    expect(await checkMetrics(text, promtool!)).toEqual({ exitCode: 0, problems: [] });
  });

  it('from the real process: what main.ts wires passes promtool check metrics', async () => {
    const sim = await startSimulatedProviderServer({ seed: 11, failureRate: 0 });
    open.push(() => sim.close());
    const port = await freePort();
    const key = 'metrics-test-key-0123456789';
    const proc = startServiceProcess({
      entry: join(__dirname, '../src/main.ts'),
      cwd: join(__dirname, '..'),
      env: {
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        REDIS_QUEUE_URL: testRedisUrl(),
        REDIS_CACHE_URL: testRedisUrl(),
        QUEUE_PREFIX: uniqueName('api'),
        CACHE_KEY_PREFIX: uniqueName('api'),
        API_KEYS: `metrics:${key}`,
        SIM_PROVIDER_URL: sim.url,
      },
    });
    open.push(() => proc.kill());
    await proc.waitForLog((r) => r.msg === 'api ready');
    const base = `http://127.0.0.1:${port}`;
    const posted = await fetch(`${base}/v1/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(refreshBody),
    });
    expect(posted.status).toBe(202);
    expect((await fetch(`${base}/v1/data/price/AAPL`)).status).toBe(200);

    // The first scrape may come before the producer connection is ready.
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${base}/metrics`)).text();
        return readSample(body, 'fiml_queue_jobs', { queue: 'refresh', state: 'prioritized' }) === 1
          ? body
          : undefined;
      },
      { timeoutMs: 10_000, description: 'refresh queue counts on /metrics' },
    );
    expect(await checkMetrics(text, promtool!)).toEqual({ exitCode: 0, problems: [] });
    // Wired to the port the process listens on: nothing waits to be accepted now (Linux; NaN elsewhere).
    expect(readSample(text, 'fiml_http_accept_queue_connections')).toBe(
      existsSync('/proc/net/tcp') ? 0 : Number.NaN,
    );
  });
});
