import { afterEach, describe, expect, it } from '@jest/globals';
import { simulatedUniverse } from '@fiml/simulator';
import { AccessHistory, WarmLedger } from '@fiml/cache';
import { startRedisServer } from '@fiml/testing';
import { asClient, startHarness, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Datum {
  symbol: string;
  data: { price?: number; provider?: string };
  source: string;
  cache: string;
  fetchedAt: string;
  expiresAt: string;
}

describe('GET /v1/data/:dataType/:symbol', () => {
  it('reads through the cache: a miss, then L1, with Cache-Control from the remaining TTL and an ETag', async () => {
    h = await startHarness();
    const first = await h.app.inject('/v1/data/price/aapl');
    expect(first.statusCode).toBe(200);
    const body = first.json<Datum>();
    expect(body).toMatchObject({
      symbol: 'AAPL',
      assetType: 'equity',
      dataType: 'price',
      source: 'sim-equities',
      cache: 'miss',
      expiresAt: '2026-11-24T15:05:00.000Z',
    });
    expect(typeof body.data.price).toBe('number');
    expect(first.headers['cache-control']).toBe('public, max-age=300');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-z]+-sim-equities"$/);

    h.clock.advance(60_000);
    const second = await h.app.inject('/v1/data/price/AAPL');
    expect(second.json<Datum>()).toMatchObject({ cache: 'l1', data: body.data });
    expect(second.headers['cache-control']).toBe('public, max-age=240');

    const notModified = await h.app.inject({
      url: '/v1/data/price/AAPL',
      headers: { 'if-none-match': etag },
    });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    expect(h.calls).toHaveLength(1);
  });

  it('serves a stale value with max-age=0 once the value is past its freshness', async () => {
    h = await startHarness();
    await h.app.inject('/v1/data/price/MSFT');
    h.clock.advance(5 * 60_000 + 1_000);
    const stale = await h.app.inject('/v1/data/price/MSFT');
    expect(stale.json<Datum>().cache).toBe('stale');
    expect(stale.headers['cache-control']).toBe('public, max-age=0, must-revalidate');
  });

  it('reads crypto, fundamentals and news through their routes', async () => {
    h = await startHarness();
    expect((await h.app.inject('/v1/data/price/BTC?assetType=crypto')).json<Datum>().source).toBe(
      'sim-crypto',
    );
    expect((await h.app.inject('/v1/data/fundamentals/AAPL')).json<Datum>().source).toBe(
      'sim-reference',
    );
    const news = await h.app.inject('/v1/data/news/ETH?assetType=crypto');
    expect(news.statusCode).toBe(200);
    expect(Array.isArray(news.json<{ data: unknown }>().data)).toBe(true);
  });

  it('answers 404 for a symbol the upstream does not know, and caches that answer', async () => {
    h = await startHarness();
    const res = await h.app.inject('/v1/data/price/ZZZZZZ');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'FIML_SYMBOL_NOT_FOUND' } });
    await h.app.inject('/v1/data/price/ZZZZZZ');
    expect(h.calls).toHaveLength(1);
  });

  it.each([
    ['/v1/data/quotes/AAPL', 'dataType', 'one of price, fundamentals, news'],
    ['/v1/data/price/AAPL;DROP', 'symbol', expect.stringContaining('not a symbol')],
    ['/v1/data/price/AAPL?assetType=bond', 'assetType', 'one of equity, crypto'],
  ])('answers 400 for %s naming %s', async (url, path, message) => {
    h = await startHarness();
    const res = await h.app.inject(url);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { fields: unknown[] } }>().error.fields).toContainEqual({
      path,
      message,
    });
    expect(h.calls).toHaveLength(0);
  });

  it('answers 503 with Retry-After when the upstream is down and nothing is cached', async () => {
    h = await startHarness();
    await h.app.inject('/v1/data/price/AAPL'); // cached while the upstream is up
    await h.stopUpstream();
    const down = await h.app.inject('/v1/data/price/MSFT');
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json()).toMatchObject({ error: { code: 'FIML_UPSTREAM_UNAVAILABLE' } });
    expect((await h.app.inject('/v1/data/price/AAPL')).statusCode).toBe(200);
    const batch = await h.app.inject('/v1/data/price?symbols=AAPL,MSFT');
    expect(batch.json<{ results: unknown[] }>().results).toEqual([
      expect.objectContaining({ symbol: 'AAPL', status: 'ok' }),
      {
        symbol: 'MSFT',
        status: 'error',
        error: { code: 'FIML_UPSTREAM_UNAVAILABLE', message: expect.any(String) },
      },
    ]);
  });
});

