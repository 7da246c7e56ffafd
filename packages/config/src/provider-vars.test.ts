import { describe, expect, it } from '@jest/globals';
import { ConfigError, defineEnv, providerVars } from './index.js';

const env = defineEnv('providers-test', providerVars);

describe('providerVars', () => {
  it('defaults to the local simulator for everything', () => {
    expect(env.parse({})).toEqual({
      PROVIDER_ROUTES: {
        'equity:price': ['sim-equities'],
        'crypto:price': ['sim-crypto'],
        '*:fundamentals': ['sim-reference'],
        '*:news': ['sim-reference'],
      },
      PROVIDER_TIMEOUT_MS: 5_000,
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
    });
  });

  it('parses routes, limit overrides and coin ids', () => {
    const parsed = env.parse({
      PROVIDER_ROUTES: 'equity:price=polygon,finnhub; crypto:price=coingecko;*:*=sim-reference',
      PROVIDER_RATE_LIMITS: 'polygon=100/s;coingecko=30/min+10000/month',
      COINGECKO_ID_MAP: 'wif=dogwifcoin, JUP=jupiter-exchange-solana',
      POLYGON_API_KEY: 'k',
    });
    expect(parsed.PROVIDER_ROUTES).toEqual({
      'equity:price': ['polygon', 'finnhub'],
      'crypto:price': ['coingecko'],
      '*:*': ['sim-reference'],
    });
    expect(parsed.PROVIDER_RATE_LIMITS).toEqual({
      polygon: [{ limit: 100, windowMs: 1_000 }],
      coingecko: [
        { limit: 30, windowMs: 60_000 },
        { limit: 10_000, windowMs: 2_592_000_000 },
      ],
    });
    expect(parsed.COINGECKO_ID_MAP).toEqual({ WIF: 'dogwifcoin', JUP: 'jupiter-exchange-solana' });
  });

  it('lists every bad variable at once and hides secrets', () => {
    let error: unknown;
    try {
      env.parse({
        PROVIDER_ROUTES: 'bond:price=x',
        PROVIDER_RATE_LIMITS: 'polygon=fast',
        COINGECKO_ID_MAP: 'BTC',
        SIM_PROVIDER_URL: 'ftp://x',
        PROVIDER_TIMEOUT_MS: '5',
        COINGECKO_PLAN: 'gold',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'COINGECKO_ID_MAP',
      'COINGECKO_PLAN',
      'PROVIDER_RATE_LIMITS',
      'PROVIDER_ROUTES',
      'PROVIDER_TIMEOUT_MS',
      'SIM_PROVIDER_URL',
    ]);
    expect(providerVars.POLYGON_API_KEY.secret).toBe(true);
    expect(providerVars.COINGECKO_API_KEY.secret).toBe(true);
  });
});
