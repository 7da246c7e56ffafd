import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ManualClock, type AssetType } from '@fiml/market';
import { waitForEvent, withDeadline } from '@fiml/testing';
import {
  CoinGeckoProvider,
  FinnhubProvider,
  MAX_ERROR_BODY_CHARS,
  PolygonProvider,
  ProviderError,
  ProviderErrorCode,
  SimHttpProvider,
  priceQuoteSchema,
  type BaseProvider,
  type ProviderCallEvent,
  type ProviderResponse,
} from '../src/index.js';
import {
  COINGECKO_KEY,
  COINGECKO_PRICELESS_ID,
  FINNHUB_KEY,
  type FixtureServer,
  POLYGON_KEY,
  POLYGON_TICKERS,
  startCoinGeckoFixture,
  startFinnhubFixture,
  startPolygonFixture,
} from '../src/testing/index.js';

/**
 * One contract, every real adapter: each runs against a local fixture server
 * that speaks its API's real success, error and 429 shapes.
 */
interface AdapterCase {
  readonly name: string;
  readonly start: () => Promise<FixtureServer>;
  /** Builds the adapter with the options every case shares, plus its own key and settings. */
  readonly make: (common: CommonOptions) => BaseProvider;
  readonly assetType: AssetType;
  /** Symbols the fixture knows; a batch adapter gets them in one call. */
  readonly known: readonly string[];
  readonly unknown: string;
  /**
   * What the adapter makes of `unknown`: not-found where the API positively
   * says a symbol does not exist, OMITTED where its answer just leaves it out.
   */
  readonly unknownIs: 'not-found' | 'omitted';
  /** A symbol the API lists without a price: never not-found. */
  readonly priceless: string;
  /** The API key must not appear in any URL the adapter requests. */
  readonly apiKey: string;
}

const clock = new ManualClock('2026-11-24T15:00:00Z');

interface CommonOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes?: number;
  readonly clock: ManualClock;
}
const common = (baseUrl: string, timeoutMs: number, maxResponseBytes?: number): CommonOptions => ({
  baseUrl,
  timeoutMs,
  ...(maxResponseBytes === undefined ? {} : { maxResponseBytes }),
  clock,
});

const cases: AdapterCase[] = [
  {
    name: 'coingecko',
    start: startCoinGeckoFixture,
    make: (options) =>
      new CoinGeckoProvider({
        ...options,
        apiKey: COINGECKO_KEY,
        ids: { DEAD: COINGECKO_PRICELESS_ID },
      }),
    assetType: 'crypto',
    known: ['BTC', 'ETH', 'SOL'],
    // Mapped to "dogecoin", which the fixture leaves out, as CoinGecko does with ids it does not know.
    unknown: 'DOGE',
    unknownIs: 'omitted',
    priceless: 'DEAD',
    apiKey: COINGECKO_KEY,
  },
  {
    name: 'finnhub',
    start: startFinnhubFixture,
    make: (options) => new FinnhubProvider({ ...options, apiKey: FINNHUB_KEY }),
    assetType: 'equity',
    known: ['AAPL'],
    unknown: 'ZZZZ',
    unknownIs: 'not-found',
    priceless: 'HALT',
    apiKey: FINNHUB_KEY,
  },
  {
    name: 'polygon',
    start: startPolygonFixture,
    make: (options) => new PolygonProvider({ ...options, apiKey: POLYGON_KEY }),
    assetType: 'equity',
    known: ['AAPL', 'MSFT', 'BRK.B'],
    unknown: 'ZZZZ',
    unknownIs: 'omitted',
    priceless: 'HALT',
    apiKey: POLYGON_KEY,
  },
];