describe('GET /v1/data/:dataType?symbols=…', () => {
  it('reads 100 cold equities with one upstream call', async () => {
    h = await startHarness();
    const symbols = simulatedUniverse(7).equity.slice(0, 100);
    const res = await h.app.inject(`/v1/data/price?symbols=${symbols.join(',')}`);
    expect(res.statusCode).toBe(200);
    const { results } = res.json<{ results: (Datum & { status: string })[] }>();
    expect(results).toHaveLength(100);
    expect(results.every((r) => r.status === 'ok' && r.cache === 'miss')).toBe(true);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]).toMatchObject({ provider: 'sim-equities', symbols: 100, outcome: 'ok' });

    const again = await h.app.inject(`/v1/data/price?symbols=${symbols.slice(0, 10).join(',')}`);
    expect(again.json<{ results: Datum[] }>().results.every((r) => r.cache === 'l1')).toBe(true);
    expect(h.calls).toHaveLength(1);
  });

  it('reports not-found per symbol and fetches the rest', async () => {
    h = await startHarness();
    const res = await h.app.inject('/v1/data/price?symbols=AAPL,ZZZZZZ,msft,AAPL');
    expect(res.json<{ results: unknown[] }>().results).toEqual([
      expect.objectContaining({ symbol: 'AAPL', status: 'ok' }),
      { symbol: 'ZZZZZZ', status: 'not-found' },
      expect.objectContaining({ symbol: 'MSFT', status: 'ok' }),
    ]);
  });

  it('answers 400 for too many or malformed symbols', async () => {
    h = await startHarness();
    const many = Array.from({ length: 201 }, (_, i) => `S${i}`).join(',');
    const tooMany = await h.app.inject(`/v1/data/price?symbols=${many}`);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json<{ error: { fields: unknown[] } }>().error.fields).toContainEqual({
      path: 'symbols',
      message: 'at most 200 symbols',
    });
    const bad = await h.app.inject('/v1/data/price?symbols=AAPL,MS FT');
    expect(bad.json<{ error: { fields: { path: string }[] } }>().error.fields[0]?.path).toBe(
      'symbols.1',
    );
    const none = await h.app.inject('/v1/data/price');
    expect(none.statusCode).toBe(400);
  });
});

describe('DELETE /v1/cache/:dataType/:symbol', () => {
  it('needs a key, then drops the entry so the next read fetches again', async () => {
    h = await startHarness();
    await h.app.inject('/v1/data/price/NVDA');
    expect((await h.app.inject({ method: 'DELETE', url: '/v1/cache/price/NVDA' })).statusCode).toBe(
      401,
    );
    const res = await h.app.inject({
      method: 'DELETE',
      url: '/v1/cache/price/NVDA',
      headers: asClient,
    });
    expect(res.statusCode).toBe(204);
    expect((await h.app.inject('/v1/data/price/NVDA')).json<Datum>().cache).toBe('miss');
    expect(h.calls).toHaveLength(2);
  });
});

