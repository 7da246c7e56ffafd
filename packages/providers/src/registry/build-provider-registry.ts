import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { CoinGeckoProvider, type CoinGeckoPlan } from '../adapters/coingecko-provider.js';
import { FinnhubProvider } from '../adapters/finnhub-provider.js';
import { PolygonProvider } from '../adapters/polygon-provider.js';
import { SimHttpProvider } from '../adapters/sim-http-provider.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../http/http-json.js';
import type { MarketDataProvider } from '../provider.js';
import { ProviderConfigError, UnknownProviderError } from '../provider-config-error.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';
import { SIMULATED_PROFILES } from '../sim/simulated-profiles.js';
import { ProviderRegistry } from './provider-registry.js';
import { parseRoutes, type ProviderRoutes } from './routes.js';

/**
 * The parsed provider variables, named as in the environment (see
 * `providerVars` in @fiml/config), so an app passes its config object as is.
 */
export interface ProviderSettings {
  readonly PROVIDER_ROUTES: ProviderRoutes;
  readonly PROVIDER_TIMEOUT_MS: number;
  readonly PROVIDER_MAX_RESPONSE_BYTES: number;
  /** Overrides of providers' default limits, by provider id. */
  readonly PROVIDER_RATE_LIMITS: Readonly<Record<string, readonly RateLimitWindow[]>>;
  readonly PROVIDER_RATE_LIMIT_PREFIX: string;
  readonly SIM_PROVIDER_URL: string;
  readonly SIM_PROVIDER_API_KEY: string;
  readonly COINGECKO_BASE_URL: string;
  readonly COINGECKO_API_KEY: string;
  readonly COINGECKO_PLAN: CoinGeckoPlan;
  /** More ticker -> CoinGecko id mappings. */
  readonly COINGECKO_ID_MAP: Readonly<Record<string, string>>;
  readonly FINNHUB_BASE_URL: string;
  readonly FINNHUB_API_KEY: string;
  readonly POLYGON_BASE_URL: string;
  readonly POLYGON_API_KEY: string;
}

/** The defaults of the provider variables: everything from the local simulator. */
export const DEFAULT_PROVIDER_SETTINGS: ProviderSettings = {
  PROVIDER_ROUTES: parseRoutes(
    'equity:price=sim-equities;crypto:price=sim-crypto;*:fundamentals=sim-reference;*:news=sim-reference',
  ),
  PROVIDER_TIMEOUT_MS: 5_000,
  PROVIDER_MAX_RESPONSE_BYTES: DEFAULT_MAX_RESPONSE_BYTES,
  PROVIDER_RATE_LIMITS: {},
  PROVIDER_RATE_LIMIT_PREFIX: 'fiml-rl',
  SIM_PROVIDER_URL: 'http://127.0.0.1:9200',
  SIM_PROVIDER_API_KEY: '',
  COINGECKO_BASE_URL: 'https://api.coingecko.com',
  COINGECKO_API_KEY: '',
  COINGECKO_PLAN: 'demo',
  COINGECKO_ID_MAP: {},
  FINNHUB_BASE_URL: 'https://finnhub.io',
  FINNHUB_API_KEY: '',
  POLYGON_BASE_URL: 'https://api.polygon.io',
  POLYGON_API_KEY: '',
};

export interface ProviderRegistryDeps {
  /** The cache Redis, for limits shared across processes. Without it limits are per process. */
  readonly redis?: Redis | Cluster;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** @defaultValue the global fetch */
  readonly fetch?: typeof fetch;
  /**
   * Providers built by the caller (in-process simulators, test doubles). They
   * join the known providers and replace a built-in one with the same id.
   */
  readonly providers?: readonly MarketDataProvider[];
  /** See RateLimiterOptions.degradedShare. */
  readonly degradedShare?: number;
}

/** The providers this package can build from settings, by id. */
export const BUILT_IN_PROVIDER_IDS = [
  'sim-equities',
  'sim-crypto',
  'sim-reference',
  'coingecko',
  'finnhub',
  'polygon',
] as const;

