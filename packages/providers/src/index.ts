export {
  CALL_OUTCOMES,
  dataValueSchemas,
  fundamentalsSchema,
  newsItemSchema,
  newsListSchema,
  priceQuoteSchema,
  providerOfValue,
  type AssetRef,
  type AssetResult,
  type CallOutcome,
  type DataValue,
  type DataValueMap,
  type Fundamentals,
  type NewsItem,
  type PriceQuote,
} from './model.js';
export {
  EARNINGS_SESSIONS,
  earningsEventSchema,
  earningsInstant,
  earningsKey,
  exchangeDateRange,
  type EarningsEvent,
  type EarningsSession,
  type EarningsWireEvent,
} from './earnings/earnings-event.js';
export {
  hasEarningsCalendar,
  serves,
  type EarningsCalendarProvider,
  type FetchOptions,
  type MarketDataProvider,
  type ProviderCallEvent,
  type ProviderCapabilities,
  type ProviderEvents,
  type ProviderResponse,
} from './provider.js';
export {
  MAX_ERROR_BODY_CHARS,
  ProviderError,
  ProviderErrorCode,
  truncateBody,
  type ProviderErrorOptions,
} from './provider-error.js';
export { ProviderConfigError, UnknownProviderError } from './provider-config-error.js';
export { BaseProvider, summarize, type BatchAnswer } from './base-provider.js';
export {
  describeUrl,
  getJson,
  parseBody,
  retryAfterFrom,
  DEFAULT_MAX_RESPONSE_BYTES,
  type HttpJsonRequest,
  type HttpJsonResponse,
} from './http/http-json.js';

export {
  assertValidWindows,
  formatRateLimits,
  parseRateLimits,
  type RateLimitWindow,
} from './rate-limit/rate-limit-window.js';
export {
  SlidingWindowLog,
  type LocalAcquireResult,
  type WindowBudget,
} from './rate-limit/sliding-window-log.js';
export {
  RateLimiter,
  type AcquireOptions,
  type AcquireResult,
  type RateBudget,
  type RateLimiterEvents,
  type RateLimiterOptions,
} from './rate-limit/rate-limiter.js';

export {
  formatRoutes,
  matchRoute,
  parseRouteKey,
  parseRoutes,
  type ProviderRoutes,
  type RouteKey,
} from './registry/routes.js';
export {
  ProviderRegistry,
  reservedCalls,
  type CallRecord,
  type EarningsCalendarOptions,
  type EarningsCalendarResult,
  type FallbackEvent,
  type ProviderRegistryEvents,
  type ProviderRegistryOptions,
  type RegistryFetchOptions,
  type RegistryFetchResult,
  type ThrottledEvent,
} from './registry/provider-registry.js';
export {
  BUILT_IN_PROVIDER_IDS,
  DEFAULT_PROVIDER_SETTINGS,
  buildProviderRegistry,
  type ProviderRegistryDeps,
  type ProviderSettings,
} from './registry/build-provider-registry.js';

export { DEFAULT_TIMEOUT_MS, type HttpAdapterOptions } from './adapters/http-adapter-options.js';
export { COINGECKO_IDS } from './adapters/coingecko-ids.js';
export {
  COINGECKO_BASE_URLS,
  COINGECKO_RATE_LIMITS,
  CoinGeckoProvider,
  type CoinGeckoPlan,
  type CoinGeckoProviderOptions,
} from './adapters/coingecko-provider.js';
export {
  FINNHUB_BASE_URL,
  FINNHUB_RATE_LIMITS,
  FinnhubProvider,
  type FinnhubProviderOptions,
} from './adapters/finnhub-provider.js';
export {
  POLYGON_BASE_URL,
  POLYGON_RATE_LIMITS,
  PolygonProvider,
} from './adapters/polygon-provider.js';
export { SimHttpProvider, type SimHttpProviderOptions } from './adapters/sim-http-provider.js';

export {
  SIMULATED_PROFILES,
  SIMULATED_PROFILE_NAMES,
  findSimulatedProfile,
  type SimulatedProfile,
  type LatencyModel,
  type SimulatedProfileName,
} from './sim/simulated-profiles.js';
export {
  simDataResponseSchema,
  simEarningsResponseSchema,
  simErrorBodySchema,
  type SimDataResponse,
  type SimEarningsResponse,
  type SimErrorBody,
} from './sim/sim-wire.js';
export { providerVars } from './provider-vars.js';
