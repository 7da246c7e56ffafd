// The hot reads (src/hot-reads.ts) answer L1 hits of GET /v1/data/:dataType/:symbol before
// Fastify routes them. They are only in the HTTP server's request listener: `app.inject()`
// goes straight to Fastify's router, so it gives the route's own answer to compare with.
import { afterEach, describe, expect, it } from '@jest/globals';
import { readSample } from '@fiml/observability/promtool';
import { capturingLogger } from '@fiml/runtime/testing';
import { ADMIN_KEY, CLIENT_KEY, asClient, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function listening(harness: Harness): Promise<string> {
  await harness.app.listen({ host: '127.0.0.1', port: 0 });
  const address = harness.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

async function get(url: string, headers: Record<string, string> = asClient) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

/** A response's headers without those that differ between any two answers (time, id, count). */
function stable(headers: Record<string, string>): Record<string, string> {
  const {
    date: _date,
    'x-request-id': _id,
    'x-ratelimit-remaining': _remaining,
    'x-ratelimit-reset': _reset,
    ...rest
  } = headers;
  return rest;
}

/** Counts the route's reads: a request the hot reads answer never reaches `cache.read`. */
function routeReads(harness: Harness): () => number {
  const read = harness.cache.read.bind(harness.cache);
  let calls = 0;
  harness.cache.read = (...args: Parameters<typeof read>) => {
    calls += 1;
    return read(...args);
  };
  return () => calls;
}

const metric = async (harness: Harness, name: string, labels: Record<string, string>) =>
  readSample((await harness.app.inject('/metrics')).body, name, labels) ?? 0;

describe('hot reads: L1 hits answered before routing', () => {
  it('answer as the route answers, and are counted once where the route counts', async () => {
    h = await startHarness();
    const base = await listening(h);
    const reads = routeReads(h);
    const path = '/v1/data/price/AAPL';

    const miss = await get(`${base}${path}`);
    expect(miss.status).toBe(200);
    expect(JSON.parse(miss.text)).toMatchObject({ symbol: 'AAPL', cache: 'miss' });

    const route = await h.app.inject({ url: path, headers: asClient });
    const hot = await get(`${base}${path}`);
    expect(hot.status).toBe(200);
    expect(hot.text).toBe(route.body);
    expect(JSON.parse(hot.text)).toMatchObject({ cache: 'l1' });
    expect(stable(hot.headers)).toEqual(
      stable({
        ...(route.headers as Record<string, string>),
        // inject does not add the connection headers Node's server writes.
        connection: 'keep-alive',
        'keep-alive': 'timeout=72',
      }),
    );
    expect(hot.headers['x-request-id']).toMatch(/^[A-Za-z0-9_-]{12}-[0-9a-z]+$/);
    expect(Number(hot.headers['x-ratelimit-remaining'])).toBeLessThan(
      Number(route.headers['x-ratelimit-remaining']),
    );

    const hits = () =>
      metric(h!, 'fiml_cache_hits_total', { data_type: 'price', cache_level: 'l1' });
    const responses = () =>
      metric(h!, 'fiml_http_requests_total', {
        route: '/v1/data/:dataType/:symbol',
        method: 'GET',
        status_code: '200',
      });
    const [hitsBefore, responsesBefore] = [await hits(), await responses()];
    const readsBefore = reads();
    for (let i = 0; i < 5; i++) expect((await get(`${base}${path}`)).status).toBe(200);
    expect(reads() - readsBefore).toBe(0);
    expect((await hits()) - hitsBefore).toBe(5);
    expect((await responses()) - responsesBefore).toBe(5);
  });

  it('take the request limit as the route does: what they counted is not counted again', async () => {
    h = await startHarness({ env: { API_RATE_LIMIT_PER_MINUTE: '4' } });
    const base = await listening(h);
    // A miss (handed over after the hot reads counted it), then hits, then the refusal.
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await get(`${base}/v1/data/price/MSFT`));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429]);
    expect(answers.map((a) => a.headers['x-ratelimit-remaining'])).toEqual([
      '3',
      '2',
      '1',
      '0',
      '0',
    ]);
    expect(JSON.parse(answers[1]!.text)).toMatchObject({ cache: 'l1' });
    expect(JSON.parse(answers[4]!.text)).toMatchObject({ error: { code: 'FIML_RATE_LIMITED' } });
    // Another key: its own count.
    expect((await get(`${base}/v1/data/price/MSFT`, { 'x-api-key': ADMIN_KEY })).status).toBe(200);
  });

  it('leave everything else to the route: its validation, 304s, keys, not-found, other forms', async () => {
    h = await startHarness({ env: { API_READS_REQUIRE_KEY: 'true' } });
    const base = await listening(h);
    const first = await get(`${base}/v1/data/price/aapl`);
    expect(JSON.parse(first.text)).toMatchObject({ symbol: 'AAPL' });
    // Lower case is the same symbol, answered hot and upper-cased.
    expect(JSON.parse((await get(`${base}/v1/data/price/aapl`)).text)).toMatchObject({
      symbol: 'AAPL',
      cache: 'l1',
    });
    const etag = first.headers.etag!;
    expect(
      (await get(`${base}/v1/data/price/AAPL`, { ...asClient, 'if-none-match': etag })).status,
    ).toBe(304);
    expect((await get(`${base}/v1/data/price/AAPL`, {})).status).toBe(401);
    expect(
      (await get(`${base}/v1/data/price/AAPL`, { 'x-api-key': 'wrong-key-0123456789' })).status,
    ).toBe(401);
    // Bearer and Basic keys are the same client.
    expect(
      (await get(`${base}/v1/data/price/AAPL`, { authorization: `Bearer ${CLIENT_KEY}` })).status,
    ).toBe(200);
    expect(JSON.parse((await get(`${base}/v1/data/price/BAD!SYMBOL`)).text)).toMatchObject({
      error: { code: 'FIML_VALIDATION' },
    });
    expect((await get(`${base}/v1/data/quotes/AAPL`)).status).toBe(400);
    // Crypto through the query string: hot once cached.
    await get(`${base}/v1/data/price/BTC?assetType=crypto`);
    expect(
      JSON.parse((await get(`${base}/v1/data/price/BTC?assetType=crypto`)).text),
    ).toMatchObject({
      assetType: 'crypto',
      cache: 'l1',
    });
    expect((await get(`${base}/v1/data/price/BTC?assetType=bond`)).status).toBe(400);
    // A symbol the provider does not know: negative-cached, then found in L1 and handed over.
    const reads = routeReads(h);
    const unknown = await get(`${base}/v1/data/price/ZZZZZZ`);
    expect(unknown.status).toBe(404);
    expect(reads()).toBe(1);
    const again = await get(`${base}/v1/data/price/ZZZZZZ`);
    // Read once, by the hot reads, which found it in L1 and handed it to the route.
    expect(reads()).toBe(1);
    expect(again.status).toBe(404);
    expect(JSON.parse(again.text)).toMatchObject({ error: { code: 'FIML_SYMBOL_NOT_FOUND' } });
    // HEAD is Fastify's.
    expect(
      (await fetch(`${base}/v1/data/price/AAPL`, { method: 'HEAD', headers: asClient })).status,
    ).toBe(200);
  });

  it('hand a route no provider serves to the route, which refuses it (the listener never throws)', async () => {
    h = await startHarness({
      env: { PROVIDER_ROUTES: 'equity:price=sim-equities;*:fundamentals=sim-reference' },
    });
    const base = await listening(h);
    for (let i = 0; i < 2; i++) {
      const unsupported = await get(`${base}/v1/data/price/BTC?assetType=crypto`);
      expect(unsupported.status).toBe(400);
      expect(JSON.parse(unsupported.text)).toMatchObject({ error: { code: 'FIML_UNSUPPORTED' } });
    }
    expect((await get(`${base}/v1/data/price/AAPL`)).status).toBe(200);
  });

  it('write the request log line Fastify writes, under the request id', async () => {
    const { logger, lines } = capturingLogger({ level: 'info', service: 'api' });
    h = await startHarness({ logger });
    const base = await listening(h);
    await get(`${base}/v1/data/price/AAPL`, { ...asClient, 'x-request-id': 'cold-1' });
    const hot = await get(`${base}/v1/data/price/AAPL`, { ...asClient, 'x-request-id': 'hot-1' });
    expect(JSON.parse(hot.text)).toMatchObject({ cache: 'l1' });
    expect(hot.headers['x-request-id']).toBe('hot-1');
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(2);
    const shape = (l: Record<string, unknown>) => Object.keys(l).sort();
    expect(shape(requests[1]!)).toEqual(shape(requests[0]!));
    expect(requests[1]).toMatchObject({
      reqId: 'hot-1',
      method: 'GET',
      url: '/v1/data/price/AAPL',
      statusCode: 200,
      key: 'client',
    });
  });
});
