import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_TTL_TABLE,
  TTL_ENV_VARS,
  TtlEnvError,
  parseTtlEnv,
  ttlSettingsFromEnv,
} from '../index.js';

describe('TTL settings from the environment', () => {
  it('uses the defaults when nothing is set, or a variable is empty', () => {
    expect(ttlSettingsFromEnv({})).toEqual({ table: DEFAULT_TTL_TABLE, jitter: 0.1 });
    expect(ttlSettingsFromEnv({ CACHE_TTL_PRICE: '', CACHE_TTL_JITTER: '' })).toEqual({
      table: DEFAULT_TTL_TABLE,
      jitter: 0.1,
    });
  });

  it('reads seconds into milliseconds, each variable into its cell', () => {
    const { table, jitter } = ttlSettingsFromEnv({
      CACHE_TTL_PRICE: '60',
      CACHE_TTL_FUNDAMENTALS: ' 3600 ',
      CACHE_TTL_PRICE_AFTER_HOURS: '600',
      CACHE_TTL_PRICE_WEEKEND_HOLIDAY: '7200',
      CACHE_TTL_PRICE_CRYPTO: '15',
      CACHE_TTL_NEWS: '120',
      CACHE_TTL_NEWS_AFTER_HOURS: '300',
      CACHE_TTL_NEWS_WEEKEND_HOLIDAY: '900',
      CACHE_TTL_NEWS_CRYPTO: '180',
      CACHE_TTL_FUNDAMENTALS_AFTER_HOURS: '7200',
      CACHE_TTL_FUNDAMENTALS_WEEKEND_HOLIDAY: '86400',
      CACHE_TTL_FUNDAMENTALS_CRYPTO: '1800',
      CACHE_TTL_JITTER: '0.25',
      UNRELATED: 'x',
    });
    expect(table).toEqual({
      price: {
        marketHours: 60_000,
        afterHours: 600_000,
        weekendHoliday: 7_200_000,
        crypto: 15_000,
      },
      fundamentals: {
        marketHours: 3_600_000,
        afterHours: 7_200_000,
        weekendHoliday: 86_400_000,
        crypto: 1_800_000,
      },
      news: { marketHours: 120_000, afterHours: 300_000, weekendHoliday: 900_000, crypto: 180_000 },
    });
    expect(jitter).toBe(0.25);
    expect(ttlSettingsFromEnv({ CACHE_TTL_JITTER: '0' }).jitter).toBe(0);
    expect(ttlSettingsFromEnv({ CACHE_TTL_JITTER: '.05' }).jitter).toBe(0.05);
  });

  it('overrides a given base table, leaving the rest of it alone', () => {
    const base = { ...DEFAULT_TTL_TABLE, news: { ...DEFAULT_TTL_TABLE.news, crypto: 1000 } };
    const { table } = ttlSettingsFromEnv({ CACHE_TTL_PRICE: '30' }, base);
    expect(table.news.crypto).toBe(1000);
    expect(table.price.marketHours).toBe(30_000);
  });

  it('names every bad variable at once', () => {
    const result = parseTtlEnv({
      CACHE_TTL_PRICE: '5m',
      CACHE_TTL_FUNDAMENTALS: '0',
      CACHE_TTL_NEWS_CRYPTO: '-5',
      CACHE_TTL_PRICE_AFTER_HOURS: '1e3',
      CACHE_TTL_NEWS: '2592001',
      CACHE_TTL_PRICE_CRYPTO: '1.5',
      CACHE_TTL_JITTER: '0.7',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.variable)).toEqual([
      'CACHE_TTL_PRICE',
      'CACHE_TTL_PRICE_AFTER_HOURS',
      'CACHE_TTL_PRICE_CRYPTO',
      'CACHE_TTL_FUNDAMENTALS',
      'CACHE_TTL_NEWS',
      'CACHE_TTL_NEWS_CRYPTO',
      'CACHE_TTL_JITTER',
    ]);
    expect(result.problems[0]).toEqual({
      variable: 'CACHE_TTL_PRICE',
      problem: 'not a whole number of seconds: "5m"',
      expected: 'whole seconds from 1 to 2592000',
    });
    expect(result.problems.at(-1)?.expected).toMatch(/fraction from 0 to 0.5/);
  });

  it('throws a TtlEnvError with a code and the problems', () => {
    let error: unknown;
    try {
      ttlSettingsFromEnv({ CACHE_TTL_JITTER: 'lots', CACHE_TTL_PRICE: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TtlEnvError);
    const e = error as TtlEnvError;
    expect(e.code).toBe('FIML_TTL_ENV_INVALID');
    expect(e.problems).toHaveLength(2);
    expect(e.message).toContain('CACHE_TTL_PRICE: not a whole number of seconds');
    expect(e.message).toContain('CACHE_TTL_JITTER: not a decimal fraction');
  });

  it('rejects a broken base table', () => {
    const base = { ...DEFAULT_TTL_TABLE, price: { ...DEFAULT_TTL_TABLE.price, crypto: -1 } };
    expect(() => parseTtlEnv({}, base)).toThrow(RangeError);
  });

  it('documents every variable it reads, with defaults that match the table', () => {
    expect(TTL_ENV_VARS.map((v) => [v.name, v.default])).toEqual([
      ['CACHE_TTL_PRICE', '300'],
      ['CACHE_TTL_PRICE_AFTER_HOURS', '1200'],
      ['CACHE_TTL_PRICE_WEEKEND_HOLIDAY', '345600'],
      ['CACHE_TTL_PRICE_CRYPTO', '60'],
      ['CACHE_TTL_FUNDAMENTALS', '86400'],
      ['CACHE_TTL_FUNDAMENTALS_AFTER_HOURS', '172800'],
      ['CACHE_TTL_FUNDAMENTALS_WEEKEND_HOLIDAY', '345600'],
      ['CACHE_TTL_FUNDAMENTALS_CRYPTO', '86400'],
      ['CACHE_TTL_NEWS', '600'],
      ['CACHE_TTL_NEWS_AFTER_HOURS', '900'],
      ['CACHE_TTL_NEWS_WEEKEND_HOLIDAY', '345600'],
      ['CACHE_TTL_NEWS_CRYPTO', '600'],
      ['CACHE_TTL_JITTER', '0.1'],
    ]);
    for (const v of TTL_ENV_VARS) {
      expect(v.description.length).toBeGreaterThan(20);
      expect(v.expected.length).toBeGreaterThan(5);
      // each variable really is read: a bad value is reported under its name
      const result = parseTtlEnv({ [v.name]: 'bad' });
      expect(result.ok ? [] : result.problems.map((p) => p.variable)).toEqual([v.name]);
    }
    // the defaults, fed back in, reproduce the default settings
    const defaults = Object.fromEntries(TTL_ENV_VARS.map((v) => [v.name, v.default]));
    expect(ttlSettingsFromEnv(defaults)).toEqual({ table: DEFAULT_TTL_TABLE, jitter: 0.1 });
  });
});
