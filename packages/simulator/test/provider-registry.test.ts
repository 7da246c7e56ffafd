import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName, waitForEvent, withDeadline } from '@fiml/testing';
import {
  PolygonProvider,
  ProviderConfigError,
  type ProviderError,
  ProviderErrorCode,
  ProviderRegistry,
  RateLimiter,
  SIMULATED_PROFILES,
  SimHttpProvider,
  UnknownProviderError,
  matchRoute,
  parseRoutes,
  type AssetResult,
  type FallbackEvent,
  type MarketDataProvider,
  type ProviderCallEvent,
  type SimulatedProfile,
  type ThrottledEvent,
} from '@fiml/providers';
import { SimulatedMarket, SimulatedProvider, startSimulatedProviderServer } from '../src/index.js';
import {
  json,
  POLYGON_KEY,
  POLYGON_TICKERS,
  type RecordedRequest,
  startFixtureServer,
  startPolygonFixture,
} from '@fiml/providers/testing';

const start = '2026-11-23T14:30:00Z';
const market = new SimulatedMarket({ seed: 42, equities: 300, crypto: 20 });
const profile = (
  name: keyof typeof SIMULATED_PROFILES,
  changes: Partial<SimulatedProfile>,
): SimulatedProfile => ({
  ...SIMULATED_PROFILES[name],
  ...changes,
});

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** A primary and a backup equity price source over one market. */
function pair(
  clock: ManualClock,
  primary: Partial<SimulatedProfile> = {},
  backup: Partial<SimulatedProfile> = {},
) {
  return [
    new SimulatedProvider({
      profile: profile('equities-batch', { id: 'primary', failureRate: 0, ...primary }),
      market,
      clock,
    }),
    new SimulatedProvider({
      profile: profile('equities-batch', { id: 'backup', failureRate: 0, ...backup }),
      market,
      clock,
    }),
  ] as const;
}

describe('routes', () => {
  it('parses the PROVIDER_ROUTES form and picks the most specific route', () => {
    const routes = parseRoutes(
      'equity:price=polygon,finnhub; crypto:price=coingecko ;*:news=sim-reference;equity:*=sim-reference;*:*=x',
    );
    expect(routes['equity:price']).toEqual(['polygon', 'finnhub']);
    expect(matchRoute(routes, 'equity', 'price')).toEqual(['polygon', 'finnhub']);
    expect(matchRoute(routes, 'crypto', 'news')).toEqual(['sim-reference']);
    expect(matchRoute(routes, 'equity', 'fundamentals')).toEqual(['sim-reference']);
    expect(matchRoute(routes, 'crypto', 'fundamentals')).toEqual(['x']);
    expect(matchRoute({}, 'crypto', 'price')).toBeUndefined();
  });

  it.each([
    'equity:price',
    'bond:price=a',
    'equity:quotes=a',
    'equity:price=',
    'a:b:c=x',
    'equity:price=a;equity:price=b',
  ])('rejects %j', (text) => {
    expect(() => parseRoutes(text)).toThrow(ProviderConfigError);
  });
});

