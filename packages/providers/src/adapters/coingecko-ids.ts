/**
 * Our crypto tickers -> CoinGecko coin ids. CoinGecko identifies coins by id,
 * not by ticker (tickers are not unique there: dozens of coins call
 * themselves "ETH"-something), so the adapter asks only for mapped symbols
 * and answers UNSUPPORTED for the rest instead of guessing (not not-found:
 * another provider of the route may know the ticker). Add more with the
 * `ids` option or COINGECKO_ID_MAP ("SYMBOL=id,SYMBOL=id"); the full list is
 * CoinGecko's /api/v3/coins/list.
 */
export const COINGECKO_IDS: Readonly<Record<string, string>> = {
  BTC: 'bitcoin',
  ETH: 'ethereum',
  USDT: 'tether',
  BNB: 'binancecoin',
  SOL: 'solana',
  XRP: 'ripple',
  USDC: 'usd-coin',
  DOGE: 'dogecoin',
  ADA: 'cardano',
  TRX: 'tron',
  AVAX: 'avalanche-2',
  DOT: 'polkadot',
  LINK: 'chainlink',
  LTC: 'litecoin',
  BCH: 'bitcoin-cash',
  XLM: 'stellar',
  ATOM: 'cosmos',
  UNI: 'uniswap',
  SHIB: 'shiba-inu',
  TON: 'the-open-network',
  NEAR: 'near',
  APT: 'aptos',
  ARB: 'arbitrum',
  OP: 'optimism',
  ETC: 'ethereum-classic',
  FIL: 'filecoin',
  XMR: 'monero',
  DAI: 'dai',
  WBTC: 'wrapped-bitcoin',
  SUI: 'sui',
  PEPE: 'pepe',
  HBAR: 'hedera-hashgraph',
  ICP: 'internet-computer',
  AAVE: 'aave',
  ALGO: 'algorand',
};
