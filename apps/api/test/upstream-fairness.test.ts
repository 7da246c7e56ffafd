import { afterEach, describe, expect, it } from '@jest/globals';
import { uniqueName } from '@fiml/testing';
import { apiKeep } from '../src/upstream.js';
import { asClient, startHarness, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env });
  open.push(() => h.close());
  return h;
}

/** `count` symbols no test has read: cold in every tier. */
const cold = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${tag}${i}`.toUpperCase());

type Item = {
  symbol: string;
  status: string;
  retryAfterSeconds?: number;
  error?: { code: string };
};

async function batchRead(
  h: Harness,
  symbols: readonly string[],
  headers: Record<string, string> = {},
): Promise<Item[]> {
  const res = await h.app.inject({
    url: `/v1/data/news?symbols=${symbols.join(',')}`,
    headers,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ results: Item[] }>().results;
}

const referenceCalls = (h: Harness) => h.calls.filter((c) => c.provider === 'sim-reference');

async function refusals(h: Harness, reason: string): Promise<number> {
  const metric = await h.registry.getSingleMetric('fiml_upstream_refusals_total')!.get();
  return metric.values
    .filter(
      (v) =>
        v.labels.provider === 'sim-reference' &&
        v.labels.data_type === 'news' &&
        v.labels.reason === reason,
    )
    .reduce((sum, v) => sum + v.value, 0);
}

/** The reference provider's window, what the api may spend of it, and one client's share. */
function budgetOf(h: Harness) {
  const [window] = h.providers.limiter.windows('sim-reference');
  expect(window).toMatchObject({ limit: 60, windowMs: 60_000 });
  // The api spends a call only while more than the batch-scheduler's reserve is left after it.
  const apiCalls = window!.limit - apiKeep(h.providers, 'sim-reference')! - 1;
  // A single-symbol provider: one symbol is one call.
  const clientCalls = Math.floor(h.config.API_CLIENT_UPSTREAM_SHARE * apiCalls);
  return { window: window!, apiCalls, clientCalls };
}

describe('upstream budget fairness between clients', () => {
  it('a keyless 200-symbol news batch read leaves at least half of the reference budget to other clients', async () => {
    const h = await harness();
    const { window, apiCalls, clientCalls } = budgetOf(h);
    expect(clientCalls).toBeGreaterThanOrEqual(1);
    expect(clientCalls).toBeLessThanOrEqual(apiCalls / 2);

    const results = await batchRead(h, cold('n', 200));
    const fetched = results.filter((r) => r.status === 'ok' || r.status === 'not-found');
    const limited = results.filter((r) => r.status === 'rate-limited');
    expect(fetched).toHaveLength(clientCalls);
    expect(limited).toHaveLength(200 - clientCalls);
    expect(referenceCalls(h)).toHaveLength(clientCalls);
    // Each refused symbol says when it fits the client's share again, later for later symbols.
    const waits = limited.map((r) => r.retryAfterSeconds!);
    expect(waits[0]).toBeGreaterThanOrEqual(1);
    expect(waits.at(-1)).toBeGreaterThan(waits[0]!);
    expect([...waits].sort((a, b) => a - b)).toEqual(waits);
    expect(limited[0]!.error).toEqual({
      code: 'FIML_CLIENT_SHARE_SPENT',
      message: expect.any(String),
    });
    expect(await refusals(h, 'client-share')).toBe(200 - clientCalls);

    // At least half of the reference window is left, and at least half of what the api may spend.
    const budget = await h.providers.remaining('sim-reference');
    expect(budget.remaining).toBeGreaterThanOrEqual(window.limit / 2);
    expect(apiCalls - clientCalls).toBeGreaterThanOrEqual(apiCalls / 2);

    // Another client reads news of its own at once: its misses are fetched.
    const other = await batchRead(h, cold('o', clientCalls), asClient);
    expect(other.every((r) => r.status === 'ok' || r.status === 'not-found')).toBe(true);
    expect(referenceCalls(h)).toHaveLength(2 * clientCalls);

    // The keyless client's next cold read is refused by our limiter: 429 with Retry-After, and
    // what it already has is served from the cache.
    const again = await h.app.inject('/v1/data/news/ZZZ9');
    expect(again.statusCode).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(again.json()).toMatchObject({ error: { code: 'FIML_CLIENT_SHARE_SPENT' } });
    const cached = await h.app.inject(`/v1/data/news/${fetched[0]!.symbol}`);
    expect([200, 404]).toContain(cached.statusCode);
    expect(referenceCalls(h)).toHaveLength(2 * clientCalls);

    // Its share refills with time (the api's clock): after the window, it may fetch again.
    h.clock.advance(window.windowMs);
    expect((await h.app.inject('/v1/data/news/ZZZ9')).statusCode).not.toBe(429);
    expect(referenceCalls(h)).toHaveLength(2 * clientCalls + 1);
  });

  it("a client's share is one across api instances (counted in the cache Redis)", async () => {
    const prefix = uniqueName('fair');
    const a = await harness({ QUEUE_PREFIX: prefix });
    const b = await harness({ QUEUE_PREFIX: prefix });
    const { clientCalls } = budgetOf(a);
    const first = await batchRead(a, cold('a', 20), asClient);
    expect(first.filter((r) => r.status === 'rate-limited')).toHaveLength(20 - clientCalls);
    const second = await batchRead(b, cold('b', 20), asClient);
    expect(second.every((r) => r.status === 'rate-limited')).toBe(true);
    expect(referenceCalls(b)).toHaveLength(0);
    // Another client on instance b is not affected.
    const keyless = await batchRead(b, cold('c', 3));
    expect(keyless.every((r) => r.status === 'ok' || r.status === 'not-found')).toBe(true);
  });

  it('a batch provider charges symbols, not calls: cold price reads of one client share calls', async () => {
    const h = await harness({ PROVIDER_RATE_LIMITS: 'sim-equities=5/min' });
    const res = await h.app.inject({ url: `/v1/data/price?symbols=${cold('p', 50).join(',')}` });
    const { results } = res.json<{ results: Item[] }>();
    // One call carries all 50: the client's share of a 5/min window is one call of 100 symbols.
    expect(results.every((r) => r.status === 'ok' || r.status === 'not-found')).toBe(true);
    expect(h.calls.filter((c) => c.provider === 'sim-equities')).toHaveLength(1);
  });

  it("with API_CLIENT_UPSTREAM_SHARE=0 one client may spend the api's whole share", async () => {
    const h = await harness({ API_CLIENT_UPSTREAM_SHARE: '0' });
    const { apiCalls } = budgetOf(h);
    const results = await batchRead(h, cold('z', 60));
    expect(results.filter((r) => r.status === 'rate-limited')).toHaveLength(0);
    expect(referenceCalls(h)).toHaveLength(apiCalls);
    // The rest is refused for the api's share of the window, queued, and counted as such.
    expect(results.filter((r) => r.status === 'budget-spent')).toHaveLength(60 - apiCalls);
    expect(await refusals(h, 'provider-budget')).toBe(60 - apiCalls);
  });
});
