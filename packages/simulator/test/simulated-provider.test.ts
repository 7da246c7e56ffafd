import { afterEach, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import { waitForEvent } from '@fiml/testing';
import {
  ProviderErrorCode,
  SIMULATED_PROFILES,
  SimHttpProvider,
  fundamentalsSchema,
  newsListSchema,
  simErrorBodySchema,
  type ProviderCallEvent,
} from '@fiml/providers';
import {
  SimulatedMarket,
  SimulatedProvider,
  createSimulatedProviders,
  startSimulatedProviderServer,
  type SimulatedProviderServer,
  type SimulatedProviderServerOptions,
} from '../src/index.js';

const start = '2026-11-23T14:30:00Z';
const equities = (...symbols: string[]) =>
  symbols.map((symbol) => ({ symbol, assetType: 'equity' as const }));
const crypto = (...symbols: string[]) =>
  symbols.map((symbol) => ({ symbol, assetType: 'crypto' as const }));

/** Small universes keep construction cheap; the well-known names lead them. */
const smallMarket = { equities: 50, crypto: 20 };

const servers: SimulatedProviderServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(
  options: Partial<SimulatedProviderServerOptions> = {},
): Promise<SimulatedProviderServer> {
  const s = await startSimulatedProviderServer({
    seed: 42,
    failureRate: 0,
    market: smallMarket,
    ...options,
  });
  servers.push(s);
  return s;
}

describe('SimulatedProvider (in-process)', () => {
  it('answers from the market with modeled latency, without sleeping, deterministically', async () => {
    const clock = new ManualClock(start);
    const market = new SimulatedMarket({ seed: 42, ...smallMarket });
    const make = () =>
      new SimulatedProvider({ profile: 'equities-batch', market, clock, failureRate: 0 });
    const [a, b] = [make(), make()];
    const events = waitForEvent<[ProviderCallEvent]>(a, 'call');
    const response = await a.fetch('price', equities('AAPL', 'MSFT', 'NOPE1'));
    expect(response.outcome).toBe('ok');
    expect(response.results.get('AAPL')).toEqual({
      status: 'ok',
      value: market.quote(equities('AAPL')[0]!, clock.now(), 'sim-equities'),
    });
    expect(response.results.get('NOPE1')).toEqual({ status: 'not-found' });
    expect((await b.fetch('price', equities('AAPL', 'MSFT', 'NOPE1'))).latencyMs).toBe(
      response.latencyMs,
    );
    const [event] = await events;
    expect(event).toEqual({
      provider: 'sim-equities',
      dataType: 'price',
      symbols: 3,
      latencyMs: response.latencyMs,
      outcome: 'ok',
      ok: 2,
      notFound: 1,
      errors: 0,
    });
  });

  it('answers beyond its limits like a 429, with the exact wait', async () => {
    const clock = new ManualClock(start);
    const market = new SimulatedMarket({ seed: 1, ...smallMarket });
    const p = new SimulatedProvider({
      profile: 'crypto-batch',
      market,
      clock,
      failureRate: 0,
      rateLimits: [{ limit: 2, windowMs: 60_000 }],
    });
    await p.fetch('price', crypto('BTC'));
    clock.advance(10_000);
    await p.fetch('price', crypto('BTC'));
    const refused = await p.fetch('price', crypto('BTC', 'ETH'));
    expect(refused).toMatchObject({ outcome: 'rate-limited', retryAfterMs: 50_000 });
    const btc = refused.results.get('BTC');
    expect(btc?.status === 'error' && btc.error.code).toBe(ProviderErrorCode.RATE_LIMITED);
    clock.advance(50_000);
    expect((await p.fetch('price', crypto('BTC'))).outcome).toBe('ok');
  });

  it('fails calls at its failure rate and can wait its latency through an injected sleep', async () => {
    const market = new SimulatedMarket({ seed: 1, ...smallMarket });
    const slept: number[] = [];
    const p = new SimulatedProvider({
      profile: 'reference-single',
      market,
      clock: new ManualClock(start),
      failureRate: 1,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    const response = await p.fetch('news', equities('AAPL'));
    const result = response.results.get('AAPL');
    expect(result?.status === 'error' && result.error.code).toBe(ProviderErrorCode.UPSTREAM);
    expect(slept).toEqual([response.latencyMs]);
  });

  it('createSimulatedProviders builds the three market-week upstreams over one market', () => {
    const providers = createSimulatedProviders({
      seed: 3,
      market: new SimulatedMarket({ seed: 3, ...smallMarket }),
    });
    expect(providers.map((p) => [p.id, p.maxBatchSize, p.rateLimits[0]!.limit])).toEqual([
      ['sim-equities', 100, 300],
      ['sim-crypto', 250, 30],
      ['sim-reference', 1, 60],
    ]);
    expect(providers[0]!.upstream.market).toBe(providers[2]!.upstream.market);
  });
});

describe('simulated provider over HTTP', () => {
  it('serves the same values as the in-process provider for the same seed and clock', async () => {
    const clock = new ManualClock(start);
    const s = await server({ clock });
    const inProcess = new SimulatedMarket({ seed: 42, ...smallMarket });
    const prices = new SimHttpProvider({ baseUrl: s.url, profile: 'equities-batch', clock });
    const reference = new SimHttpProvider({ baseUrl: s.url, profile: 'reference-single', clock });

    const response = await prices.fetch('price', equities('AAPL', 'BRK.B', 'NOPE1'));
    expect(response.results.get('AAPL')).toEqual({
      status: 'ok',
      value: inProcess.quote(equities('AAPL')[0]!, clock.now(), 'sim-equities'),
    });
    expect(response.results.get('BRK.B')?.status).toBe('ok');
    expect(response.results.get('NOPE1')).toEqual({ status: 'not-found' });

    const f = await reference.fetch('fundamentals', crypto('ETH'));
    const eth = f.results.get('ETH');
    expect(eth?.status === 'ok' && fundamentalsSchema.parse(eth.value)).toMatchObject({
      name: 'Ethereum',
      provider: 'sim-reference',
    });
    const n = await reference.fetch('news', equities('MSFT'));
    const msft = n.results.get('MSFT');
    expect(msft?.status === 'ok' && newsListSchema.parse(msft.value)).toEqual(
      inProcess.news(equities('MSFT')[0]!, clock.now(), 'sim-reference'),
    );
  });

  it('answers 429 with Retry-After beyond its limits; the adapter keeps the exact wait', async () => {
    const clock = new ManualClock(start);
    const s = await server({
      clock,
      profiles: [
        { ...SIMULATED_PROFILES['crypto-batch'], rateLimits: [{ limit: 1, windowMs: 60_000 }] },
      ],
    });
    const p = new SimHttpProvider({ baseUrl: s.url, profile: 'crypto-batch', clock });
    expect((await p.fetch('price', crypto('BTC'))).outcome).toBe('ok');
    clock.advance(1_500);
    const raw = await fetch(`${s.url}/v1/providers/sim-crypto/price?assetType=crypto&symbols=BTC`);
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('59');
    expect(simErrorBodySchema.parse(await raw.json()).error).toEqual({
      code: 'rate_limited',
      message: 'rate limit exceeded',
      retryAfterMs: 58_500,
    });
    const refused = await p.fetch('price', crypto('BTC'));
    expect(refused).toMatchObject({ outcome: 'rate-limited', retryAfterMs: 58_500 });
  });

  it('fails with 503 at its failure rate, and checks the API key when it has one', async () => {
    const s = await server({ failureRate: 1, apiKey: 'sim-key' });
    const keyed = new SimHttpProvider({
      baseUrl: s.url,
      profile: 'equities-batch',
      apiKey: 'sim-key',
    });
    const failed = (await keyed.fetch('price', equities('AAPL'))).results.get('AAPL');
    expect(failed?.status === 'error' && [failed.error.code, failed.error.status]).toEqual([
      ProviderErrorCode.UPSTREAM,
      503,
    ]);
    const anonymous = new SimHttpProvider({ baseUrl: s.url, profile: 'equities-batch' });
    const refused = (await anonymous.fetch('price', equities('AAPL'))).results.get('AAPL');
    expect(refused?.status === 'error' && refused.error.code).toBe(ProviderErrorCode.AUTH);
  });

  it('waits modeled latency through its sleep when asked to', async () => {
    const slept: number[] = [];
    const s = await server({
      delay: true,
      latencyScale: 0.5,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    await new SimHttpProvider({ baseUrl: s.url, profile: 'equities-batch' }).fetch(
      'price',
      equities('AAPL'),
    );
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(0);
  });

  it('documents itself: providers, universe, earnings, health, and clear 4xx', async () => {
    const s = await server({ clock: new ManualClock(start) });
    const get = async (path: string) => {
      const res = await fetch(`${s.url}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    const providers = (await get('/v1/providers')).body.providers as {
      id: string;
      maxBatchSize: number;
    }[];
    expect(providers.map((p) => [p.id, p.maxBatchSize])).toEqual([
      ['sim-equities', 100],
      ['sim-crypto', 250],
      ['sim-reference', 1],
    ]);
    expect((await get('/v1/universe?assetType=crypto')).body.symbols).toHaveLength(20);
    const earnings = await get('/v1/earnings?from=2026-11-23&to=2026-11-27');
    expect(earnings.status).toBe(200);
    expect(Array.isArray(earnings.body.earnings)).toBe(true);
    expect((await get('/v1/earnings?from=2026-11-23&to=2027-11-27')).status).toBe(400);
    expect(
      (await get('/v1/providers/sim-equities/price?assetType=equity&symbols=AA%3BPL')).status,
    ).toBe(400);
    expect(
      (await get('/v1/providers/sim-equities/news?assetType=equity&symbols=AAPL')).status,
    ).toBe(400);
    expect((await get('/v1/providers/nobody/price?assetType=equity&symbols=AAPL')).status).toBe(
      404,
    );
    const tooMany = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
    const big = await get(`/v1/providers/sim-equities/price?assetType=equity&symbols=${tooMany}`);
    expect(big).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
  });
});
