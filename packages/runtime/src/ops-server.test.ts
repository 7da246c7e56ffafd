import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, createMetricsRegistry, startOpsServer, type OpsServer } from './index.js';

const silent = createLogger({
  service: 'test',
  destination: new Writable({ write: (_c, _e, cb) => cb() }),
});

describe('metrics registry', () => {
  it('collects default runtime metrics with the service label, per registry', async () => {
    const a = createMetricsRegistry({ service: 'api' });
    const b = createMetricsRegistry({ service: 'warmer', defaultMetrics: false });
    const text = await a.metrics();
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="api"\} /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{service="api"\} /m);
    // Gauges named like counters are dropped (promtool rejects them); the per-type gauges stay.
    expect(text).not.toMatch(/^nodejs_active_handles_total/m);
    expect(text).toMatch(/^nodejs_active_handles\{/m);
    expect(await b.metrics()).toBe('\n');
  });
});

describe('startOpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready: { queue: boolean; cache: 'ok' | 'down' | 'throws' }) {
    server = await startOpsServer({
      registry: createMetricsRegistry({ service: 'batch-scheduler' }),
      logger: silent,
      host: '127.0.0.1',
      readiness: {
        queueRedis: () => Promise.resolve({ ok: ready.queue, latencyMs: 1 }),
        cacheRedis: () =>
          ready.cache === 'throws'
            ? Promise.reject(new Error('connect ECONNREFUSED'))
            : Promise.resolve({ ok: ready.cache === 'ok' }),
      },
    });
    return server;
  }

  it('serves Prometheus text at /metrics', async () => {
    const { url } = await start({ queue: true, cache: 'ok' });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('process_resident_memory_bytes{service="batch-scheduler"}');
  });

  it('answers /healthz while alive and /readyz 200 only when every check passes', async () => {
    const { url } = await start({ queue: true, cache: 'ok' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      ok: true,
      checks: { queueRedis: { ok: true, latencyMs: 1 }, cacheRedis: { ok: true } },
    });
  });

  it('answers /readyz 503 naming the failed check, even when a check throws', async () => {
    const { url } = await start({ queue: true, cache: 'throws' });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ok: false,
      checks: {
        queueRedis: { ok: true, latencyMs: 1 },
        cacheRedis: { ok: false, error: 'connect ECONNREFUSED' },
      },
    });
  });

  it('answers unknown routes with a JSON 404 and other methods with 405', async () => {
    const { url } = await start({ queue: false, cache: 'down' });
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'FIML_NOT_FOUND', message: 'No route GET /nope' },
    });
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