describe('ProviderRegistry configuration', () => {
  const clock = new ManualClock(start);
  const providers = pair(clock);

  it('refuses an unknown provider at start-up, listing the known ones', () => {
    let error: unknown;
    try {
      new ProviderRegistry({ providers, routes: { 'equity:price': ['primary', 'polgyon'] } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownProviderError);
    expect(error).toMatchObject({
      code: 'FIML_PROVIDER_UNKNOWN',
      providerId: 'polgyon',
      known: ['primary', 'backup'],
    });
    expect((error as Error).message).toContain('Known providers: backup, primary');
  });

  it('refuses routes a provider cannot serve, duplicate ids and empty routes', () => {
    expect(
      () => new ProviderRegistry({ providers, routes: { 'crypto:price': ['primary'] } }),
    ).toThrow(/serves equity price only/);
    expect(
      () => new ProviderRegistry({ providers: [...providers, providers[0]], routes: {} }),
    ).toThrow(/Two providers/);
    expect(() => new ProviderRegistry({ providers, routes: { 'equity:price': [] } })).toThrow(
      /names no provider/,
    );
  });

  it('routes wildcards only to providers that serve the pair', () => {
    const reference = new SimulatedProvider({ profile: 'reference-single', market, clock });
    const registry = new ProviderRegistry({
      providers: [...providers, reference],
      routes: { '*:*': ['primary', 'sim-reference'] },
    });
    expect(registry.route('equity', 'price').map((p) => p.id)).toEqual(['primary']);
    expect(registry.route('crypto', 'news').map((p) => p.id)).toEqual(['sim-reference']);
    expect(registry.route('crypto', 'price')).toEqual([]);
  });
});

describe('ProviderRegistry.fetch', () => {
  it('splits a batch to the provider maxBatchSize, one permit per call', async () => {
    const clock = new ManualClock(start);
    const registry = new ProviderRegistry({
      providers: pair(clock),
      routes: { 'equity:price': ['primary'] },
      clock,
    });
    const symbols = market.universe.equity.slice(0, 250);
    const { results, calls } = await registry.fetch('price', 'equity', [
      ...symbols,
      'aapl',
      'NOPE1',
      'BAD;SYM',
    ]);
    // 250 + NOPE1 (AAPL is among the 250; 'aapl' normalizes to it) = 251 symbols.
    expect(calls.map((c) => c.symbols).sort((a, b) => a - b)).toEqual([51, 100, 100]);
    expect([...results.values()].filter((r) => r.status === 'ok')).toHaveLength(250);
    expect(results.get('NOPE1')).toEqual({ status: 'not-found' });
    const bad = results.get('BAD;SYM');
    expect(bad?.status === 'error' && bad.error.code).toBe(ProviderErrorCode.INVALID_SYMBOL);
    expect((await registry.remaining('primary')).windows[0]).toMatchObject({
      used: 3,
      remaining: 297,
    });
  });

  it('falls back when the primary has spent its budget, without calling it', async () => {
    const clock = new ManualClock(start);
    const providers = pair(clock, { rateLimits: [{ limit: 1, windowMs: 60_000 }] });
    const registry = new ProviderRegistry({
      providers,
      routes: { 'equity:price': ['primary', 'backup'] },
      clock,
    });
    const first = await registry.fetch('price', 'equity', ['AAPL']);
    expect(first.results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'primary' },
    });

    const throttled = waitForEvent<[ThrottledEvent]>(registry, 'throttled');
    const fallback = waitForEvent<[FallbackEvent]>(registry, 'fallback');
    const second = await registry.fetch('price', 'equity', ['AAPL', 'MSFT', 'NOPE1']);
    expect(second.results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'backup' },
    });
    expect(second.results.get('NOPE1')).toEqual({ status: 'not-found' });
    expect(second.calls.map((c) => c.provider)).toEqual(['backup']);
    expect((await throttled)[0]).toMatchObject({
      provider: 'primary',
      symbols: 3,
      retryAfterMs: 60_000,
      reason: 'window',
    });
    expect((await fallback)[0]).toEqual({
      from: 'primary',
      to: 'backup',
      dataType: 'price',
      assetType: 'equity',
      symbols: 3,
    });
  });

  it('falls back when the primary answers 429, and penalizes it for every later call', async () => {
    const clock = new ManualClock(start);
    // The upstream's real limit is tighter than the one we were told: it answers 429.
    const upstreamOnly = new SimulatedProvider({
      profile: profile('equities-batch', {
        id: 'primary',
        failureRate: 0,
        rateLimits: [{ limit: 1, windowMs: 30_000 }],
      }),
      market,
      clock,
    });
    const limiter = new RateLimiter({
      clock,
      limits: { primary: [{ limit: 100, windowMs: 60_000 }] },
    });
    const registry = new ProviderRegistry({
      providers: [upstreamOnly, pair(clock)[1]],
      routes: { 'equity:price': ['primary', 'backup'] },
      limiter,
    });
    await registry.fetch('price', 'equity', ['AAPL']);
    const calls: ProviderCallEvent[] = [];
    registry.on('call', (e) => calls.push(e));
    const second = await registry.fetch('price', 'equity', ['AAPL']);
    expect(second.results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'backup' },
    });
    expect(calls.map((c) => [c.provider, c.outcome])).toEqual([
      ['primary', 'rate-limited'],
      ['backup', 'ok'],
    ]);
    expect(calls[0]).toMatchObject({ errorCode: ProviderErrorCode.RATE_LIMITED, errors: 1 });
    expect(await registry.remaining('primary')).toMatchObject({
      blockedForMs: 30_000,
      remaining: 0,
    });
    const third = await registry.fetch('price', 'equity', ['MSFT']);
    expect(third.calls.map((c) => c.provider)).toEqual(['backup']);
  });

  it('falls back when the primary is down, and reports the last error when every provider failed', async () => {
    const clock = new ManualClock(start);
    const down = await startSimulatedProviderServer({
      seed: 42,
      market: { equities: 300, crypto: 20 },
      clock,
      failureRate: 1,
    });
    open.push(() => down.close());
    const primary = new SimHttpProvider({
      id: 'primary',
      baseUrl: down.url,
      profile: 'equities-batch',
      clock,
    });
    const backup = pair(clock)[1];
    const registry = new ProviderRegistry({
      providers: [primary, backup],
      routes: { 'equity:price': ['primary', 'backup'] },
    });
    const { results, calls } = await registry.fetch('price', 'equity', ['AAPL', 'NOPE1']);
    expect(calls.map((c) => [c.provider, c.outcome])).toEqual([
      ['primary', 'error'],
      ['backup', 'ok'],
    ]);
    expect(results.get('AAPL')).toMatchObject({ status: 'ok', value: { provider: 'backup' } });
    expect(results.get('NOPE1')).toEqual({ status: 'not-found' });

    const alone = new ProviderRegistry({
      providers: [primary],
      routes: { 'equity:price': ['primary'] },
    });
    const failed = (await alone.fetch('price', 'equity', ['AAPL'])).results.get('AAPL');
    expect(failed?.status === 'error' && [failed.error.code, failed.error.providerId]).toEqual([
      ProviderErrorCode.UPSTREAM,
      'primary',
    ]);
  });

  it('answers NO_ROUTE for a pair nobody serves, and never rejects', async () => {
    const registry = new ProviderRegistry({
      providers: pair(new ManualClock(start)),
      routes: { 'equity:price': ['primary'] },
    });
    const { results, calls } = await registry.fetch('news', 'crypto', ['BTC']);
    expect(calls).toEqual([]);
    const btc = results.get('BTC');
    expect(btc?.status === 'error' && btc.error.code).toBe(ProviderErrorCode.NO_ROUTE);
  });

  it('shares budgets between two registries through Redis', async () => {
    const clock = new ManualClock(start);
    const keyPrefix = uniqueName('rl');
    const registries = [0, 1].map(() => {
      const client = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
      open.push(() => Promise.resolve(client.disconnect()));
      const limiter = new RateLimiter({ redis: client, clock, keyPrefix });
      return new ProviderRegistry({
        providers: pair(clock, { rateLimits: [{ limit: 2, windowMs: 60_000 }] }),
        routes: { 'equity:price': ['primary', 'backup'] },
        limiter,
      });
    });
    const served = [];
    for (let i = 0; i < 4; i += 1) {
      const r = await registries[i % 2]!.fetch('price', 'equity', ['AAPL']);
      const aapl = r.results.get('AAPL');
      served.push(aapl?.status === 'ok' ? aapl.value.provider : aapl?.status);
    }
    expect(served).toEqual(['primary', 'primary', 'backup', 'backup']);
  });
});

