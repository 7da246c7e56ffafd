import { afterEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { QueueName, queuePrefix } from '@fiml/queue';
import { startRedisServer, waitFor } from '@fiml/testing';
import { asClient, startHarness, type Harness, type HarnessOptions } from './harness.js';
const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** The api as createApi builds it, and a handle on its refresh queue to see what it enqueued. */
async function realApi(options: HarnessOptions = {}): Promise<{ h: Harness; inspector: Queue }> {
  const h = await startHarness(options);
  open.push(() => h.close());
  const inspector = new Queue(QueueName.REFRESH, {
    connection: h.queueRedis,
    prefix: queuePrefix(h.prefix),
  });
  // The queue Redis may be killed by the test: its errors are expected.
  inspector.on('error', () => undefined);
  open.push(() => inspector.close());
  return { h, inspector };
}

describe('POST /v1/refresh', () => {
  it('validates, normalizes and enqueues the request, answering 202', async () => {
    const { h, inspector } = await realApi();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload: {
        dataType: 'price',
        assetType: 'equity',
        symbols: ['aapl', 'MSFT', 'AAPL'],
        priority: 'urgent',
      },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ accepted: number; deduplicated: number; requestIds: string[] }>();
    expect(body).toEqual({ accepted: 2, deduplicated: 1, requestIds: [expect.any(String)] });

    const job = await inspector.getJob(body.requestIds[0]!);
    expect(job?.data).toEqual({
      dataType: 'price',
      assetType: 'equity',
      symbols: ['AAPL', 'MSFT'],
      priority: 'urgent',
      source: 'api',
    });
    expect(job?.opts.priority).toBe(1);
  });

  it('answers 400 naming every bad field, and enqueues nothing', async () => {
    const { h, inspector } = await realApi();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload: {
        dataType: 'quotes',
        assetType: 'equity',
        symbols: ['AAPL', 'DROP TABLE'],
        extra: 1,
      },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{
      error: { code: string; fields: { path: string; message: string }[] };
    }>();
    expect(body.error.code).toBe('FIML_VALIDATION');
    expect(body.error.fields.map((f) => f.path).sort()).toEqual(['', 'dataType', 'symbols.1']);
    expect(body.error.fields.find((f) => f.path === '')?.message).toMatch(/extra/);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(await inspector.count()).toBe(0);
  });

  it.each([
    [
      'no symbols',
      { dataType: 'price', assetType: 'crypto', symbols: [] },
      'symbols',
      'at least one symbol',
    ],
    [
      'too many symbols',
      {
        dataType: 'price',
        assetType: 'crypto',
        symbols: Array.from({ length: 501 }, (_, i) => `S${i}`),
      },
      'symbols',
      'at most 500 symbols',
    ],
    [
      'a missing asset type',
      { dataType: 'news', symbols: ['BTC'] },
      'assetType',
      'one of equity, crypto',
    ],
    [
      'a deadline without offset',
      { dataType: 'news', assetType: 'crypto', symbols: ['BTC'], deadline: '2026-11-27T10:00:00' },
      'deadline',
      'an ISO 8601 instant with offset',
    ],
  ])('answers 400 for %s', async (_name, payload, path, message) => {
    const { h, inspector } = await realApi();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { fields: unknown[] } }>().error.fields).toContainEqual({
      path,
      message,
    });
    expect(await inspector.count()).toBe(0);
  });

  it('answers 400 for bad JSON, 415 for another media type and 413 for an oversized body', async () => {
    const { h, inspector } = await realApi();
    const api = h.app;
    const badJson = await api.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: { ...asClient, 'content-type': 'application/json' },
      payload: '{"dataType": "price",',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toMatchObject({ error: { code: 'FIML_BAD_JSON' } });

    const text = await api.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: { ...asClient, 'content-type': 'text/plain' },
      payload: 'AAPL',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: { code: 'FIML_UNSUPPORTED_MEDIA_TYPE' } });

    const huge = await api.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload: {
        dataType: 'price',
        assetType: 'equity',
        // Past the 64 KiB body limit.
        symbols: Array.from({ length: 12_000 }, () => 'AAPL'),
      },
    });
    expect(huge.statusCode).toBe(413);
    expect(await inspector.count()).toBe(0);
  });

  it('answers 503 with Retry-After when the queue Redis is down', async () => {
    const server = await startRedisServer();
    open.push(() => server.stop());
    const { h } = await realApi({ env: { REDIS_QUEUE_URL: server.url } });
    const payload = { dataType: 'price', assetType: 'equity', symbols: ['AAPL'] };
    expect(
      (await h.app.inject({ method: 'POST', url: '/v1/refresh', headers: asClient, payload }))
        .statusCode,
    ).toBe(202);
    await server.kill();
    const res = await h.app.inject({
      method: 'POST',
      url: '/v1/refresh',
      headers: asClient,
      payload,
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ error: { code: 'FIML_QUEUE_UNAVAILABLE' } });

    // The queue dashboard's data API says the same, in the same format, without a stack trace.
    const board = await h.app.inject({ url: '/admin/queues/api/queues', headers: asClient });
    expect(board.statusCode).toBe(503);
    expect(board.headers['retry-after']).toBeDefined();
    expect(board.json()).toEqual({
      error: { code: 'FIML_QUEUE_UNAVAILABLE', message: expect.any(String) },
      requestId: expect.any(String),
    });
  });
});

describe('operations routes', () => {
  it('serves /healthz, /metrics, and a JSON 404 for unknown routes', async () => {
    const api = (await realApi()).h.app;
    expect((await api.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const metrics = await api.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^process_cpu_user_seconds_total\{service="api"\}/m);
    const missing = await api.inject({
      method: 'GET',
      url: '/v2/nothing?x=1',
      headers: { 'x-request-id': 'abc-1' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      error: { code: 'FIML_NOT_FOUND', message: 'No route GET /v2/nothing' },
      requestId: 'abc-1',
    });
  });

  it('stays ready while a Redis role is down (reads still answer), says degraded, and ready again when it is back', async () => {
    const queueServer = await startRedisServer();
    open.push(() => queueServer.stop());
    const { h } = await realApi({ env: { REDIS_QUEUE_URL: queueServer.url } });
    const readyz = async () => {
      const res = await h.app.inject('/readyz');
      return {
        code: res.statusCode,
        ...res.json<{ status: string; checks: Record<string, { ok: boolean }> }>(),
      };
    };
    const check = async (check: string) => {
      const text = await h.registry.getSingleMetricAsString('fiml_readiness_check');
      return new RegExp(`fiml_readiness_check\\{[^}]*check="${check}"[^}]*\\} (\\d)`).exec(
        text,
      )?.[1];
    };

    await waitFor(async () => (await readyz()).status === 'ready', {
      description: 'ready at start',
    });
    expect(await check('queueRedis')).toBe('1');
    await queueServer.kill();
    await waitFor(async () => (await readyz()).status === 'degraded', {
      description: 'degraded after the kill',
    });
    const report = await readyz();
    expect(report.code).toBe(200);
    expect(report.checks.queueRedis?.ok).toBe(false);
    expect(report.checks.cacheRedis?.ok).toBe(true);
    expect(await check('queueRedis')).toBe('0');
    expect(await check('cacheRedis')).toBe('1');
    // What ready means: reads are served.
    expect((await h.app.inject('/v1/data/price/AAPL')).statusCode).toBe(200);

    await queueServer.start();
    await waitFor(async () => (await readyz()).status === 'ready', {
      timeoutMs: 10_000,
      description: 'ready after Redis is back',
    });
    expect(await check('queueRedis')).toBe('1');
  });
});