describe('DELETE during a cache Redis outage', () => {
  it('answers 503 with Retry-After and the error body, never 204 while L2 may hold the value', async () => {
    const cacheServer = await startRedisServer();
    try {
      h = await startHarness({ env: { REDIS_CACHE_URL: cacheServer.url } });
      expect((await h.app.inject('/v1/data/price/NVDA')).statusCode).toBe(200);
      await cacheServer.kill();
      const res = await h.app.inject({
        method: 'DELETE',
        url: '/v1/cache/price/NVDA',
        headers: { ...asClient, 'x-request-id': 'delete-1' },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(res.json()).toEqual({
        error: { code: 'FIML_CACHE_UNAVAILABLE', message: expect.stringContaining('retry later') },
        requestId: 'delete-1',
      });
    } finally {
      await h?.close();
      h = undefined;
      await cacheServer.stop();
    }
  });
});

describe('access recording', () => {
  /** The real AccessRecorder, watched: what reaches it, in order, with the time of each read. */
  function watch(harness: Harness): [string, number | undefined][] {
    const recorded: [string, number | undefined][] = [];
    const record = harness.access.record.bind(harness.access);
    harness.access.record = (key, at) => {
      recorded.push([key, at]);
      record(key, at);
    };
    return recorded;
  }

  it('records successful reads, hits included, at the time of each read', async () => {
    h = await startHarness();
    const recorded = watch(h);
    const t0 = h.clock.now();
    await h.app.inject('/v1/data/price/AAPL');
    h.clock.advance(1_000);
    await h.app.inject('/v1/data/price/AAPL');
    expect(
      (await h.app.inject({ url: '/v1/data/price/AAPL', headers: { 'if-none-match': '*' } }))
        .statusCode,
    ).toBe(304);
    await h.app.inject('/v1/data/news?symbols=BTC,ETH&assetType=crypto');
    expect(recorded).toEqual([
      ['price:equity:AAPL', t0],
      ['price:equity:AAPL', t0 + 1_000],
      ['price:equity:AAPL', t0 + 1_000],
      ['news:crypto:BTC', t0 + 1_000],
      ['news:crypto:ETH', t0 + 1_000],
    ]);
    // Into the access history, where the warmer reads it.
    await h.access.flush();
    const history = new AccessHistory({ redis: h.cacheRedis, keyPrefix: h.prefix });
    const aapl = (await history.stats(h.clock.now())).find((s) => s.key === 'price:equity:AAPL');
    expect(aapl?.frequency).toBeCloseTo(3, 3);
  });

  it('records neither not-found answers nor failed reads', async () => {
    h = await startHarness();
    const recorded = watch(h);
    expect((await h.app.inject('/v1/data/price/ZZZZZZ')).statusCode).toBe(404);
    await h.app.inject('/v1/data/price?symbols=AAPL,ZZZZZZ');
    await h.stopUpstream();
    expect((await h.app.inject('/v1/data/price/MSFT')).statusCode).toBe(503);
    await h.app.inject('/v1/data/price?symbols=AAPL,MSFT');
    expect((await h.app.inject('/v1/data/price/AAPL;DROP')).statusCode).toBe(400);
    expect(recorded.map(([key]) => key)).toEqual(['price:equity:AAPL', 'price:equity:AAPL']);
  });
});

describe('GET /v1/cache/report', () => {
  it('reports what the reads did: one miss, then L1 hits, per data type', async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) await h.app.inject('/v1/data/price/AAPL');
    const report = await h.app.inject('/v1/cache/report');
    expect(report.statusCode).toBe(200);
    const body = report.json<{
      byDataType: {
        price: { '5m': { reads: number; hits: number; misses: number } };
        news: { '5m': { reads: number } };
      };
      recommendations: unknown[];
    }>();
    expect(body.byDataType.price['5m']).toMatchObject({ reads: 3, hits: 2, misses: 1 });
    expect(body.byDataType.news['5m'].reads).toBe(0);
    expect(body.recommendations).toEqual([]);
  });
});

describe('GET /v1/cache/warming', () => {
  it('shows the warm ledger: the last runs with their outcomes and top choices, and the totals', async () => {
    h = await startHarness();
    const empty = await h.app.inject('/v1/cache/warming');
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({
      totals: { warmed: 0, used: 0, wasted: 0, calls: 0, precision: null, pending: 0 },
      runs: [],
    });

    // What the warmer and the batch-scheduler would have booked.
    const ledger = new WarmLedger({
      redis: h.cacheRedis,
      keyPrefix: h.config.CACHE_KEY_PREFIX,
    });
    await ledger.plan('run-1', ['price:equity:AAPL']);
    await ledger.written([
      { key: 'price:equity:AAPL', fetchedAt: 1, softExpiresAt: 2, callShare: 1 },
    ]);
    await ledger.recordRun({
      id: 'run-1',
      mode: 'pre-open',
      startedAt: 0,
      finishedAt: 5,
      tracked: 2,
      requested: 1,
      skipped: { unlikely: 1 },
      top: [
        {
          key: 'price:equity:AAPL',
          score: 0.9,
          reason: 'missing',
          detail: 'missing, 3.1 reads expected 09:30-09:35 ET',
        },
      ],
    });
    const shown = await h.app.inject('/v1/cache/warming?limit=1');
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({
      totals: { warmed: 1, pending: 1, precision: null },
      runs: [
        {
          id: 'run-1',
          mode: 'pre-open',
          outcomes: { warmed: 1, calls: 1, precision: null },
          top: [{ key: 'price:equity:AAPL', reason: 'missing' }],
        },
      ],
    });
    expect((await h.app.inject('/v1/cache/warming?limit=0')).statusCode).toBe(400);
    expect((await h.app.inject('/v1/cache/warming?limit=many')).statusCode).toBe(400);
  });
});