describe('ProviderRegistry with a provider that breaks the contract', () => {
  it('turns a rejection into errors and falls back', async () => {
    const clock = new ManualClock(start);
    const rude: MarketDataProvider = {
      id: 'rude',
      capabilities: { assetTypes: ['equity'], dataTypes: ['price'] },
      maxBatchSize: 10,
      rateLimits: [],
      fetch: () => Promise.reject(new Error('socket hang up')),
    };
    const registry = new ProviderRegistry({
      providers: [rude, pair(clock)[1]],
      routes: { 'equity:price': ['rude', 'backup'] },
      clock,
    });
    const calls: ProviderCallEvent[] = [];
    registry.on('call', (e) => calls.push(e));
    const { results } = await registry.fetch('price', 'equity', ['AAPL']);
    expect(results.get('AAPL')).toMatchObject({ status: 'ok', value: { provider: 'backup' } });
    expect(calls[0]).toMatchObject({
      provider: 'rude',
      outcome: 'error',
      errorCode: ProviderErrorCode.INTERNAL,
    });
  });
});

describe('ProviderRegistry with symbols a provider left out of its answer', () => {
  /** Answers only the symbols it is told to, and leaves the others out of `results`. */
  function terse(id: string, answers: readonly string[]): MarketDataProvider {
    return {
      id,
      capabilities: { assetTypes: ['equity'], dataTypes: ['price'] },
      maxBatchSize: 10,
      rateLimits: [],
      fetch: (dataType, assets) => {
        const results = new Map(
          assets
            .filter((a) => answers.includes(a.symbol))
            .map((a) => [
              a.symbol,
              {
                status: 'ok' as const,
                value: market.quote(a, Date.parse(start), id)!,
              },
            ]),
        );
        return Promise.resolve({
          provider: id,
          dataType,
          results: results as never,
          latencyMs: 1,
          outcome: 'ok' as const,
        });
      },
    };
  }

  it('asks the next provider for an omitted symbol instead of calling it not-found', async () => {
    const clock = new ManualClock(start);
    const registry = new ProviderRegistry({
      providers: [terse('terse', ['AAPL']), pair(clock)[1]],
      routes: { 'equity:price': ['terse', 'backup'] },
      clock,
    });
    const fallback = waitForEvent<[FallbackEvent]>(registry, 'fallback');
    const { results, calls } = await registry.fetch('price', 'equity', ['AAPL', 'MSFT', 'NOPE1']);
    expect(calls.map((c) => c.provider)).toEqual(['terse', 'backup']);
    expect(results.get('AAPL')).toMatchObject({ status: 'ok', value: { provider: 'terse' } });
    expect(results.get('MSFT')).toMatchObject({ status: 'ok', value: { provider: 'backup' } });
    // Only the backup's positive answer makes NOPE1 not-found.
    expect(results.get('NOPE1')).toEqual({ status: 'not-found' });
    expect((await fallback)[0]).toMatchObject({ from: 'terse', to: 'backup', symbols: 2 });
  });

  it('answers OMITTED, never not-found, when the last provider left a symbol out', async () => {
    const registry = new ProviderRegistry({
      providers: [terse('terse', ['AAPL'])],
      routes: { 'equity:price': ['terse'] },
      clock: new ManualClock(start),
    });
    const msft = (await registry.fetch('price', 'equity', ['AAPL', 'MSFT'])).results.get('MSFT');
    expect(msft?.status).toBe('error');
    expect(msft?.status === 'error' && [msft.error.code, msft.error.providerId]).toEqual([
      ProviderErrorCode.OMITTED,
      'terse',
    ]);
    expect(msft?.status === 'error' && msft.error.retryable).toBe(true);
  });

  it('falls back from Polygon, whose snapshot leaves unknown tickers out, over real HTTP', async () => {
    const clock = new ManualClock(start);
    const fixture = await startPolygonFixture();
    open.push(() => fixture.close());
    // Known to the simulated market, absent from the Polygon fixture.
    const elsewhere = market.universe.equity.find((s) => POLYGON_TICKERS[s] === undefined)!;
    const registry = new ProviderRegistry({
      providers: [
        new PolygonProvider({ baseUrl: fixture.url, apiKey: POLYGON_KEY, clock }),
        pair(clock)[1],
      ],
      routes: { 'equity:price': ['polygon', 'backup'] },
      clock,
    });
    const { results, calls } = await registry.fetch('price', 'equity', ['AAPL', elsewhere]);
    expect(fixture.requests[0]!.query.get('tickers')).toBe(`AAPL,${elsewhere}`);
    expect(calls.map((c) => c.provider)).toEqual(['polygon', 'backup']);
    expect(results.get('AAPL')).toMatchObject({ status: 'ok', value: { provider: 'polygon' } });
    expect(results.get(elsewhere)).toMatchObject({ status: 'ok', value: { provider: 'backup' } });
  });
});

