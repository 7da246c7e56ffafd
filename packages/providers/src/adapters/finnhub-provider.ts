import {
  NyseCalendar,
  normalizeSymbol,
  systemClock,
  type Clock,
  type DataType,
} from '@fiml/market';
import { z } from 'zod';
import { BaseProvider, omitted, type BatchAnswer } from '../base-provider.js';
import {
  earningsInstant,
  earningsKey,
  exchangeDateRange,
  type EarningsEvent,
  type EarningsSession,
} from '../earnings/earnings-event.js';
import { getJson, parseBody, type HttpJsonRequest } from '../http/http-json.js';
import type { AssetRef, AssetResult, PriceQuote } from '../model.js';
import type { FetchOptions, ProviderCapabilities } from '../provider.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';
import { httpRequest, joinUrl, type HttpAdapterOptions } from './http-adapter-options.js';

/** Free plan: 60 calls a minute, and never more than 30 in one second. */
export const FINNHUB_RATE_LIMITS: readonly RateLimitWindow[] = [
  { limit: 60, windowMs: 60_000 },
  { limit: 30, windowMs: 1_000 },
];

export const FINNHUB_BASE_URL = 'https://finnhub.io';

/**
 * `{"c":261.74,"d":-1.2,"dp":-0.4543,"h":263.31,"l":260.68,"o":261.07,"pc":262.94,"t":1727880000}`.
 * An unknown symbol is answered 200 with zeros and nulls.
 */
const quoteSchema = z.object({
  c: z.number(),
  d: z.number().nullable(),
  dp: z.number().nullable(),
  h: z.number().nullable().optional(),
  l: z.number().nullable().optional(),
  o: z.number().nullable().optional(),
  pc: z.number().nullable().optional(),
  t: z.number(),
});

/**
 * `GET /api/v1/calendar/earnings?from=2026-11-23&to=2026-11-27`:
 * `{"earningsCalendar":[{"date":"2026-11-24","hour":"amc","symbol":"ADSK","quarter":3,"year":2026,
 * "epsEstimate":2.1,"epsActual":null,"revenueEstimate":1.6e9,"revenueActual":null}]}`.
 * Only the fields we use are required; `hour` is "bmo", "amc", "dmh" (during market hours) or "".
 */
const earningsCalendarSchema = z.object({
  earningsCalendar: z.array(
    z.object({
      date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      hour: z.string().nullable().optional(),
      symbol: z.string(),
    }),
  ),
});

const FINNHUB_HOURS: Readonly<Record<string, EarningsSession>> = {
  bmo: 'before-open',
  amc: 'after-close',
  dmh: 'during-session',
};

/** The options of {@link FinnhubProvider}. */
export interface FinnhubProviderOptions extends HttpAdapterOptions {
  /** Exchange dates and session times of earnings releases. @defaultValue a new NyseCalendar() */
  readonly calendar?: NyseCalendar;
}

/**
 * Finnhub `GET /api/v1/quote?symbol=AAPL`: one equity per call. The key goes
 * in the `X-Finnhub-Token` header, not the `token` query parameter, so it
 * never appears in a URL. Mapping: price = `c`, change = `d`, changePercent =
 * `dp`, asOf = `t` × 1000; the endpoint reports no volume. Finnhub's answer
 * for a symbol it does not know is a 200 of zeros and nulls (`c`, `pc` and
 * `t` 0, `d` and `dp` null): that, and only that, is not-found; any other
 * answer without a positive `c` is OMITTED (no answer, try the next provider).
 *
 * Earnings calendar: `GET /api/v1/calendar/earnings?from=&to=` (US listings;
 * the free plan serves about a month per call). Symbols that are not
 * normalized tickers are left out, as are repeats of a symbol and date.
 */
export class FinnhubProvider extends BaseProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities = { assetTypes: ['equity'], dataTypes: ['price'] };
  readonly maxBatchSize = 1;
  readonly rateLimits: readonly RateLimitWindow[];
  readonly #options: FinnhubProviderOptions;
  readonly #clock: Clock;
  readonly #calendar: NyseCalendar;

  constructor(options: FinnhubProviderOptions = {}) {
    super();
    this.id = options.id ?? 'finnhub';
    this.rateLimits = options.rateLimits ?? FINNHUB_RATE_LIMITS;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#calendar = options.calendar ?? new NyseCalendar();
  }

  /** Earnings releases on the exchange dates of `from` through `to`, from Finnhub's calendar. */
  async earningsCalendar(
    from: number,
    to: number,
    options: FetchOptions = {},
  ): Promise<EarningsEvent[]> {
    const dates = exchangeDateRange(this.#calendar, from, to);
    const url = joinUrl(this.#options.baseUrl ?? FINNHUB_BASE_URL, '/api/v1/calendar/earnings');
    url.searchParams.set('from', dates.from);
    url.searchParams.set('to', dates.to);
    const request = this.#request(url, options);
    const body = parseBody(earningsCalendarSchema, await getJson(request), request);
    const seen = new Set<string>();
    const events: EarningsEvent[] = [];
    for (const row of body.earningsCalendar) {
      const symbol = normalizeSymbol(row.symbol);
      if (symbol === undefined || row.date < dates.from || row.date > dates.to) continue;
      const key = earningsKey({ symbol, date: row.date });
      if (seen.has(key)) continue;
      seen.add(key);
      const session = FINNHUB_HOURS[row.hour ?? ''] ?? 'unknown';
      events.push({
        symbol,
        assetType: 'equity',
        date: row.date,
        session,
        at: earningsInstant(this.#calendar, row.date, session),
        provider: this.id,
      });
    }
    return events.sort((a, b) => a.at - b.at || a.symbol.localeCompare(b.symbol));
  }

  #request(url: URL, options: FetchOptions): HttpJsonRequest {
    // Without a Retry-After or X-Ratelimit-Reset header, wait out the minute window.
    return httpRequest({
      providerId: this.id,
      options: this.#options,
      clock: this.#clock,
      url,
      call: options,
      headers: this.#options.apiKey ? { 'x-finnhub-token': this.#options.apiKey } : {},
      defaultRetryAfterMs: 60_000,
    });
  }

  protected async fetchBatch(
    _dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer> {
    const asset = assets[0]!;
    const url = joinUrl(this.#options.baseUrl ?? FINNHUB_BASE_URL, '/api/v1/quote');
    url.searchParams.set('symbol', asset.symbol);
    const request = this.#request(url, options);
    const body = parseBody(quoteSchema, await getJson(request), request);
    if (!(body.c > 0)) {
      const unknown =
        body.c === 0 && body.t === 0 && !body.pc && body.d === null && body.dp === null;
      const result: AssetResult = unknown
        ? { status: 'not-found' }
        : omitted(this.id, asset.symbol, 'held no positive price');
      return { results: new Map([[asset.symbol, result]]) };
    }
    const quote: PriceQuote = {
      symbol: asset.symbol,
      assetType: 'equity',
      price: body.c,
      currency: 'USD',
      ...(body.d === null ? {} : { change: body.d }),
      ...(body.dp === null ? {} : { changePercent: body.dp }),
      asOf: body.t > 0 ? body.t * 1000 : this.#clock.now(),
      provider: this.id,
    };
    return {
      results: new Map<string, AssetResult>([[asset.symbol, { status: 'ok', value: quote }]]),
    };
  }
}
