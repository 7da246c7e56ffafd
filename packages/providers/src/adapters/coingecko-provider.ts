import { systemClock, type Clock, type DataType } from '@fiml/market';
import { z } from 'zod';
import { BaseProvider, omitted, type BatchAnswer } from '../base-provider.js';
import { getJson, parseBody } from '../http/http-json.js';
import type { AssetRef, AssetResult, PriceQuote } from '../model.js';
import type { FetchOptions, ProviderCapabilities } from '../provider.js';
import { ProviderError, ProviderErrorCode } from '../provider-error.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';
import { COINGECKO_IDS } from './coingecko-ids.js';
import { httpRequest, joinUrl, type HttpAdapterOptions } from './http-adapter-options.js';

/** CoinGecko's plans, which decide the key header and the default limits. */
export type CoinGeckoPlan = 'public' | 'demo' | 'pro';

export interface CoinGeckoProviderOptions extends HttpAdapterOptions {
  /** @defaultValue 'demo' with an API key, 'public' without */
  readonly plan?: CoinGeckoPlan;
  /** More ticker -> coin id mappings, over {@link COINGECKO_IDS}. */
  readonly ids?: Readonly<Record<string, string>>;
  /** Quote currency, lower case as CoinGecko takes it. @defaultValue 'usd' */
  readonly vsCurrency?: string;
}

/**
 * Documented limits per plan (2025): the keyless public API allows roughly
 * 5-15 calls a minute depending on load (we take 5); Demo keys 30 a minute
 * and 10,000 a month; paid plans start at 500 a minute.
 */
export const COINGECKO_RATE_LIMITS: Readonly<Record<CoinGeckoPlan, readonly RateLimitWindow[]>> = {
  public: [{ limit: 5, windowMs: 60_000 }],
  demo: [
    { limit: 30, windowMs: 60_000 },
    { limit: 10_000, windowMs: 30 * 86_400_000 },
  ],
  pro: [{ limit: 500, windowMs: 60_000 }],
};

/** The public API's origins; the pro plan has its own host. */
export const COINGECKO_BASE_URLS: Readonly<Record<CoinGeckoPlan, string>> = {
  public: 'https://api.coingecko.com',
  demo: 'https://api.coingecko.com',
  pro: 'https://pro-api.coingecko.com',
};

/**
 * `{ "bitcoin": { "usd": 67187.33, "usd_24h_vol": 3.1e10, "usd_24h_change": 3.63,
 *   "last_updated_at": 1711356300 } }`: coin ids the API knows, nothing for the
 * others (there is no "unknown id" answer, so the adapter never says
 * not-found). Values may be null for coins without market data.
 */
const simplePriceSchema = z.record(z.string(), z.record(z.string(), z.number().nullable()));

/**
 * CoinGecko `GET /api/v3/simple/price`: crypto prices, many coins per call.
 * Mapping: price = `<vs>`, changePercent = `<vs>_24h_change`, change derived
 * from both (against 24 hours ago), volume = `<vs>_24h_vol` (in the quote
 * currency, not in coins), asOf = `last_updated_at` × 1000.
 */
export class CoinGeckoProvider extends BaseProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities = { assetTypes: ['crypto'], dataTypes: ['price'] };
  readonly maxBatchSize: number;
  readonly rateLimits: readonly RateLimitWindow[];
  readonly plan: CoinGeckoPlan;
  readonly #ids: Readonly<Record<string, string>>;
  readonly #options: CoinGeckoProviderOptions;
  readonly #clock: Clock;
  readonly #vs: string;

  constructor(options: CoinGeckoProviderOptions = {}) {
    super();
    this.id = options.id ?? 'coingecko';
    this.plan = options.plan ?? (options.apiKey ? 'demo' : 'public');
    // No documented cap on ids; 100 keeps the URL near 1-2 KB, well inside every proxy's limit.
    this.maxBatchSize = options.maxBatchSize ?? 100;
    this.rateLimits = options.rateLimits ?? COINGECKO_RATE_LIMITS[this.plan];
    this.#ids = { ...COINGECKO_IDS, ...options.ids };
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#vs = (options.vsCurrency ?? 'usd').toLowerCase();
  }

  /** The CoinGecko id of a ticker, if mapped. */
  coinId(symbol: string): string | undefined {
    return this.#ids[symbol];
  }

  protected async fetchBatch(
    _dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer> {
    const results = new Map<string, AssetResult>();
    const mapped = assets.filter((a) => this.#ids[a.symbol] !== undefined);
    // Tickers are not unique on CoinGecko, so an unmapped one is not asked about (no call spent)
    // and is not called not-found either: another provider of the route may know it.
    for (const asset of assets) {
      if (this.#ids[asset.symbol]) continue;
      results.set(asset.symbol, {
        status: 'error',
        error: new ProviderError(
          ProviderErrorCode.UNSUPPORTED,
          `no CoinGecko coin id for ${asset.symbol} (add it to COINGECKO_ID_MAP)`,
          { providerId: this.id },
        ),
      });
    }
    if (mapped.length === 0) return { results };

    const url = joinUrl(
      this.#options.baseUrl ?? COINGECKO_BASE_URLS[this.plan],
      '/api/v3/simple/price',
    );
    url.searchParams.set('ids', [...new Set(mapped.map((a) => this.#ids[a.symbol]!))].join(','));
    url.searchParams.set('vs_currencies', this.#vs);
    url.searchParams.set('include_24hr_vol', 'true');
    url.searchParams.set('include_24hr_change', 'true');
    url.searchParams.set('include_last_updated_at', 'true');
    url.searchParams.set('precision', 'full');
    const headers: Record<string, string> = {};
    if (this.#options.apiKey && this.plan !== 'public') {
      headers[this.plan === 'pro' ? 'x-cg-pro-api-key' : 'x-cg-demo-api-key'] =
        this.#options.apiKey;
    }
    const request = httpRequest({
      providerId: this.id,
      options: this.#options,
      clock: this.#clock,
      url,
      call: options,
      headers,
      defaultRetryAfterMs: 60_000,
    });
    const body = parseBody(simplePriceSchema, await getJson(request), request);
    const now = this.#clock.now();
    for (const asset of mapped) {
      const entry = body[this.#ids[asset.symbol]!];
      const price = entry?.[this.#vs];
      // An absent id is left out (OMITTED); a listed coin without a price is no answer either.
      if (!entry) continue;
      if (typeof price !== 'number' || !(price > 0)) {
        results.set(asset.symbol, omitted(this.id, asset.symbol, `held no positive ${this.#vs}`));
        continue;
      }
      const changePercent = entry[`${this.#vs}_24h_change`];
      const volume = entry[`${this.#vs}_24h_vol`];
      const updated = entry.last_updated_at;
      const quote: PriceQuote = {
        symbol: asset.symbol,
        assetType: 'crypto',
        price,
        currency: this.#vs.toUpperCase(),
        ...(typeof changePercent === 'number'
          ? { changePercent, change: price - price / (1 + changePercent / 100) }
          : {}),
        ...(typeof volume === 'number' && volume >= 0 ? { volume } : {}),
        asOf: typeof updated === 'number' && updated > 0 ? updated * 1000 : now,
        provider: this.id,
      };
      results.set(asset.symbol, { status: 'ok', value: quote });
    }
    return { results };
  }
}
