import { systemClock, type Clock, type DataType } from '@fiml/market';
import { z } from 'zod';
import { BaseProvider, omitted, type BatchAnswer } from '../base-provider.js';
import { describeUrl, getJson, parseBody } from '../http/http-json.js';
import type { AssetRef, AssetResult, PriceQuote } from '../model.js';
import type { FetchOptions, ProviderCapabilities } from '../provider.js';
import { ProviderError, ProviderErrorCode } from '../provider-error.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';
import { httpRequest, joinUrl, type HttpAdapterOptions } from './http-adapter-options.js';

/**
 * The free (Basic) plan's 5 calls a minute. Paid plans are unmetered (Polygon
 * asks to stay under about 100 requests a second); set PROVIDER_RATE_LIMITS
 * for them. Snapshots need a paid plan: the free plan answers 403.
 */
export const POLYGON_RATE_LIMITS: readonly RateLimitWindow[] = [{ limit: 5, windowMs: 60_000 }];

export const POLYGON_BASE_URL = 'https://api.polygon.io';

const agg = z
  .object({ c: z.number().nullable().optional(), v: z.number().nullable().optional() })
  .nullable()
  .optional();

/** One entry of `tickers`: fields we use; others are ignored. */
const tickerSchema = z.object({
  ticker: z.string(),
  todaysChange: z.number().nullable().optional(),
  todaysChangePerc: z.number().nullable().optional(),
  /** Nanoseconds since the epoch. */
  updated: z.number().nullable().optional(),
  day: agg,
  min: agg,
  prevDay: agg,
  lastTrade: z
    .object({ p: z.number().nullable().optional(), t: z.number().nullable().optional() })
    .nullable()
    .optional(),
});

/**
 * `{ "status": "OK", "count": 2, "tickers": [...] }`. Unknown tickers are left
 * out, and so is anything Polygon has no snapshot for at the moment: the
 * multi-ticker snapshot has no "unknown ticker" answer.
 */
const snapshotSchema = z.object({
  status: z.string(),
  tickers: z.array(tickerSchema).nullable().optional(),
});

/** Polygon timestamps are nanoseconds (some fields milliseconds); to epoch ms. */
function toEpochMs(value: number | null | undefined): number | undefined {
  if (typeof value !== 'number' || !(value > 0)) return undefined;
  if (value > 1e17) return Math.floor(value / 1e6);
  if (value > 1e14) return Math.floor(value / 1e3);
  return Math.floor(value);
}

const positive = (value: number | null | undefined): number | undefined =>
  typeof value === 'number' && value > 0 ? value : undefined;

/**
 * Polygon's multi-ticker snapshot, `GET /v2/snapshot/locale/us/markets/stocks/tickers?tickers=A,B`:
 * equity prices, many per call. The key goes in `Authorization: Bearer`, not
 * the `apiKey` query parameter. Mapping: price = `lastTrade.p`, else the
 * latest minute bar's close `min.c`, else `day.c`, else `prevDay.c`; change =
 * `todaysChange`; changePercent = `todaysChangePerc`; volume = `day.v`
 * (shares); asOf = `updated` (ns) / 1e6, else the last trade's time.
 * It never answers not-found: a ticker the snapshot leaves out is OMITTED, so
 * the registry asks the next provider of the route.
 */
export class PolygonProvider extends BaseProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities = { assetTypes: ['equity'], dataTypes: ['price'] };
  readonly maxBatchSize: number;
  readonly rateLimits: readonly RateLimitWindow[];
  readonly #options: HttpAdapterOptions;
  readonly #clock: Clock;

  constructor(options: HttpAdapterOptions = {}) {
    super();
    this.id = options.id ?? 'polygon';
    // No documented cap on `tickers`; 250 tickers keep the URL under about 2 KB.
    this.maxBatchSize = options.maxBatchSize ?? 250;
    this.rateLimits = options.rateLimits ?? POLYGON_RATE_LIMITS;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  protected async fetchBatch(
    _dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer> {
    const url = joinUrl(
      this.#options.baseUrl ?? POLYGON_BASE_URL,
      '/v2/snapshot/locale/us/markets/stocks/tickers',
    );
    url.searchParams.set('tickers', assets.map((a) => a.symbol).join(','));
    const request = httpRequest({
      providerId: this.id,
      options: this.#options,
      clock: this.#clock,
      url,
      call: options,
      headers: this.#options.apiKey ? { authorization: `Bearer ${this.#options.apiKey}` } : {},
      defaultRetryAfterMs: 60_000,
    });
    const response = await getJson(request);
    const body = parseBody(snapshotSchema, response, request);
    if (body.status !== 'OK' && body.status !== 'DELAYED') {
      throw new ProviderError(
        ProviderErrorCode.UPSTREAM,
        `status "${body.status}" from ${describeUrl(url)}`,
        {
          providerId: this.id,
          status: response.status,
          body: response.text,
        },
      );
    }
    const byTicker = new Map((body.tickers ?? []).map((t) => [t.ticker, t]));
    const results = new Map<string, AssetResult>();
    const now = this.#clock.now();
    for (const asset of assets) {
      const t = byTicker.get(asset.symbol);
      const price =
        t &&
        (positive(t.lastTrade?.p) ??
          positive(t.min?.c) ??
          positive(t.day?.c) ??
          positive(t.prevDay?.c));
      // Left out or without a price is no answer (OMITTED): this endpoint never says "does not exist".
      if (!t) continue;
      if (price === undefined) {
        results.set(asset.symbol, omitted(this.id, asset.symbol, 'held no positive price'));
        continue;
      }
      const volume = t.day?.v;
      const quote: PriceQuote = {
        symbol: asset.symbol,
        assetType: 'equity',
        price,
        currency: 'USD',
        ...(typeof t.todaysChange === 'number' ? { change: t.todaysChange } : {}),
        ...(typeof t.todaysChangePerc === 'number' ? { changePercent: t.todaysChangePerc } : {}),
        ...(typeof volume === 'number' && volume >= 0 ? { volume } : {}),
        asOf: toEpochMs(t.updated) ?? toEpochMs(t.lastTrade?.t) ?? now,
        provider: this.id,
      };
      results.set(asset.symbol, { status: 'ok', value: quote });
    }
    return { results };
  }
}
