import { z } from 'zod';
import { envVar } from './env-var.js';
import { integer, keyPrefix, oneOf } from './parsers.js';

/**
 * The variables of @fiml/providers, for every process that calls upstream
 * providers (api, batch-scheduler, warmer). Parsed values have the shapes
 * `buildProviderRegistry(settings, deps)` takes, under the same names, so an
 * app passes its config object straight through. Kept in its own file: the
 * providers engineer owns it, the config owner folds it into the app
 * environments.
 */

const ASSET_TYPES = ['equity', 'crypto'];
const DATA_TYPES = ['price', 'fundamentals', 'news'];
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

/** `equity:price=polygon,finnhub;crypto:price=coingecko;*:news=sim-reference` */
const routes = () =>
  z.string().transform((text, ctx) => {
    const out: Record<string, string[]> = {};
    for (const part of text.split(';')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const key = eq === -1 ? '' : part.slice(0, eq).trim();
      const ids =
        eq === -1
          ? []
          : part
              .slice(eq + 1)
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean);
      const [assetType, dataType, extra] = key.split(':');
      const keyOk =
        extra === undefined &&
        (assetType === '*' || ASSET_TYPES.includes(assetType ?? '')) &&
        (dataType === '*' || DATA_TYPES.includes(dataType ?? ''));
      const problem = !keyOk
        ? `"${key || part.trim()}" is not <assetType>:<dataType> (each a known type or *)`
        : ids.length === 0
          ? `route ${key} names no provider`
          : ids.find((id) => !PROVIDER_ID.test(id))
            ? `route ${key} has a bad provider id`
            : out[key]
              ? `route ${key} is given twice`
              : undefined;
      if (problem) {
        ctx.issues.push({ code: 'custom', message: problem, input: text });
        return z.NEVER;
      }
      out[key] = ids;
    }
    return out;
  });

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1_000,
  sec: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  month: 30 * 86_400_000,
};

/** `polygon=100/s;coingecko=30/min+10000/month` */
const rateLimits = () =>
  z.string().transform((text, ctx) => {
    const out: Record<string, { limit: number; windowMs: number }[]> = {};
    for (const part of text.split(';')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const id = eq === -1 ? '' : part.slice(0, eq).trim();
      const windows = (eq === -1 ? '' : part.slice(eq + 1)).split('+').map((w) => {
        const m = /^\s*(\d+)\s*\/\s*(\d*)\s*([a-z]+)\s*$/i.exec(w);
        const unit = m ? UNIT_MS[m[3]!.toLowerCase()] : undefined;
        const limit = m ? Number(m[1]) : 0;
        const multiple = m?.[2] ? Number(m[2]) : 1;
        return unit === undefined || limit < 1 || multiple < 1
          ? undefined
          : { limit, windowMs: unit * multiple };
      });
      if (!PROVIDER_ID.test(id) || windows.some((w) => w === undefined) || out[id]) {
        ctx.issues.push({
          code: 'custom',
          message: `"${part.trim()}" is not <provider>=<n>/<unit>[+…]`,
          input: text,
        });
        return z.NEVER;
      }
      out[id] = windows as { limit: number; windowMs: number }[];
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
