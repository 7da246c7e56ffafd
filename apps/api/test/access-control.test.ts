import { afterEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { queuePrefix } from '@fiml/queue';
import { createRedisConnection } from '@fiml/runtime';
import { testRedisUrl, uniqueName, waitFor } from '@fiml/testing';
import { ADMIN_KEY, CLIENT_KEY, asClient, logger, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const refresh = { dataType: 'price', assetType: 'equity', symbols: ['AAPL'] };
const basic = (key: string) => ({
  authorization: `Basic ${Buffer.from(`ops:${key}`).toString('base64')}`,
});

describe('API keys', () => {
  it('guards POST with a key, accepting it as X-API-Key, Bearer or the admin key', async () => {
    h = await startHarness();
    const post = (headers: Record<string, string>) =>
      h!.app.inject({ method: 'POST', url: '/v1/refresh', headers, payload: refresh });
    const none = await post({});
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: { code: 'FIML_UNAUTHORIZED' } });
    expect((await post({ 'x-api-key': 'not-a-key-at-all-123' })).json()).toMatchObject({
      error: { message: 'the API key is not valid' },
    });
    expect((await post(asClient)).statusCode).toBe(202);
    expect((await post({ authorization: `Bearer ${CLIENT_KEY}` })).statusCode).toBe(202);
    expect((await post({ 'x-api-key': ADMIN_KEY })).statusCode).toBe(202);
  });

  it('leaves reads open by default and keys them when configured', async () => {
    h = await startHarness({ env: { API_READS_REQUIRE_KEY: 'true' } });
    expect((await h.app.inject('/v1/data/price/AAPL')).statusCode).toBe(401);
    const keyed = await h.app.inject({ url: '/v1/data/price/AAPL', headers: asClient });
    expect(keyed.statusCode).toBe(200);
    expect(keyed.headers['cache-control']).toMatch(/^private, /);
    expect((await h.app.inject('/healthz')).statusCode).toBe(200);
  });
});

