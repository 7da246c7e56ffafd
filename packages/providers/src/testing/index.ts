// Test support for code that talks to the real providers' HTTP APIs: fixture
// servers that answer like Finnhub, Polygon and CoinGecko (recorded shapes,
// failure modes on demand). `@fiml/providers/testing`; never used in production.
export {
  COINGECKO_COINS,
  COINGECKO_KEY,
  COINGECKO_PRICELESS_ID,
  startCoinGeckoFixture,
} from './coingecko-fixture.js';
export {
  FINNHUB_KEY,
  FINNHUB_PRICELESS,
  FINNHUB_QUOTES,
  startFinnhubFixture,
} from './finnhub-fixture.js';
export {
  json,
  MALFORMED_BODY,
  retryAfterHeader,
  startFixtureServer,
  type FixtureEvents,
  type FixtureMode,
  type FixtureReply,
  type FixtureServer,
  type RecordedRequest,
} from './fixture-server.js';
export {
  POLYGON_KEY,
  POLYGON_PRICELESS,
  POLYGON_TICKERS,
  startPolygonFixture,
} from './polygon-fixture.js';
