import { type AssetType, SeededRandom } from '@fiml/market';

/**
 * Well-known names lead each universe (the most popular ranks), so demos and
 * hand-written requests find them; the rest are generated tickers. Base
 * prices are rough 2026 magnitudes, only for realism.
 */
export const WELL_KNOWN_EQUITIES: Readonly<
  Record<string, { name: string; sector: string; price: number }>
> = {
  AAPL: { name: 'Apple Inc.', sector: 'Technology', price: 230 },
  MSFT: { name: 'Microsoft Corporation', sector: 'Technology', price: 420 },
  NVDA: { name: 'NVIDIA Corporation', sector: 'Technology', price: 140 },
  AMZN: { name: 'Amazon.com, Inc.', sector: 'Consumer Discretionary', price: 200 },
  GOOGL: { name: 'Alphabet Inc.', sector: 'Communication Services', price: 170 },
  META: { name: 'Meta Platforms, Inc.', sector: 'Communication Services', price: 560 },
  TSLA: { name: 'Tesla, Inc.', sector: 'Consumer Discretionary', price: 250 },
  'BRK.B': { name: 'Berkshire Hathaway Inc.', sector: 'Financials', price: 460 },
  JPM: { name: 'JPMorgan Chase & Co.', sector: 'Financials', price: 220 },
  V: { name: 'Visa Inc.', sector: 'Financials', price: 290 },
  JNJ: { name: 'Johnson & Johnson', sector: 'Health Care', price: 155 },
  WMT: { name: 'Walmart Inc.', sector: 'Consumer Staples', price: 80 },
  XOM: { name: 'Exxon Mobil Corporation', sector: 'Energy', price: 115 },
  UNH: { name: 'UnitedHealth Group Incorporated', sector: 'Health Care', price: 560 },
  PG: { name: 'The Procter & Gamble Company', sector: 'Consumer Staples', price: 165 },
  HD: { name: 'The Home Depot, Inc.', sector: 'Consumer Discretionary', price: 390 },
  KO: { name: 'The Coca-Cola Company', sector: 'Consumer Staples', price: 65 },
  DIS: { name: 'The Walt Disney Company', sector: 'Communication Services', price: 95 },
  INTC: { name: 'Intel Corporation', sector: 'Technology', price: 22 },
  AMD: { name: 'Advanced Micro Devices, Inc.', sector: 'Technology', price: 150 },
  NFLX: { name: 'Netflix, Inc.', sector: 'Communication Services', price: 700 },
  'BF-B': { name: 'Brown-Forman Corporation', sector: 'Consumer Staples', price: 42 },
  SPY: { name: 'SPDR S&P 500 ETF Trust', sector: 'ETF', price: 570 },
  QQQ: { name: 'Invesco QQQ Trust', sector: 'ETF', price: 490 },
};

export const WELL_KNOWN_CRYPTO: Readonly<
  Record<string, { name: string; price: number; supply: number }>
> = {
  BTC: { name: 'Bitcoin', price: 90_000, supply: 19_800_000 },
  ETH: { name: 'Ethereum', price: 3_200, supply: 120_000_000 },
  USDT: { name: 'Tether', price: 1, supply: 120_000_000_000 },
  SOL: { name: 'Solana', price: 180, supply: 470_000_000 },
  BNB: { name: 'BNB', price: 600, supply: 145_000_000 },
  XRP: { name: 'XRP', price: 0.6, supply: 57_000_000_000 },
  USDC: { name: 'USD Coin', price: 1, supply: 35_000_000_000 },
  DOGE: { name: 'Dogecoin', price: 0.15, supply: 146_000_000_000 },
  ADA: { name: 'Cardano', price: 0.4, supply: 35_000_000_000 },
  AVAX: { name: 'Avalanche', price: 30, supply: 400_000_000 },
  DOT: { name: 'Polkadot', price: 5, supply: 1_500_000_000 },
  LINK: { name: 'Chainlink', price: 13, supply: 600_000_000 },
  LTC: { name: 'Litecoin', price: 75, supply: 75_000_000 },
};

export interface UniverseOptions {
  /** @defaultValue 3000 (market-week.md) */
  readonly equities?: number;
  /** @defaultValue 100 (market-week.md) */
  readonly crypto?: number;
}

/** The symbols a simulated market knows, per asset type, most popular first. */
export type Universe = Readonly<Record<AssetType, readonly string[]>>;

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function generate(
  random: SeededRandom,
  count: number,
  lead: readonly string[],
  minLength: number,
  maxLength: number,
): string[] {
  const symbols = lead.slice(0, count);
  const seen = new Set(symbols);
  while (symbols.length < count) {
    const length = random.int(minLength, maxLength);
    let symbol = '';
    for (let i = 0; i < length; i += 1) symbol += LETTERS[random.int(0, 25)]!;
    if (seen.has(symbol)) continue;
    seen.add(symbol);
    symbols.push(symbol);
  }
  return symbols;
}

/**
 * The simulated universe of a seed: well-known names first, then generated
 * tickers (3-4 letters for equities, 3-5 for crypto). The bench's workload
 * generator draws its requests from the same function, so the simulator
 * knows every symbol the workload asks for; anything else is not-found.
 */
export function simulatedUniverse(seed: number | string, options: UniverseOptions = {}): Universe {
  const random = new SeededRandom(`universe:${String(seed)}`);
  return {
    equity: generate(random, options.equities ?? 3000, Object.keys(WELL_KNOWN_EQUITIES), 3, 4),
    crypto: generate(random, options.crypto ?? 100, Object.keys(WELL_KNOWN_CRYPTO), 3, 5),
  };
}
