import { afterEach, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@fiml/market';
import {
  FinnhubProvider,
  ProviderError,
  ProviderErrorCode,
  ProviderRegistry,
  SIMULATED_PROFILES,
  SimHttpProvider,
  earningsEventSchema,
  hasEarningsCalendar,
  type EarningsEvent,
  type MarketDataProvider,
} from '@fiml/providers';
import {
  SimulatedMarket,
  SimulatedProvider,
  createSimulatedProviders,
  startSimulatedProviderServer,
} from '../src/index.js';
import { FINNHUB_KEY, type FixtureServer, json, startFixtureServer } from '@fiml/providers/testing';

/** Thanksgiving week 2026: Thursday closed, Friday closes at 13:00. */
const monday = Date.parse('2026-11-23T05:00:00Z'); // 00:00 ET
const friday = Date.parse('2026-11-27T22:00:00Z'); // 17:00 ET
const clock = new ManualClock('2026-11-23T14:30:00Z');
const market = new SimulatedMarket({ seed: 42, equities: 300, crypto: 20 });

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

describe('the simulated earnings calendar', () => {
  it('is published by the reference upstream only, in-process and over HTTP alike', async () => {
    const providers = createSimulatedProviders({ seed: 42, market, clock, failureRate: 0 });
    expect(providers.filter(hasEarningsCalendar).map((p) => p.id)).toEqual(['sim-reference']);
    const inProcess = await providers.find((p) => p.id === 'sim-reference')!.earningsCalendar!(
      monday,
      friday,
    );

    const server = await startSimulatedProviderServer({
      seed: 42,
      clock,
      failureRate: 0,
      market: { equities: 300, crypto: 20 },
      apiKey: 'sim-key',
    });
    open.push(() => server.close());
    const overHttp = new SimHttpProvider({
      baseUrl: server.url,
      profile: 'reference-single',
      apiKey: 'sim-key',
    });
    expect(hasEarningsCalendar(overHttp)).toBe(true);
    expect(
      hasEarningsCalendar(new SimHttpProvider({ baseUrl: server.url, profile: 'equities-batch' })),
    ).toBe(false);
    expect(await overHttp.earningsCalendar!(monday, friday)).toEqual(inProcess);

    expect(inProcess.length).toBeGreaterThan(0);
    for (const event of inProcess) {
      expect(event.provider).toBe('sim-reference');
      expect(earningsEventSchema.parse(event)).toMatchObject({ symbol: event.symbol });
      expect(event.date).not.toBe('2026-11-26');
      expect(['before-open', 'after-close']).toContain(event.session);
    }
  });

  it('asks for the exchange dates of its instants: 23:00 ET on Tuesday is still Tuesday', async () => {
    const reference = new SimulatedProvider({ profile: 'reference-single', market, clock });
    const tuesdayNight = Date.parse('2026-11-25T04:00:00Z'); // 23:00 ET on the 24th
    const events = await reference.earningsCalendar!(tuesdayNight, tuesdayNight);
    expect(new Set(events.map((e) => e.date))).toEqual(new Set(['2026-11-24']));
  });

  it('refuses an aborted call with ABORTED, and the HTTP adapter a range over 92 days', async () => {
    const reference = new SimulatedProvider({ profile: 'reference-single', market, clock });
    const controller = new AbortController();
    controller.abort();
    await expect(
      reference.earningsCalendar!(monday, friday, { signal: controller.signal }),
    ).rejects.toMatchObject({ code: ProviderErrorCode.ABORTED });
    const overHttp = new SimHttpProvider({
      baseUrl: 'http://127.0.0.1:9',
      profile: 'reference-single',
    });
    await expect(
      overHttp.earningsCalendar!(monday, monday + 100 * 86_400_000),
    ).rejects.toMatchObject({ code: ProviderErrorCode.BAD_REQUEST });
  });
});

describe('ProviderRegistry.earningsCalendar', () => {
  const equities = () =>
    new SimulatedProvider({ profile: 'equities-batch', market, clock, failureRate: 0 });

  it('is empty, and never throws, when no provider has the capability', async () => {
    const registry = new ProviderRegistry({
      providers: [equities()],
      routes: { 'equity:price': ['sim-equities'] },
      clock,
    });
    expect(await registry.earningsCalendar(monday, friday)).toEqual({
      events: [],
      answered: [],
      errors: [],
    });
  });

  it('gathers every source once, keeps the first of two reports, and returns a failing one as an error', async () => {
    const failing: MarketDataProvider = {
      id: 'broken',
      capabilities: { assetTypes: ['equity'], dataTypes: ['price'] },
      maxBatchSize: 1,
      rateLimits: [{ limit: 5, windowMs: 60_000 }],
      fetch: () => Promise.reject(new Error('unused')),
      earningsCalendar: () =>
        Promise.reject(
          new ProviderError(ProviderErrorCode.UPSTREAM, '503', { providerId: 'broken' }),
        ),
    };
    const reference = new SimulatedProvider({ profile: 'reference-single', market, clock });
    const own = await reference.earningsCalendar!(monday, friday);
    const first = own[0]!;
    const echo: MarketDataProvider = {
      ...failing,
      id: 'echo',
      // Reports the reference's first release again (it is dropped) and one of its own.
      earningsCalendar: () =>
        Promise.resolve<EarningsEvent[]>([
          { ...first, provider: 'echo' },
          { ...first, symbol: 'ZZECHO', provider: 'echo' },
        ]),
    };
    const registry = new ProviderRegistry({
      providers: [reference, failing, echo, equities()],
      routes: { 'equity:price': ['sim-equities'] },
      clock,
    });
    const budgetBefore = (await registry.remaining('sim-reference')).remaining;
    const result = await registry.earningsCalendar(monday, friday);
    expect(result.answered).toEqual(['sim-reference', 'echo']);
    expect(result.errors.map((e) => [e.provider, e.error.code])).toEqual([
      ['broken', ProviderErrorCode.UPSTREAM],
    ]);
    expect(result.events).toHaveLength(own.length + 1);
    expect(result.events.find((e) => e.symbol === first.symbol)?.provider).toBe('sim-reference');
    expect(result.events.some((e) => e.symbol === 'ZZECHO')).toBe(true);
    // One upstream call each, under the shared limiter.
    expect((await registry.remaining('sim-reference')).remaining).toBe(budgetBefore - 1);
  });

  it('asks a provider whose window is spent for nothing: BUDGET_EXHAUSTED', async () => {
    const reference = new SimulatedProvider({
      profile: {
        ...SIMULATED_PROFILES['reference-single'],
        rateLimits: [{ limit: 1, windowMs: 60_000 }],
      },
      market,
      clock,
    });
    const registry = new ProviderRegistry({
      providers: [reference],
      routes: { 'equity:news': ['sim-reference'] },
      clock,
    });
    expect((await registry.earningsCalendar(monday, friday, { keep: 1 })).errors).toEqual([
      expect.objectContaining({
        provider: 'sim-reference',
        error: expect.objectContaining({ code: ProviderErrorCode.BUDGET_EXHAUSTED }),
      }),
    ]);
  });
});

describe('finnhub earnings calendar (fixture server)', () => {
  async function finnhubFixture(): Promise<FixtureServer> {
    const fixture = await startFixtureServer((request) => {
      if (request.path !== '/api/v1/calendar/earnings') return json(404, { error: 'Not found' });
      if (request.headers['x-finnhub-token'] !== FINNHUB_KEY)
        return json(401, { error: 'Invalid API key' });
      if (fixture.mode === 'server-error') return json(502, { error: 'Bad gateway' });
      if (fixture.mode === 'wrong-shape') return json(200, { earningsCalendar: 'none' });
      return json(200, {
        earningsCalendar: [
          {
            date: '2026-11-24',
            hour: 'amc',
            symbol: 'ADSK',
            quarter: 3,
            year: 2026,
            epsEstimate: 2.1,
            epsActual: null,
          },
          { date: '2026-11-24', hour: 'amc', symbol: 'ADSK', quarter: 3, year: 2026 },
          { date: '2026-11-25', hour: 'bmo', symbol: 'DE', quarter: 4, year: 2026 },
          { date: '2026-11-27', hour: 'amc', symbol: 'brk.b', quarter: 3, year: 2026 },
          { date: '2026-11-23', hour: 'dmh', symbol: 'ZM', quarter: 3, year: 2026 },
          { date: '2026-11-23', hour: '', symbol: 'XYZ', quarter: 3, year: 2026 },
          { date: '2026-11-26', hour: null, symbol: 'HOLI', quarter: 3, year: 2026 },
          { date: '2026-11-24', hour: 'bmo', symbol: '0700 HK', quarter: 3, year: 2026 },
        ],
      });
    });
    open.push(() => fixture.close());
    return fixture;
  }

  it('maps hours to sessions and instants on the NYSE calendar, key in a header, bad symbols out', async () => {
    const fixture = await finnhubFixture();
    const finnhub = new FinnhubProvider({ baseUrl: fixture.url, apiKey: FINNHUB_KEY, clock });
    expect(hasEarningsCalendar(finnhub)).toBe(true);
    const events = await finnhub.earningsCalendar(monday, friday);
    expect(fixture.requests).toHaveLength(1);
    const request = fixture.requests[0]!;
    expect([request.query.get('from'), request.query.get('to')]).toEqual([
      '2026-11-23',
      '2026-11-27',
    ]);
    expect(request.query.has('token')).toBe(false);
    const et = (local: string) => Date.parse(`${local}-05:00`);
    expect(events.map((e) => [e.symbol, e.date, e.session, e.at])).toEqual([
      ['XYZ', '2026-11-23', 'unknown', et('2026-11-23T09:30:00')],
      ['ZM', '2026-11-23', 'during-session', et('2026-11-23T09:30:00')],
      ['ADSK', '2026-11-24', 'after-close', et('2026-11-24T16:00:00')],
      ['DE', '2026-11-25', 'before-open', et('2026-11-25T09:30:00')],
      // A release dated on the Thanksgiving holiday meets the market at Friday's open.
      ['HOLI', '2026-11-26', 'unknown', et('2026-11-27T09:30:00')],
      // Friday closes early, at 13:00.
      ['BRK.B', '2026-11-27', 'after-close', et('2026-11-27T13:00:00')],
    ]);
    for (const e of events) expect(e.provider).toBe('finnhub');
  });

  it('rejects with the adapter error codes when the API fails or changes shape', async () => {
    const fixture = await finnhubFixture();
    const finnhub = new FinnhubProvider({ baseUrl: fixture.url, apiKey: FINNHUB_KEY, clock });
    fixture.mode = 'server-error';
    await expect(finnhub.earningsCalendar(monday, friday)).rejects.toMatchObject({
      code: ProviderErrorCode.UPSTREAM,
      providerId: 'finnhub',
    });
    fixture.mode = 'wrong-shape';
    await expect(finnhub.earningsCalendar(monday, friday)).rejects.toMatchObject({
      code: ProviderErrorCode.BAD_RESPONSE,
    });
    const anonymous = new FinnhubProvider({ baseUrl: fixture.url, clock });
    fixture.mode = 'ok';
    await expect(anonymous.earningsCalendar(monday, friday)).rejects.toMatchObject({
      code: ProviderErrorCode.AUTH,
    });
  });
});