/**
 * Builds the registry an app uses, from its parsed settings: only the
 * providers its routes name are built, each with its limits (or the
 * PROVIDER_RATE_LIMITS override), over one limiter shared through `redis`.
 * A route or override naming an unknown provider, or a real provider
 * without its API key, is a {@link ProviderConfigError} at start-up.
 */
export function buildProviderRegistry(
  settings: ProviderSettings,
  deps: ProviderRegistryDeps = {},
): ProviderRegistry {
  const injected = new Map((deps.providers ?? []).map((p) => [p.id, p]));
  const known = [...new Set<string>([...BUILT_IN_PROVIDER_IDS, ...injected.keys()])];
  const wanted = new Set(Object.values(settings.PROVIDER_ROUTES).flat());
  for (const id of wanted)
    if (!known.includes(id)) throw new UnknownProviderError(id, known, 'PROVIDER_ROUTES');
  for (const id of Object.keys(settings.PROVIDER_RATE_LIMITS)) {
    if (!known.includes(id)) throw new UnknownProviderError(id, known, 'PROVIDER_RATE_LIMITS');
  }

  const limitsFor = (id: string) => settings.PROVIDER_RATE_LIMITS[id];
  const common = (id: string) => {
    const rateLimits = limitsFor(id);
    return {
      timeoutMs: settings.PROVIDER_TIMEOUT_MS,
      maxResponseBytes: settings.PROVIDER_MAX_RESPONSE_BYTES,
      ...(rateLimits ? { rateLimits } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    };
  };
  const requireKey = (id: string, variable: string, key: string): string => {
    if (key === '')
      throw new ProviderConfigError(`${variable} is required: PROVIDER_ROUTES names "${id}".`);
    return key;
  };

  const build = (id: string): MarketDataProvider => {
    const given = injected.get(id);
    if (given) return given;
    switch (id) {
      case 'sim-equities':
      case 'sim-crypto':
      case 'sim-reference': {
        const profile = Object.values(SIMULATED_PROFILES).find((p) => p.id === id)!;
        return new SimHttpProvider({
          ...common(id),
          baseUrl: settings.SIM_PROVIDER_URL,
          profile,
          ...(settings.SIM_PROVIDER_API_KEY ? { apiKey: settings.SIM_PROVIDER_API_KEY } : {}),
        });
      }
      case 'coingecko':
        return new CoinGeckoProvider({
          ...common(id),
          baseUrl: settings.COINGECKO_BASE_URL,
          plan: settings.COINGECKO_PLAN,
          ids: settings.COINGECKO_ID_MAP,
          ...(settings.COINGECKO_PLAN === 'public'
            ? {}
            : { apiKey: requireKey(id, 'COINGECKO_API_KEY', settings.COINGECKO_API_KEY) }),
        });
      case 'finnhub':
        return new FinnhubProvider({
          ...common(id),
          baseUrl: settings.FINNHUB_BASE_URL,
          apiKey: requireKey(id, 'FINNHUB_API_KEY', settings.FINNHUB_API_KEY),
        });
      case 'polygon':
        return new PolygonProvider({
          ...common(id),
          baseUrl: settings.POLYGON_BASE_URL,
          apiKey: requireKey(id, 'POLYGON_API_KEY', settings.POLYGON_API_KEY),
        });
      default:
        throw new UnknownProviderError(id, known, 'PROVIDER_ROUTES');
    }
  };

  const providers = [...wanted].map(build);
  const limiter = new RateLimiter({
    ...(deps.redis ? { redis: deps.redis } : {}),
    keyPrefix: settings.PROVIDER_RATE_LIMIT_PREFIX,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.degradedShare === undefined ? {} : { degradedShare: deps.degradedShare }),
    // An override applies to injected providers too, so an operator can tighten any of them.
    limits: Object.fromEntries(providers.map((p) => [p.id, limitsFor(p.id) ?? p.rateLimits])),
  });
  deps.logger?.child({ component: 'providers' }).info(
    {
      providers: providers.map((p) => p.id),
      routes: settings.PROVIDER_ROUTES,
      sharedLimits: deps.redis !== undefined,
    },
    'provider registry built',
  );
  return new ProviderRegistry({
    providers,
    routes: settings.PROVIDER_ROUTES,
    limiter,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}