describe.each(cases)('$name adapter contract', (c) => {
  let fixture: FixtureServer;
  let provider: BaseProvider;
  beforeEach(async () => {
    fixture = await c.start();
    provider = c.make(common(fixture.url, 2_000));
  });
  afterEach(async () => {
    await fixture.close();
  });

  const assets = (symbols: readonly string[]) =>
    symbols.map((symbol) => ({ symbol, assetType: c.assetType }));

  function expectCallError(
    response: ProviderResponse,
    symbols: readonly string[],
    code: string,
  ): ProviderError {
    let first: ProviderError | undefined;
    for (const symbol of symbols) {
      const result = response.results.get(symbol);
      expect(result?.status).toBe('error');
      if (result?.status !== 'error') throw new Error('unreachable');
      expect(result.error).toBeInstanceOf(ProviderError);
      expect(result.error.code).toBe(code);
      expect(result.error.providerId).toBe(c.name);
      first ??= result.error;
    }
    return first!;
  }

  it('maps a successful answer to validated quotes, one call per batch, key never in the URL', async () => {
    const events = waitForEvent<[ProviderCallEvent]>(provider, 'call');
    const response = await provider.fetch('price', assets(c.known));
    expect(response.outcome).toBe('ok');
    for (const symbol of c.known) {
      const result = response.results.get(symbol);
      expect(result?.status).toBe('ok');
      if (result?.status !== 'ok') continue;
      expect(priceQuoteSchema.parse(result.value)).toEqual(result.value);
      expect(result.value).toMatchObject({
        symbol,
        assetType: c.assetType,
        currency: 'USD',
        provider: c.name,
      });
      expect(result.value.price).toBeGreaterThan(0);
      expect(result.value.asOf).toBeGreaterThan(Date.UTC(2024, 0, 1));
    }
    expect(fixture.requests).toHaveLength(1);
    expect(fixture.requests[0]!.query.toString()).not.toContain(c.apiKey);
    const [event] = await events;
    expect(event).toMatchObject({
      provider: c.name,
      dataType: 'price',
      symbols: c.known.length,
      outcome: 'ok',
      ok: c.known.length,
    });
  });

  it('answers not-found only where the API says a symbol does not exist, and only for it', async () => {
    const symbols = provider.maxBatchSize > 1 ? [c.known[0]!, c.unknown] : [c.unknown];
    const response = await provider.fetch('price', assets(symbols));
    if (c.unknownIs === 'not-found') {
      expect(response.results.get(c.unknown)).toEqual({ status: 'not-found' });
    } else {
      // Left out of the answer: no answer, so the registry asks the next provider.
      const error = expectCallError(response, [c.unknown], ProviderErrorCode.OMITTED);
      expect(error.retryable).toBe(true);
    }
    if (provider.maxBatchSize > 1) expect(response.results.get(c.known[0]!)?.status).toBe('ok');
    const alone =
      provider.maxBatchSize > 1 ? 'ok' : c.unknownIs === 'not-found' ? 'not-found' : 'error';
    expect(response.outcome).toBe(alone);
  });

  it('marks a symbol the API lists without a price OMITTED, never not-found', async () => {
    const response = await provider.fetch('price', assets([c.priceless]));
    expectCallError(response, [c.priceless], ProviderErrorCode.OMITTED);
  });

  it('turns a 429 into RATE_LIMITED with the Retry-After for every asset', async () => {
    fixture.mode = 'rate-limited';
    const events = waitForEvent<[ProviderCallEvent]>(provider, 'call');
    const response = await provider.fetch('price', assets(c.known));
    const error = expectCallError(response, c.known, ProviderErrorCode.RATE_LIMITED);
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(7_000);
    expect(error.retryable).toBe(true);
    expect(response).toMatchObject({ outcome: 'rate-limited', retryAfterMs: 7_000 });
    const [event] = await events;
    expect(event).toMatchObject({
      outcome: 'rate-limited',
      errors: c.known.length,
      errorCode: ProviderErrorCode.RATE_LIMITED,
    });
  });

  it('assumes the minute window when a 429 carries no Retry-After', async () => {
    fixture.mode = 'rate-limited';
    fixture.retryAfterSeconds = undefined;
    const response = await provider.fetch('price', assets(c.known));
    expect(expectCallError(response, c.known, ProviderErrorCode.RATE_LIMITED).retryAfterMs).toBe(
      60_000,
    );
  });

  it('turns a 5xx into a retryable UPSTREAM error', async () => {
    fixture.mode = 'server-error';
    const response = await provider.fetch('price', assets(c.known));
    const error = expectCallError(response, c.known, ProviderErrorCode.UPSTREAM);
    expect(error.status).toBeGreaterThanOrEqual(500);
    expect(error.retryable).toBe(true);
    expect(response.outcome).toBe('error');
  });

  it('gives up at the timeout with a TIMEOUT error', async () => {
    fixture.mode = 'hang';
    const impatient = c.make(common(fixture.url, 100));
    const response = await impatient.fetch('price', assets(c.known));
    expectCallError(response, c.known, ProviderErrorCode.TIMEOUT);
  });

  it('cancels the call in flight when the caller aborts: ABORTED, the server sees the socket closed', async () => {
    fixture.mode = 'hang';
    const patient = c.make(common(fixture.url, 30_000));
    const controller = new AbortController();
    const arrived = waitForEvent(fixture.events, 'request');
    const closed = waitForEvent(fixture.events, 'aborted', { description: 'the socket to close' });
    const fetching = patient.fetch('price', assets(c.known), { signal: controller.signal });
    await arrived;
    controller.abort();
    const response = await withDeadline(fetching, 1_000, 'the aborted call to end');
    expectCallError(response, c.known, ProviderErrorCode.ABORTED);
    await closed;
  });

  it('reports malformed JSON as BAD_RESPONSE with the provider id and a truncated body', async () => {
    fixture.mode = 'malformed';
    const response = await provider.fetch('price', assets(c.known));
    const error = expectCallError(response, c.known, ProviderErrorCode.BAD_RESPONSE);
    expect(error.message).toContain(c.name);
    expect(error.body!.length).toBeLessThan(MAX_ERROR_BODY_CHARS + 40);
    expect(error.body).toMatch(/^\{"truncated"/);
    expect(error.body).toMatch(/… \(\d+ chars\)$/);
    expect(error.retryable).toBe(false);
  });

  it('stops reading an answer that never ends at its bound: BAD_RESPONSE, the connection dropped, before the timeout', async () => {
    fixture.mode = 'endless';
    const bounded = c.make(common(fixture.url, 30_000, 1024 * 1024));
    const closed = waitForEvent(fixture.events, 'aborted', { description: 'the socket to close' });
    const response = await withDeadline(
      bounded.fetch('price', assets(c.known)),
      10_000,
      'the call to give up on the body',
    );
    const error = expectCallError(response, c.known, ProviderErrorCode.BAD_RESPONSE);
    expect(error.message).toContain('is larger than 1048576 bytes');
    expect(error.retryable).toBe(false);
    await closed;
  });

  it('reports a schema mismatch as BAD_RESPONSE naming the field', async () => {
    fixture.mode = 'wrong-shape';
    const response = await provider.fetch('price', assets(c.known));
    const error = expectCallError(response, c.known, ProviderErrorCode.BAD_RESPONSE);
    expect(error.message).toMatch(/does not match the expected shape/);
    expect(error.body).toBeDefined();
  });

  it('reports a refused key as AUTH', async () => {
    fixture.mode = 'unauthorized';
    const response = await provider.fetch('price', assets(c.known));
    const error = expectCallError(response, c.known, ProviderErrorCode.AUTH);
    expect(error.status === 401 || error.status === 403).toBe(true);
  });

  it('reports a refused connection as NETWORK, never a rejection', async () => {
    const { url } = fixture;
    await fixture.close();
    const response = await c.make(common(url, 2_000)).fetch('price', assets(c.known));
    expectCallError(response, c.known, ProviderErrorCode.NETWORK);
  });

  it('refuses a batch above maxBatchSize without calling, and assets it does not serve', async () => {
    const tooMany = Array.from({ length: provider.maxBatchSize + 1 }, (_, i) => `S${i}`);
    const response = await provider.fetch('price', assets(tooMany));
    expect(fixture.requests).toHaveLength(0);
    expectCallError(response, tooMany, ProviderErrorCode.BAD_REQUEST);
    const other = c.assetType === 'equity' ? 'crypto' : 'equity';
    const unsupported = await provider.fetch('news', [{ symbol: c.known[0]!, assetType: other }]);
    expectCallError(unsupported, [c.known[0]!], ProviderErrorCode.UNSUPPORTED);
    expect(fixture.requests).toHaveLength(0);
  });
});

describe('adapter specifics', () => {
  const open: FixtureServer[] = [];
  afterEach(async () => {
    for (const f of open.splice(0)) await f.close();
  });

  it('coingecko asks by coin id, maps 24 h change and volume, and skips unmapped tickers without a call', async () => {
    const fixture = await startCoinGeckoFixture();
    open.push(fixture);
    const provider = new CoinGeckoProvider({
      baseUrl: fixture.url,
      apiKey: COINGECKO_KEY,
      clock,
      ids: { WIF: 'dogwifcoin' },
    });
    expect(provider.coinId('BTC')).toBe('bitcoin');
    expect(provider.coinId('WIF')).toBe('dogwifcoin');
    const response = await provider.fetch('price', [
      { symbol: 'BTC', assetType: 'crypto' },
      { symbol: 'NOTMAPPED', assetType: 'crypto' },
    ]);
    expect(fixture.requests[0]!.query.get('ids')).toBe('bitcoin');
    expect(fixture.requests[0]!.query.get('vs_currencies')).toBe('usd');
    const btc = response.results.get('BTC');
    expect(btc).toEqual({
      status: 'ok',
      value: expect.objectContaining({
        price: 67187.3358,
        changePercent: 3.6356,
        volume: 31_260_929_299.52,
        asOf: 1_711_356_300_000,
      }),
    });
    if (btc?.status === 'ok')
      expect(btc.value.change).toBeCloseTo(67187.3358 - 67187.3358 / 1.036356, 6);
    // Not asked about, and not not-found: another crypto provider may know the ticker.
    const unmapped = response.results.get('NOTMAPPED');
    expect(unmapped?.status === 'error' && unmapped.error.code).toBe(ProviderErrorCode.UNSUPPORTED);

    const none = await provider.fetch('price', [{ symbol: 'NOTMAPPED', assetType: 'crypto' }]);
    expect(none.results.get('NOTMAPPED')?.status).toBe('error');
    expect(fixture.requests).toHaveLength(1);
  });

  it('the simulator adapter cancels its call in flight when the caller aborts', async () => {
    const { startFixtureServer } = await import('../src/testing/index.js');
    const fixture = await startFixtureServer(() => 'hang');
    open.push(fixture);
    const provider = new SimHttpProvider({
      baseUrl: fixture.url,
      profile: 'equities-batch',
      clock,
      timeoutMs: 30_000,
    });
    const controller = new AbortController();
    const arrived = waitForEvent(fixture.events, 'request');
    const closed = waitForEvent(fixture.events, 'aborted', { description: 'the socket to close' });
    const fetching = provider.fetch('price', [{ symbol: 'AAPL', assetType: 'equity' }], {
      signal: controller.signal,
    });
    await arrived;
    controller.abort();
    const aapl = (await withDeadline(fetching, 1_000, 'the aborted call')).results.get('AAPL');
    expect(aapl?.status === 'error' && aapl.error.code).toBe(ProviderErrorCode.ABORTED);
    await closed;
  });

  it('coingecko picks the key header and limits by plan', () => {
    expect(new CoinGeckoProvider().plan).toBe('public');
    expect(new CoinGeckoProvider({ apiKey: 'k' }).rateLimits).toEqual([
      { limit: 30, windowMs: 60_000 },
      { limit: 10_000, windowMs: 30 * 86_400_000 },
    ]);
    expect(new CoinGeckoProvider({ apiKey: 'k', plan: 'pro' }).rateLimits).toEqual([
      { limit: 500, windowMs: 60_000 },
    ]);
  });

  it('finnhub derives the wait from X-Ratelimit-Reset when there is no Retry-After', async () => {
    const { startFixtureServer, json } = await import('../src/testing/index.js');
    const resetAt = Math.floor(clock.now() / 1000) + 12;
    const fixture = await startFixtureServer(() =>
      json(
        429,
        { error: 'API limit reached. Please try again later. Remaining Limit: 0' },
        {
          'x-ratelimit-limit': '60',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(resetAt),
        },
      ),
    );
    open.push(fixture);
    const provider = new FinnhubProvider({ baseUrl: fixture.url, apiKey: FINNHUB_KEY, clock });
    const response = await provider.fetch('price', [{ symbol: 'AAPL', assetType: 'equity' }]);
    expect(response.retryAfterMs).toBe(resetAt * 1000 - clock.now());
    expect(fixture.requests[0]!.headers['x-finnhub-token']).toBe(FINNHUB_KEY);
  });

  it('polygon reads nanosecond timestamps, the last trade price and the day volume', async () => {
    const fixture = await startPolygonFixture();
    open.push(fixture);
    const provider = new PolygonProvider({ baseUrl: fixture.url, apiKey: POLYGON_KEY, clock });
    const response = await provider.fetch('price', [{ symbol: 'AAPL', assetType: 'equity' }]);
    expect(response.results.get('AAPL')).toEqual({
      status: 'ok',
      value: {
        symbol: 'AAPL',
        assetType: 'equity',
        price: 229.87,
        currency: 'USD',
        change: 1.45,
        changePercent: expect.any(Number),
        volume: 41_234_567,
        asOf: Math.floor(POLYGON_TICKERS.AAPL!.updated / 1e6),
        provider: 'polygon',
      },
    });
    expect(fixture.requests[0]!.headers.authorization).toBe(`Bearer ${POLYGON_KEY}`);
    expect(fixture.requests[0]!.query.get('tickers')).toBe('AAPL');
  });
});
