import { envVar, parsers } from '@fiml/config';
import { z } from 'zod';
import { parseRateLimits, type RateLimitWindow } from './rate-limit/rate-limit-window.js';
import { parseRoutes } from './registry/routes.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from './http/http-json.js';

const { integer, keyPrefix, oneOf } = parsers;

/**
 * The variables of @fiml/providers, for every process that calls upstream
 * providers (api, batch-scheduler, warmer). Parsed values have the shapes
 * `buildProviderRegistry(settings, deps)` takes, under the same names, so an
 * app passes its config object straight through. Each app's configuration
 * spreads it into its environment.
 */

const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

const httpUrl = () =>
  z.string().refine((s) => {
    try {
      const { protocol } = new URL(s);
      return protocol === 'http:' || protocol === 'https:';
    } catch {
      return false;
    }
  }, 'not an http:// or https:// URL');

/**
 * `equity:price=polygon,finnhub;crypto:price=coingecko;*:news=sim-reference`,
 * parsed by @fiml/providers' own parser so the rules live in one place.
 */
const routes = () =>
  z.string().transform((text, ctx) => {
    try {
      return parseRoutes(text);
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: (error as Error).message, input: text });
      return z.NEVER;
    }
  });

/** `polygon=100/s;coingecko=30/min+10000/month`: each provider's windows by parseRateLimits. */
const rateLimits = () =>
  z.string().transform((text, ctx) => {
    const out: Record<string, RateLimitWindow[]> = {};
    for (const part of text.split(';')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const id = eq === -1 ? '' : part.slice(0, eq).trim();
      let problem: string | undefined;
      try {
        if (!PROVIDER_ID.test(id)) problem = `"${part.trim()}" is not <provider>=<n>/<unit>[+…]`;
        else if (out[id]) problem = `provider ${id} is given twice`;
        else out[id] = parseRateLimits(part.slice(eq + 1));
      } catch (error) {
        problem = (error as Error).message;
      }
      if (problem !== undefined) {
        ctx.issues.push({ code: 'custom', message: problem, input: text });
        return z.NEVER;
      }
    }
    return out;
  });

/** `WIF=dogwifcoin,JUP=jupiter-exchange-solana` */
const idMap = () =>
  z.string().transform((text, ctx) => {
    const out: Record<string, string> = {};
    for (const part of text.split(',')) {
      if (part.trim() === '') continue;
      const [symbol, id, extra] = part.split('=').map((s) => s.trim());
      if (
        extra !== undefined ||
        !symbol ||
        !id ||
        !/^[A-Za-z0-9.-]{1,16}$/.test(symbol) ||
        !/^[a-z0-9-]{1,80}$/.test(id)
      ) {
        ctx.issues.push({
          code: 'custom',
          message: `"${part.trim()}" is not SYMBOL=coingecko-id`,
          input: text,
        });
        return z.NEVER;
      }
      out[symbol.toUpperCase()] = id;
    }
    return out;
  });

const apiKey = (provider: string) =>
  envVar(z.string(), {
    description: `API key of ${provider}. Required when PROVIDER_ROUTES names it; never logged.`,
    expected: 'string (empty: none)',
    default: '',
    secret: true,
  });

