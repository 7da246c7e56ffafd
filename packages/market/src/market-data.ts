/**
 * The vocabulary every part of fiml-cache shares: what kind of asset, what
 * kind of data, and what a symbol looks like. Each is a const object (for
 * `DataType.PRICE` call sites, as in the original FIML) and a string union type.
 */

export const AssetType = { EQUITY: 'equity', CRYPTO: 'crypto' } as const;
export type AssetType = (typeof AssetType)[keyof typeof AssetType];
export const ASSET_TYPES: readonly [AssetType, ...AssetType[]] = ['equity', 'crypto'];

export const DataType = { PRICE: 'price', FUNDAMENTALS: 'fundamentals', NEWS: 'news' } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];
export const DATA_TYPES: readonly [DataType, ...DataType[]] = ['price', 'fundamentals', 'news'];

/**
 * A symbol, after normalization to upper case: 1-10 letters or digits, then
 * optionally one "." or "-" and a 1-5 character suffix. Covers equities
 * (AAPL, BRK.B, BF-B), crypto tickers (BTC, ETH) and pairs (BTC-USD).
 */
export const SYMBOL_PATTERN = /^[A-Z0-9]{1,10}(?:[.-][A-Z0-9]{1,5})?$/;

/** Trims and upper-cases a symbol; returns undefined when it does not match {@link SYMBOL_PATTERN}. */
export function normalizeSymbol(raw: string): string | undefined {
  const symbol = raw.trim().toUpperCase();
  return SYMBOL_PATTERN.test(symbol) ? symbol : undefined;
}

export function isAssetType(value: unknown): value is AssetType {
  return value === 'equity' || value === 'crypto';
}

export function isDataType(value: unknown): value is DataType {
  return value === 'price' || value === 'fundamentals' || value === 'news';
}
