/**
 * Realistic cache entries of each data type, shaped like the providers'
 * normalized values (PriceQuote, Fundamentals, NewsItem in @fiml/providers),
 * built from a seed so every run measures the same bytes.
 */
import { SeededRandom } from '@fiml/market';
import type { CacheEntry } from '@fiml/cache';

/** Tuesday 2026-11-24 10:00 New York: a regular session, where price entries live 5 minutes. */
export const T0 = Date.parse('2026-11-24T10:00:00-05:00');

/** 100 real-looking tickers: the S&P 100 constituents' symbol lengths and letters. */
export const SYMBOLS: readonly string[] = (
  'AAPL ABBV ABT ACN ADBE AIG AMD AMGN AMT AMZN AVGO AXP BA BAC BK BKNG BLK BMY BRK.B C ' +
  'CAT CHTR CL CMCSA COF COP COST CRM CSCO CVS CVX DE DHR DIS DOW DUK EMR F FDX GD ' +
  'GE GILD GM GOOG GOOGL GS HD HON IBM INTC INTU JNJ JPM KHC KO LIN LLY LMT LOW MA ' +
  'MCD MDLZ MDT MET META MMM MO MRK MS MSFT NEE NFLX NKE NVDA ORCL PEP PFE PG PM PYPL ' +
  'QCOM RTX SBUX SCHW SO SPG T TGT TMO TMUS TSLA TXN UNH UNP UPS USB V VZ WFC WMT XOM'
).split(' ');

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

function meta(dataType: CacheEntry['dataType'], source: string, ttlMs: number) {
  return {
    dataType,
    fetchedAt: T0 - 1_250,
    source,
    writer: 'read-through' as const,
    ttlMs,
    softExpiresAt: T0 + ttlMs,
    hardExpiresAt: T0 + ttlMs + 3_600_000,
  };
}

export function priceQuote(symbol: string, random = new SeededRandom(symbol.length)) {
  const price = round(20 + random.next() * 600, 2);
  const change = round((random.next() - 0.5) * price * 0.04, 2);
  return {
    symbol,
    assetType: 'equity' as const,
    price,
    currency: 'USD',
    change,
    changePercent: round((100 * change) / (price - change), 4),
    volume: Math.round(1e6 + random.next() * 9e7),
    asOf: T0 - 1_800 - Math.round(random.next() * 900),
    provider: 'polygon',
  };
}

export function priceEntry(symbol: string, random?: SeededRandom): CacheEntry {
  return { ...meta('price', 'polygon', 300_000), kind: 'value', value: priceQuote(symbol, random) };
}

export function fundamentalsEntry(symbol = 'AAPL'): CacheEntry {
  return {
    ...meta('fundamentals', 'fmp', 86_400_000),
    kind: 'value',
    value: {
      symbol,
      assetType: 'equity',
      name: 'Apple Inc.',
      currency: 'USD',
      marketCap: 3_512_406_871_040,
      sharesOutstanding: 14_840_390_000,
      peRatio: 36.71,
      eps: 6.42,
      dividendYield: 0.44,
      sector: 'Technology',
      nextEarningsDate: '2027-01-28',
      asOf: T0 - 3_600_000,
      provider: 'fmp',
    },
  };
}

const WORDS = (
  'shares rose fell after the company reported quarterly revenue above analyst estimates ' +
  'guidance margin demand supply chain iPhone services growth regulators antitrust ruling ' +
  'investors weighed outlook holiday season sales data center chips tariff buyback dividend ' +
  'market open trading session record high lower higher percent billion forecast'
).split(' ');

function sentence(random: SeededRandom, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random.next() * WORDS.length)]!);
  const text = out.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Ten items, newest first: headline ~70 chars, summary ~250 chars, a long article URL. */
export function newsEntry(symbol = 'AAPL'): CacheEntry {
  const random = new SeededRandom(42);
  const items = Array.from({ length: 10 }, (_, i) => {
    const id = Math.floor(random.next() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
    const headline = sentence(random, 11);
    return {
      id: `fh-${id}`,
      symbol,
      headline,
      summary: `${sentence(random, 36)}.`,
      url: `https://www.reuters.com/technology/${headline.toLowerCase().replaceAll(' ', '-').slice(0, 60)}-2026-11-24/`,
      source: i % 3 === 0 ? 'Reuters' : i % 3 === 1 ? 'Bloomberg' : 'MarketWatch',
      publishedAt: T0 - (i + 1) * 1_740_000,
      provider: 'finnhub',
    };
  });
  return { ...meta('news', 'finnhub', 900_000), kind: 'value', value: items };
}
