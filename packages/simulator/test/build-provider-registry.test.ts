import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName } from '@fiml/testing';
import {
  DEFAULT_PROVIDER_SETTINGS,
  ProviderConfigError,
  UnknownProviderError,
  buildProviderRegistry,
  type FallbackEvent,
  type ProviderSettings,
} from '@fiml/providers';
import { SimulatedMarket, SimulatedProvider, startSimulatedProviderServer } from '../src/index.js';
import {
  FINNHUB_KEY,
  type FixtureServer,
  POLYGON_KEY,
  startFinnhubFixture,
  startPolygonFixture,
} from '@fiml/providers/testing';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

function settings(changes: Partial<ProviderSettings>): ProviderSettings {
  return { ...DEFAULT_PROVIDER_SETTINGS, PROVIDER_RATE_LIMIT_PREFIX: uniqueName('rl'), ...changes };
}

describe('buildProviderRegistry', () => {
  it('by default serves everything from the simulator over HTTP, with limits shared through Redis', async () => {
    const clock = new ManualClock('2026-11-23T14:30:00Z');
    const sim = await startSimulatedProviderServer({
      seed: 42,
      clock,
      failureRate: 0,
      market: { equities: 50, crypto: 20 },
    });
    open.push(() => sim.close());
    const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    open.push(() => Promise.resolve(redis.disconnect()));
    const registry = buildProviderRegistry(settings({ SIM_PROVIDER_URL: sim.url }), {
      redis,
      clock,
    });

    expect(
      registry
        .providers()
        .map((p) => p.id)
        .sort(),
    ).toEqual(['sim-crypto', 'sim-equities', 'sim-reference']);
    expect(registry.limiter.shared).toBe(true);
    const prices = await registry.fetch('price', 'equity', ['AAPL', 'MSFT']);
    expect(prices.results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'sim-equities' },
    });
    const btc = await registry.fetch('price', 'crypto', ['BTC']);
    expect(btc.results.get('BTC')).toMatchObject({
      status: 'ok',
      value: { provider: 'sim-crypto' },
    });
    const news = await registry.fetch('news', 'crypto', ['ETH', 'SOL']);
    expect(news.calls).toHaveLength(2);
    expect(news.results.get('ETH')?.status).toBe('ok');
    expect((await registry.remaining('sim-reference')).windows[0]).toMatchObject({
      limit: 60,
      used: 2,
    });
  });

  it('refuses an unknown provider, naming every known one', () => {
    expect(() =>
      buildProviderRegistry(settings({ PROVIDER_ROUTES: { 'equity:price': ['polgyon'] } })),
    ).toThrow(UnknownProviderError);
    expect(() =>
      buildProviderRegistry(settings({ PROVIDER_ROUTES: { 'equity:price': ['polgyon'] } })),
    ).toThrow(
      'Known providers: coingecko, finnhub, polygon, sim-crypto, sim-equities, sim-reference.',
    );
    expect(() =>
      buildProviderRegistry(
        settings({ PROVIDER_RATE_LIMITS: { nobody: [{ limit: 1, windowMs: 1 }] } }),
      ),
    ).toThrow(/in PROVIDER_RATE_LIMITS/);
  });

  it('refuses a real provider without its key', () => {
    expect(() =>
      buildProviderRegistry(settings({ PROVIDER_ROUTES: { 'equity:price': ['polygon'] } })),
    ).toThrow(
      new ProviderConfigError('POLYGON_API_KEY is required: PROVIDER_ROUTES names "polygon".'),
    );
    const keyless = buildProviderRegistry(
      settings({ PROVIDER_ROUTES: { 'crypto:price': ['coingecko'] }, COINGECKO_PLAN: 'public' }),
    );
    expect(keyless.limiter.windows('coingecko')).toEqual([{ limit: 5, windowMs: 60_000 }]);
  });

  it('applies PROVIDER_RATE_LIMITS overrides and takes injected providers', () => {
    const market = new SimulatedMarket({ seed: 1, equities: 10, crypto: 5 });
    const inProcess = new SimulatedProvider({ profile: 'equities-batch', market });
    const registry = buildProviderRegistry(
      settings({ PROVIDER_RATE_LIMITS: { 'sim-equities': [{ limit: 10, windowMs: 1_000 }] } }),
      { providers: [inProcess] },
    );
    expect(registry.provider('sim-equities')).toBe(inProcess);
    expect(registry.limiter.windows('sim-equities')).toEqual([{ limit: 10, windowMs: 1_000 }]);
    expect(registry.limiter.windows('sim-crypto')).toEqual([{ limit: 30, windowMs: 60_000 }]);
    expect(registry.limiter.shared).toBe(false);
  });

  it('builds the real adapters and falls back from a rate-limited Polygon to Finnhub', async () => {
    const polygon: FixtureServer = await startPolygonFixture();
    const finnhub: FixtureServer = await startFinnhubFixture();
    open.push(
      () => polygon.close(),
      () => finnhub.close(),
    );
    polygon.mode = 'rate-limited';
    const clock = new ManualClock('2026-11-24T15:00:00Z');
    const registry = buildProviderRegistry(
      settings({
        PROVIDER_ROUTES: { 'equity:price': ['polygon', 'finnhub'] },
        POLYGON_BASE_URL: polygon.url,
        POLYGON_API_KEY: POLYGON_KEY,
        FINNHUB_BASE_URL: finnhub.url,
        FINNHUB_API_KEY: FINNHUB_KEY,
      }),
      { clock },
    );
    const fallbacks: FallbackEvent[] = [];
    registry.on('fallback', (e) => fallbacks.push(e));
    const { results, calls } = await registry.fetch('price', 'equity', ['AAPL', 'MSFT', 'ZZZZ']);
    expect(results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'finnhub', price: 261.74 },
    });
    expect(results.get('ZZZZ')).toEqual({ status: 'not-found' });
    expect(calls.filter((c) => c.provider === 'finnhub')).toHaveLength(3);
    expect(fallbacks).toEqual([
      { from: 'polygon', to: 'finnhub', dataType: 'price', assetType: 'equity', symbols: 3 },
    ]);
    // Polygon's Retry-After (7 s) now blocks it; the next fetch does not call it at all.
    expect(await registry.remaining('polygon')).toMatchObject({ blockedForMs: 7_000 });
    polygon.requests.length = 0;
    await registry.fetch('price', 'equity', ['AAPL']);
    expect(polygon.requests).toHaveLength(0);
  });
});