describe('ProviderRegistry.fetch with an AbortSignal', () => {
  /** Every symbol has an ABORTED error; returns the errors by symbol. */
  function expectAborted(
    results: ReadonlyMap<string, unknown>,
    symbols: readonly string[],
  ): ProviderError[] {
    return symbols.map((symbol) => {
      const result = results.get(symbol) as AssetResult | undefined;
      expect([symbol, result?.status]).toEqual([symbol, 'error']);
      if (result?.status !== 'error') throw new Error('unreachable');
      expect([symbol, result.error.code]).toEqual([symbol, ProviderErrorCode.ABORTED]);
      return result.error;
    });
  }

  it('stops at once: the call in flight is cancelled, no further chunk, permit or fallback', async () => {
    const clock = new ManualClock(start);
    const fixture = await startPolygonFixture();
    open.push(() => fixture.close());
    fixture.mode = 'hang';
    const registry = new ProviderRegistry({
      providers: [
        new PolygonProvider({
          baseUrl: fixture.url,
          apiKey: POLYGON_KEY,
          clock,
          maxBatchSize: 1,
          timeoutMs: 30_000,
        }),
        pair(clock)[1],
      ],
      routes: { 'equity:price': ['polygon', 'backup'] },
      concurrency: 1,
      clock,
    });
    const controller = new AbortController();
    const arrived = waitForEvent(fixture.events, 'request', { description: 'the first call' });
    const closed = waitForEvent<[RecordedRequest]>(fixture.events, 'aborted', {
      description: 'the fixture to see the socket closed',
    });
    const symbols = ['AAPL', 'MSFT', 'BRK.B'];
    const fetching = registry.fetch('price', 'equity', symbols, { signal: controller.signal });
    await arrived;
    controller.abort();
    const { results, calls } = await withDeadline(fetching, 1_000, 'fetch to stop after abort');
    expectAborted(results, symbols);
    expect((await closed)[0].query.get('tickers')).toBe('AAPL');
    expect(fixture.requests).toHaveLength(1);
    expect(calls.map((c) => c.provider)).toEqual(['polygon']);
    // One permit for the one call made; none for the chunks never started, none for the backup.
    expect((await registry.remaining('polygon')).windows[0]!.used).toBe(1);
    expect((await registry.remaining('backup')).windows[0]!.used).toBe(0);
  });

  it('does not fall back after an abort: a symbol whose provider failed meanwhile is ABORTED too', async () => {
    const clock = new ManualClock(start);
    // AAPL hangs; MSFT fails at once with a 503, which would normally move it to the backup.
    const fixture = await startFixtureServer((request) =>
      request.query.get('tickers') === 'AAPL'
        ? 'hang'
        : json(503, { status: 'ERROR', error: 'Service unavailable' }),
    );
    open.push(() => fixture.close());
    const registry = new ProviderRegistry({
      providers: [
        new PolygonProvider({ baseUrl: fixture.url, clock, maxBatchSize: 1, timeoutMs: 30_000 }),
        pair(clock)[1],
      ],
      routes: { 'equity:price': ['polygon', 'backup'] },
      concurrency: 2,
      clock,
    });
    const failed = waitForEvent<[ProviderCallEvent]>(registry, 'call', {
      filter: (e) => e.outcome === 'error',
      description: 'the 503',
    });
    const controller = new AbortController();
    const fetching = registry.fetch('price', 'equity', ['AAPL', 'MSFT'], {
      signal: controller.signal,
    });
    await failed;
    controller.abort();
    const { results, calls } = await withDeadline(fetching, 1_000, 'fetch to stop after abort');
    const [, msft] = expectAborted(results, ['AAPL', 'MSFT']);
    // The 503 it had before the abort is kept as the cause.
    expect((msft!.cause as ProviderError).code).toBe(ProviderErrorCode.UPSTREAM);
    expect(calls.map((c) => c.provider)).not.toContain('backup');
    expect((await registry.remaining('backup')).windows[0]!.used).toBe(0);
  });

  it('asks nobody, not even the limiter, when the signal has already fired', async () => {
    const clock = new ManualClock(start);
    const fixture = await startPolygonFixture();
    open.push(() => fixture.close());
    const registry = new ProviderRegistry({
      providers: [new PolygonProvider({ baseUrl: fixture.url, apiKey: POLYGON_KEY, clock })],
      routes: { 'equity:price': ['polygon'] },
      clock,
    });
    const { results, calls } = await registry.fetch('price', 'equity', ['AAPL'], {
      signal: AbortSignal.abort(),
    });
    expectAborted(results, ['AAPL']);
    expect(calls).toEqual([]);
    expect(fixture.requests).toHaveLength(0);
    expect((await registry.remaining('polygon')).windows[0]!.used).toBe(0);
  });

  it('stops an in-process provider that waits out its latency', async () => {
    const clock = new ManualClock(start);
    let sleeping!: () => void;
    const asleep = new Promise<void>((resolve) => (sleeping = resolve));
    const slow = new SimulatedProvider({
      profile: profile('equities-batch', { id: 'slow', failureRate: 0 }),
      market,
      clock,
      // A wait that never ends: only the signal can stop it.
      sleep: () => {
        sleeping();
        return new Promise<void>(() => undefined);
      },
    });
    const registry = new ProviderRegistry({
      providers: [slow],
      routes: { 'equity:price': ['slow'] },
      clock,
    });
    const controller = new AbortController();
    const fetching = registry.fetch('price', 'equity', ['AAPL'], { signal: controller.signal });
    await withDeadline(asleep, 1_000, 'the provider to wait out its latency');
    controller.abort();
    const { results } = await withDeadline(fetching, 1_000, 'fetch to stop after abort');
    expectAborted(results, ['AAPL']);
  });
});
