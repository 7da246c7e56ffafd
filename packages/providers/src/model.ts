import { ASSET_TYPES, SYMBOL_PATTERN, type AssetType, type DataType } from '@fiml/market';
import { z } from 'zod';
import type { ProviderError } from './provider-error.js';

/**
 * The normalized values every provider maps its responses to. The schemas are
 * the definition (types are inferred from them) so that anything reading a
 * value back from the wire or from Redis validates with the same rules the
 * adapters produce.
 */

const symbol = z.string().regex(SYMBOL_PATTERN, 'not a normalized symbol');
const assetType = z.enum(ASSET_TYPES);
/** Epoch milliseconds, UTC. */
const epochMs = z.number().int().nonnegative();
/** A calendar date, YYYY-MM-DD, in the exchange's time zone as the provider reports it. */
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'not a YYYY-MM-DD date');

export const priceQuoteSchema = z.object({
  symbol,
  assetType,
  /** Last trade (or best available) price in `currency`. */
  price: z.number().positive(),
  /** ISO 4217 code, upper case. */
  currency: z.string().regex(/^[A-Z]{3}$/),
  /** Absolute change against the provider's reference (previous close, or 24 h ago for crypto). */
  change: z.number().optional(),
  /** The same change in percent (1.5 means +1.5 %). */
  changePercent: z.number().optional(),
  /** Traded volume over the same reference period, in the unit the provider reports (see README). */
  volume: z.number().nonnegative().optional(),
  /** When the provider says the price was observed. */
  asOf: epochMs,
  /** The provider id that produced the value. */
  provider: z.string().min(1),
});
export type PriceQuote = z.output<typeof priceQuoteSchema>;

export const fundamentalsSchema = z.object({
  symbol,
  assetType,
  name: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/),
  marketCap: z.number().nonnegative().optional(),
  /** Equities only. */
  sharesOutstanding: z.number().nonnegative().optional(),
  /** Crypto only: coins in circulation. */
  circulatingSupply: z.number().nonnegative().optional(),
  /** Trailing twelve months; absent when earnings are not positive. */
  peRatio: z.number().positive().optional(),
  eps: z.number().optional(),
  /** Percent (2.1 means 2.1 %). */
  dividendYield: z.number().nonnegative().optional(),
  sector: z.string().min(1).optional(),
  /** The next scheduled earnings release, when known. */
  nextEarningsDate: isoDate.optional(),
  asOf: epochMs,
  provider: z.string().min(1),
});
export type Fundamentals = z.output<typeof fundamentalsSchema>;

export const newsItemSchema = z.object({
  /** Stable across calls, so readers can deduplicate. */
  id: z.string().min(1),
  symbol,
  headline: z.string().min(1),
  summary: z.string().optional(),
  url: z.url(),
  source: z.string().min(1),
  publishedAt: epochMs,
  provider: z.string().min(1),
});
export type NewsItem = z.output<typeof newsItemSchema>;

/** Newest first. An empty list is a valid answer ("no news"), not not-found. */
export const newsListSchema = z.array(newsItemSchema);

/** The value type of each data type. */
export interface DataValueMap {
  readonly price: PriceQuote;
  readonly fundamentals: Fundamentals;
  readonly news: readonly NewsItem[];
}
export type DataValue<D extends DataType = DataType> = DataValueMap[D];

/** The zod schema of each data type's value. */
export const dataValueSchemas = {
  price: priceQuoteSchema,
  fundamentals: fundamentalsSchema,
  news: newsListSchema,
} as const satisfies { readonly [D in DataType]: z.ZodType<DataValueMap[D]> };

/** One asset a provider is asked about. `symbol` is a normalized ticker (upper case). */
export interface AssetRef {
  readonly symbol: string;
  readonly assetType: AssetType;
}

/**
 * What a provider answered for one asset. Not-found is an answer ("the
 * provider does not know this symbol"), not a failure: callers cache it
 * briefly and do not fall back to another provider for it.
 */
export type AssetResult<V = DataValue> =
  | { readonly status: 'ok'; readonly value: V }
  | { readonly status: 'not-found' }
  | { readonly status: 'error'; readonly error: ProviderError };

/** How one upstream call went, as a whole. */
export type CallOutcome = 'ok' | 'not-found' | 'rate-limited' | 'error';
export const CALL_OUTCOMES: readonly CallOutcome[] = ['ok', 'not-found', 'rate-limited', 'error'];

/**
 * The provider id a fetched value carries (quotes, fundamentals, news items
 * each name their provider; a news list names it in its first item), or
 * undefined for a value without one (an empty news list).
 */
export function providerOfValue(value: unknown): string | undefined {
  if (Array.isArray(value)) return providerOfValue(value[0]);
  if (typeof value === 'object' && value !== null && 'provider' in value) {
    return typeof value.provider === 'string' ? value.provider : undefined;
  }
  return undefined;
}