export const providerVars = {
  PROVIDER_ROUTES: envVar(routes(), {
    description:
      'Which providers serve each asset and data type, in fallback order: `<assetType>:<dataType>=<provider>[,<provider>…]` joined by `;`, with `*` as a wildcard (the most specific route wins). Providers: sim-equities, sim-crypto, sim-reference (the simulator at SIM_PROVIDER_URL), coingecko, finnhub, polygon. An unknown name stops the process at start-up.',
    expected:
      'routes, e.g. equity:price=polygon,finnhub;crypto:price=coingecko;*:news=sim-reference',
    default:
      'equity:price=sim-equities;crypto:price=sim-crypto;*:fundamentals=sim-reference;*:news=sim-reference',
  }),
  PROVIDER_TIMEOUT_MS: envVar(integer(100, 120_000), {
    description:
      'Longest one upstream call may take, reading the body included, before it counts as a timeout.',
    expected: 'integer milliseconds 100-120000',
    default: '5000',
  }),
  PROVIDER_MAX_RESPONSE_BYTES: envVar(integer(1_024, 1_073_741_824), {
    description:
      'Most bytes of one upstream answer’s body read, after decompression (16 MiB by default, far above any batch’s answer). A longer answer fails its call as FIML_PROVIDER_BAD_RESPONSE and its connection is dropped, so an upstream that streams without end or a compressed bomb cannot exhaust memory.',
    expected: 'integer bytes 1024-1073741824',
    default: String(DEFAULT_MAX_RESPONSE_BYTES),
  }),
  PROVIDER_RATE_LIMITS: envVar(rateLimits(), {
    description:
      'Overrides of providers’ default rate limits (their free plans), for paid plans or shared keys: `<provider>=<n>/<unit>[+<n>/<unit>…]` joined by `;`; units s, min, h, day, month, optionally with a multiple (100/15min). Every window is enforced at once across all processes.',
    expected: 'limits, e.g. polygon=100/s;coingecko=500/min',
    default: '',
  }),
  PROVIDER_RATE_LIMIT_PREFIX: envVar(keyPrefix(), {
    description:
      'Prefix of the rate-limit keys in the cache Redis. Every process sharing a provider key must use the same value.',
    expected: '1-32 letters, digits, ".", "_" or "-"',
    default: 'fiml-rl',
  }),
  SIM_PROVIDER_URL: envVar(httpUrl(), {
    description:
      'Base URL of the simulated provider server (`sim-provider`), which the run command starts as the default upstream.',
    expected: 'http:// or https:// URL',
    default: 'http://127.0.0.1:9200',
  }),
  SIM_PROVIDER_API_KEY: envVar(z.string(), {
    description:
      'Key sent to the simulated provider as `x-api-key` (set it when the simulator runs with SIM_API_KEY).',
    expected: 'string (empty: none)',
    default: '',
    secret: true,
  }),
  COINGECKO_BASE_URL: envVar(httpUrl(), {
    description: 'CoinGecko API origin. Paid (pro) keys use https://pro-api.coingecko.com.',
    expected: 'http:// or https:// URL',
    default: 'https://api.coingecko.com',
  }),
  COINGECKO_API_KEY: apiKey(
    'CoinGecko (sent as x-cg-demo-api-key or x-cg-pro-api-key by COINGECKO_PLAN)',
  ),
  COINGECKO_PLAN: envVar(oneOf(['public', 'demo', 'pro']), {
    description:
      'CoinGecko plan: picks the key header and the default limits (public 5/min; demo 30/min and 10000/month; pro 500/min).',
    expected: 'one of public, demo, pro',
    default: 'demo',
  }),
  COINGECKO_ID_MAP: envVar(idMap(), {
    description:
      'More ticker to CoinGecko coin id mappings, over the built-in table of common coins (BTC=bitcoin, …).',
    expected: 'SYMBOL=coingecko-id joined by commas, e.g. WIF=dogwifcoin',
    default: '',
  }),
  FINNHUB_BASE_URL: envVar(httpUrl(), {
    description: 'Finnhub API origin.',
    expected: 'http:// or https:// URL',
    default: 'https://finnhub.io',
  }),
  FINNHUB_API_KEY: apiKey('Finnhub (sent as X-Finnhub-Token)'),
  POLYGON_BASE_URL: envVar(httpUrl(), {
    description: 'Polygon API origin.',
    expected: 'http:// or https:// URL',
    default: 'https://api.polygon.io',
  }),
  POLYGON_API_KEY: apiKey('Polygon (sent as Authorization: Bearer)'),
};
