import { afterEach, describe, expect, it } from '@jest/globals';
import { reservedCalls } from '@fiml/providers';
import { WELL_KNOWN_EQUITIES } from '@fiml/simulator';
import { parseRefreshRequest } from '@fiml/queue';
import { apiKeep } from '../src/upstream.js';
import { MISS_REFRESH_MIN_DEDUP_TTL_MS } from '../src/create-api.js';
import { asClient, startHarness, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** The api with the equity price provider limited to 5 calls a minute (Polygon's free plan). */
async function fiveAMinute(): Promise<Harness> {
  const h = await startHarness({ env: { PROVIDER_RATE_LIMITS: 'sim-equities=5/min' } });
  open.push(() => h.close());
  return h;
}

const SYMBOLS = Object.keys(WELL_KNOWN_EQUITIES).slice(0, 20);

async function refreshJobs(h: Harness) {
  return h.refresh.queue.getJobs(['prioritized', 'waiting']);
}

describe('misses when the provider budget left to the api is spent', () => {
  it('20 cold reads under 5/min: the api spends 2 calls, the rest get 503 + Retry-After and one queued urgent miss per key', async () => {
    expect(SYMBOLS).toHaveLength(20);
    const h = await fiveAMinute();
    expect(apiKeep(h.providers, 'sim-equities')).toBe(reservedCalls(5));

    const answers = [];
    for (const symbol of SYMBOLS) answers.push(await h.app.inject(`/v1/data/price/${symbol}`));
    const served = answers.filter((r) => r.statusCode === 200);
    const refused = answers.filter((r) => r.statusCode === 503);
    // 5 - (2 + 1): the api spends 2 calls and leaves 3, more than reservedCalls(5), to the scheduler.
    expect(served).toHaveLength(2);
    expect(answers.slice(0, 2).every((r) => r.statusCode === 200)).toBe(true);
    expect(refused).toHaveLength(18);
    for (const r of refused) {
      const retryAfter = Number(r.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(r.json()).toEqual({
        error: {
          code: 'FIML_UPSTREAM_BUDGET_SPENT',
          message: expect.stringMatching(/call budget is spent; it is queued/),
        },
        requestId: expect.any(String),
      });
    }
    expect(h.calls).toHaveLength(2);
    const budget = await h.providers.remaining('sim-equities');
    expect(budget.remaining).toBeGreaterThanOrEqual(reservedCalls(5));
    expect(budget.remaining).toBe(3);

    const jobs = await refreshJobs(h);
    const refusedSymbols = SYMBOLS.slice(2);
    // Each job's payload is a valid refresh request (the consumer parses it with this schema).
    const requests = jobs.map((j) => parseRefreshRequest(j.data));
    expect(requests.map((r) => r.symbols[0]).sort()).toEqual([...refusedSymbols].sort());
    for (const [i, job] of jobs.entries()) {
      const symbol = requests[i]!.symbols[0]!;
      expect(requests[i]).toEqual({
        symbols: [symbol],
        assetType: 'equity',
        dataType: 'price',
        priority: 'urgent',
        reason: 'miss',
        source: 'api:miss',
      });
      expect(job.opts.priority).toBe(1);
      expect(job.opts.deduplication?.id).toBe(`miss:price:equity:${symbol}`);
      expect(job.opts.deduplication?.ttl).toBeGreaterThanOrEqual(MISS_REFRESH_MIN_DEDUP_TTL_MS);
      expect(job.opts.deduplication?.ttl).toBeLessThanOrEqual(60_000);
    }

    // A client retrying too early is refused again, without a second job for its key.
    const again = await h.app.inject(`/v1/data/price/${refusedSymbols[0]}`);
    expect(again.statusCode).toBe(503);
    expect(await refreshJobs(h)).toHaveLength(18);
    expect(h.calls).toHaveLength(2);
  });

  it('a batch read reports budget-spent symbols each with retryAfterSeconds, and queues them once per key', async () => {
    const h = await fiveAMinute();
    // Two single reads spend the api's share of the window.
    for (const symbol of ['AAPL', 'MSFT'])
      expect((await h.app.inject(`/v1/data/price/${symbol}`)).statusCode).toBe(200);
    expect((await h.app.inject('/v1/data/price/NVDA')).statusCode).toBe(503);

    const res = await h.app.inject({
      url: '/v1/data/price?symbols=AAPL,NVDA,AMZN',
      headers: asClient,
    });
    expect(res.statusCode).toBe(200);
    const { results } = res.json<{ results: Record<string, unknown>[] }>();
    expect(results[0]).toMatchObject({ symbol: 'AAPL', status: 'ok', cache: 'l1' });
    for (const [i, symbol] of [
      [1, 'NVDA'],
      [2, 'AMZN'],
    ] as const) {
      expect(results[i]).toEqual({
        symbol,
        status: 'budget-spent',
        retryAfterSeconds: expect.any(Number),
        error: { code: 'FIML_UPSTREAM_BUDGET_SPENT', message: expect.any(String) },
      });
      expect(results[i]?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(results[i]?.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    const jobs = await refreshJobs(h);
    expect(jobs.map((j) => j.opts.deduplication?.id).sort()).toEqual([
      'miss:price:equity:AMZN',
      'miss:price:equity:NVDA',
    ]);
    expect(h.calls).toHaveLength(2);
  });

  it('leaves the answer to an upstream that is down as it was: 503 upstream unavailable, nothing queued', async () => {
    const h = await fiveAMinute();
    await h.stopUpstream();
    const res = await h.app.inject('/v1/data/price/AAPL');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'FIML_UPSTREAM_UNAVAILABLE' } });
    expect(await refreshJobs(h)).toEqual([]);
  });
});
