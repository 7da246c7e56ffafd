// Test support for code that talks to the real providers' HTTP APIs: fixture
// servers that answer like Finnhub, Polygon and CoinGecko (recorded shapes,
// failure modes on demand). `@fiml/providers/testing`; never used in production.
export * from './coingecko-fixture.js';
export * from './finnhub-fixture.js';
export * from './fixture-server.js';
export * from './polygon-fixture.js';