describe('queue dashboard', () => {
  it('asks for credentials, then shows every queue of the deployment, including ones it does not know', async () => {
    // A queue another service of the deployment created before the api started.
    const prefix = uniqueName('api');
    const connection = createRedisConnection(testRedisUrl(), {
      role: 'worker',
      name: 'test-foreign',
      logger,
    });
    const foreign = new Queue('reports', { connection, prefix: queuePrefix(prefix) });
    await foreign.add('nightly', { x: 1 });
    await foreign.close();
    connection.disconnect();
    h = await startHarness({ env: { QUEUE_PREFIX: prefix } });

    const anonymous = await h.app.inject('/admin/queues');
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic realm="fiml-cache admin"');

    const page = await h.app.inject({ url: '/admin/queues', headers: basic(CLIENT_KEY) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);

    const api = await h.app.inject({ url: '/admin/queues/api/queues', headers: asClient });
    expect(api.statusCode).toBe(200);
    const names = api
      .json<{ queues: { name: string; description: string }[] }>()
      .queues.map((q) => q.name);
    expect(names).toEqual(expect.arrayContaining(['refresh', 'warm', 'reports']));
  });

  it('is read-only without the admin key', async () => {
    h = await startHarness();
    const pause = (headers: Record<string, string>) =>
      h!.app.inject({ method: 'PUT', url: '/admin/queues/api/queues/refresh/pause', headers });
    expect((await pause(asClient)).statusCode).toBe(403);
    expect((await pause({ 'x-api-key': ADMIN_KEY })).statusCode).toBe(200);
    const paused = new Queue('refresh', {
      connection: h.queueRedis,
      prefix: queuePrefix(h.prefix),
    });
    expect(await paused.isPaused()).toBe(true);
    await paused.close();
  });
});

describe('limits', () => {
  it('limits requests per key across instances (through Redis) and answers 429 with Retry-After', async () => {
    // Two instances of one deployment: the same cache key prefix, so one budget per key.
    const env = { API_RATE_LIMIT_PER_MINUTE: '3', CACHE_KEY_PREFIX: uniqueName('rl') };
    h = await startHarness({ env });
    const other = await startHarness({ env });
    try {
      const answers = [];
      for (const app of [h.app, other.app, h.app, other.app]) {
        answers.push(await app.inject({ url: '/v1/data/price/AAPL', headers: asClient }));
      }
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 429]);
      // Every answer says where the client stands. Across instances "remaining" counts what
      // the others leased as spent (see LeasedRateLimit), so only its ends are exact.
      const remaining = answers.map((a) => Number(a.headers['x-ratelimit-remaining']));
      expect(remaining[0]).toBe(2);
      expect(remaining[3]).toBe(0);
      expect(remaining.every((r) => r >= 0 && r <= 2)).toBe(true);
      expect(answers.every((a) => a.headers['x-ratelimit-limit'] === '3')).toBe(true);
    } finally {
      await other.close();
    }
    const limited = await h.app.inject({ url: '/v1/data/price/AAPL', headers: asClient });
    expect(limited.json()).toMatchObject({ error: { code: 'FIML_RATE_LIMITED' } });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers).toMatchObject({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(retryAfter),
    });
    // Another key has its own budget; operations routes have none.
    expect(
      (await h.app.inject({ url: '/v1/data/price/AAPL', headers: { 'x-api-key': ADMIN_KEY } }))
        .statusCode,
    ).toBe(200);
    for (let i = 0; i < 5; i++) expect((await h.app.inject('/healthz')).statusCode).toBe(200);
  });

  it('counts requests in the limit key space of the cache Redis, apart from entries', async () => {
    h = await startHarness({ env: { API_RATE_LIMIT_PER_MINUTE: '100' } });
    expect((await h.app.inject({ url: '/v1/data/price/AAPL', headers: asClient })).statusCode).toBe(
      200,
    );
    const keys = await h.cacheRedis.keys(`${h.prefix}:*`);
    // One counter per client and minute (numbered from the epoch on the api's clock).
    const minute = Math.floor(h.clock.now() / 60_000);
    expect(keys).toContain(`${h.prefix}:v2:limit:${minute}:key:client`);
    expect(keys.filter((k) => !/^[^:]+:v2:(e|limit|access|lock):/.test(k))).toEqual([]);
  });

  it('answers 503 with Retry-After when the event loop is overloaded, but still answers /healthz', async () => {
    // under-pressure samples the loop's delay every interval (the mean over it, less its
    // 10 ms resolution) and holds the verdict until the next sample: a long interval keeps
    // the verdict for the requests below, whatever else runs on the machine.
    h = await startHarness({
      env: { API_MAX_EVENT_LOOP_DELAY_MS: '1' },
      pressureSampleIntervalMs: 500,
    });
    await h.app.ready();
    // Block the event loop well past the limit: the interval's mean delay is at least
    // (300 - 10) / 51 ms, whatever samples came before.
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // busy: this is the overload under test
    }
    await waitFor(() => h!.app.isUnderPressure(), {
      timeoutMs: 5_000,
      description: 'the sample after the block',
    });
    const res = await h.app.inject('/v1/data/price/AAPL');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ error: { code: 'FIML_OVERLOADED' } });
    expect((await h.app.inject('/healthz')).statusCode).toBe(200);
    // Not ready while it cannot answer reads in time: a load balancer sends them elsewhere.
    const readyz = await h.app.inject('/readyz');
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toMatchObject({ ok: false, status: 'overloaded' });
  });
});

describe('OpenAPI', () => {
  it('documents every route at /docs', async () => {
    h = await startHarness();
    const spec = (await h.app.inject('/docs/json')).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/v1/data/{dataType}/{symbol}',
        '/v1/data/{dataType}',
        '/v1/refresh',
        '/v1/cache/{dataType}/{symbol}',
      ]),
    );
    expect((await h.app.inject('/docs')).statusCode).toBeLessThan(400);
  });
});
