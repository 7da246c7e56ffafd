import { describe, expect, it } from '@jest/globals';
import { ConfigError, defineEnv } from '@fiml/config';
import { DEFAULT_PROVIDER_SETTINGS, providerVars } from '../src/index.js';

const env = defineEnv('providers-test', providerVars);

describe('providerVars', () => {
  it('defaults to what @fiml/providers calls its defaults: the local simulator for everything', () => {
    expect(env.parse({})).toEqual(DEFAULT_PROVIDER_SETTINGS);
    expect(DEFAULT_PROVIDER_SETTINGS.PROVIDER_ROUTES).toEqual({
      'equity:price': ['sim-equities'],
      'crypto:price': ['sim-crypto'],
      '*:fundamentals': ['sim-reference'],
      '*:news': ['sim-reference'],
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
        PROVIDER_MAX_RESPONSE_BYTES: '16MB',
        COINGECKO_PLAN: 'gold',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable).sort()).toEqual([
      'COINGECKO_ID_MAP',
      'COINGECKO_PLAN',
      'PROVIDER_MAX_RESPONSE_BYTES',
      'PROVIDER_RATE_LIMITS',
      'PROVIDER_ROUTES',
      'PROVIDER_TIMEOUT_MS',
      'SIM_PROVIDER_URL',
    ]);
    expect(providerVars.POLYGON_API_KEY.secret).toBe(true);
    expect(providerVars.COINGECKO_API_KEY.secret).toBe(true);
  });
});
