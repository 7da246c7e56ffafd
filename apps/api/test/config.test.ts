import { describe, expect, it } from '@jest/globals';
import type { ConfigError } from '@fiml/config';
import { REQUIRED_REDIS_URLS, configProblems } from '@fiml/config/testing';
import { apiEnv } from '../src/config.js';

const valid = REQUIRED_REDIS_URLS;
const problemsOf = configProblems;

describe('apiEnv', () => {
  it('applies documented defaults and types every value', () => {
    const config = apiEnv.parse(valid);
    expect(config).toMatchObject({
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      REDIS_QUEUE_URL: 'redis://127.0.0.1:6379/0',
      REDIS_CACHE_URL: 'redis://127.0.0.1:6379/1',
      QUEUE_PREFIX: 'fiml',
      SHUTDOWN_TIMEOUT_MS: 10_000,
      API_HOST: '0.0.0.0',
      API_PORT: 3000,
      API_KEYS: [],
      API_ADMIN_KEY: '',
      API_READS_REQUIRE_KEY: false,
      L1_MAX_ENTRIES: 10_000,
      L1_EVICTION_POLICY: 'adaptive',
      L1_PROTECTED_PATTERNS: [],
      CACHE_TTL_PRICE: '300',
      CACHE_TTL_JITTER: '0.1',
    });
  });

  it('parses API keys and protected patterns, and hides keys when they are wrong', () => {
    const config = apiEnv.parse({
      ...valid,
      API_KEYS: 'portfolio:0123456789abcdef0123, ops:fedcba9876543210fedc',
      L1_PROTECTED_PATTERNS: 'price:equity:AAPL*, *:BTC',
    });
    expect(config.API_KEYS).toEqual([
      { name: 'portfolio', key: '0123456789abcdef0123' },
      { name: 'ops', key: 'fedcba9876543210fedc' },
    ]);
    expect(config.L1_PROTECTED_PATTERNS).toEqual(['price:equity:AAPL*', '*:BTC']);
    try {
      apiEnv.parse({ ...valid, API_KEYS: 'short:tooshort-key' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as Error).message).toContain('API_KEYS: (value hidden) is invalid');
      expect((error as Error).message).not.toContain('tooshort-key');
    }
  });

  it('validates the cache TTL variables with the market package’s rules', () => {
    const problems = problemsOf(() =>
      apiEnv.parse({ ...valid, CACHE_TTL_PRICE: '300000000', CACHE_TTL_JITTER: '2' }),
    );
    expect([...problems.keys()].sort()).toEqual(['CACHE_TTL_JITTER', 'CACHE_TTL_PRICE']);
  });

  it('reads given values over defaults, trimming whitespace', () => {
    const config = apiEnv.parse({ ...valid, API_PORT: ' 8080 ', NODE_ENV: 'development' });
    expect(config.API_PORT).toBe(8080);
    expect(config.NODE_ENV).toBe('development');
  });

  it('treats an empty variable as unset', () => {
    expect(apiEnv.parse({ ...valid, API_PORT: '' }).API_PORT).toBe(3000);
    expect(problemsOf(() => apiEnv.parse({ ...valid, REDIS_CACHE_URL: '  ' }))).toEqual(
      new Map([['REDIS_CACHE_URL', 'is required but not set']]),
    );
  });

  it('lists every missing and invalid variable in one error', () => {
    const problems = problemsOf(() =>
      apiEnv.parse({ API_PORT: '30o0', NODE_ENV: 'prod', LOG_LEVEL: 'loud', QUEUE_PREFIX: '{x}' }),
    );
    expect([...problems.keys()].sort()).toEqual([
      'API_PORT',
      'LOG_LEVEL',
      'NODE_ENV',
      'QUEUE_PREFIX',
      'REDIS_CACHE_URL',
      'REDIS_QUEUE_URL',
    ]);
    expect(problems.get('API_PORT')).toBe('"30o0" is invalid (not an integer)');
    expect(problems.get('NODE_ENV')).toContain('not one of development, production, test');
  });

  it('names the expected form of each bad variable in the message', () => {
    try {
      apiEnv.parse({ ...valid, API_PORT: '70000' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('Invalid configuration for api: 1 variable to fix.');
      expect(message).toContain(
        'API_PORT: "70000" is invalid (above the maximum 65535); expected integer 0-65535',
      );
      expect((error as ConfigError).code).toBe('FIML_CONFIG_INVALID');
    }
  });

  it('rejects URLs that are not Redis URLs, and masks passwords when it reports them', () => {
    const problems = problemsOf(() =>
      apiEnv.parse({
        REDIS_QUEUE_URL: 'http://user:hunter2@example.com',
        REDIS_CACHE_URL: 'not a url',
      }),
    );
    expect(problems.get('REDIS_QUEUE_URL')).toBe(
      '"http://user:***@example.com/" is invalid (not a redis:// or rediss:// URL, nor a Redis Cluster as redis+cluster://host:port,host:port)',
    );
    expect(problems.get('REDIS_CACHE_URL')).toContain('not a redis:// or rediss:// URL');
    const cluster = problemsOf(() =>
      apiEnv.parse({ ...valid, REDIS_CACHE_URL: 'redis+cluster://u:hunter2@h:1,h:2/3' }),
    );
    expect(cluster.get('REDIS_CACHE_URL')).toContain('redis+cluster://***@h:1,h:2/3');
    expect(
      apiEnv.parse({ ...valid, REDIS_CACHE_URL: 'redis+cluster://h:1,h:2' }).REDIS_CACHE_URL,
    ).toBe('redis+cluster://h:1,h:2');
    expect(apiEnv.parse({ ...valid, REDIS_QUEUE_URL: 'rediss://:pw@h:6380' }).REDIS_QUEUE_URL).toBe(
      'rediss://:pw@h:6380',
    );
  });
});
