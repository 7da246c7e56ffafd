import { describe, expect, it } from '@jest/globals';
import { REQUIRED_REDIS_URLS, configProblems } from '@fiml/config/testing';
import { warmerEnv } from '../src/config.js';

const valid = REQUIRED_REDIS_URLS;
const problemsOf = configProblems;

describe('warmer environment', () => {
  it('warmer validates its cron pattern, time zone and switch', () => {
    const config = warmerEnv.parse({ ...valid, CACHE_WARMING_ENABLED: 'OFF' });
    expect(config.CACHE_WARMING_ENABLED).toBe(false);
    expect(config.CACHE_WARMING_SCHEDULE).toBe('*/5 * * * *');
    expect(config.CACHE_WARMING_TIMEZONE).toBe('America/New_York');
    expect(
      warmerEnv.parse({ ...valid, CACHE_WARMING_SCHEDULE: '*/10 * * * * *' })
        .CACHE_WARMING_SCHEDULE,
    ).toBe('*/10 * * * * *');

    const problems = problemsOf(() =>
      warmerEnv.parse({
        ...valid,
        CACHE_WARMING_ENABLED: 'maybe',
        CACHE_WARMING_SCHEDULE: 'every five minutes',
        CACHE_WARMING_TIMEZONE: 'Mars/Olympus_Mons',
        METRICS_PORT: '-1',
      }),
    );
    expect([...problems.keys()].sort()).toEqual([
      'CACHE_WARMING_ENABLED',
      'CACHE_WARMING_SCHEDULE',
      'CACHE_WARMING_TIMEZONE',
      'METRICS_PORT',
    ]);
    expect(problems.get('CACHE_WARMING_TIMEZONE')).toContain('not an IANA time zone');
    expect(problems.get('CACHE_WARMING_SCHEDULE')).toContain('not a valid cron pattern');
  });

  it.each([
    ['0,6,12,18', '0 0,6,12,18 * * *'],
    ['6', '0 6 * * *'],
    [' 18, 6 ,0,6 ', '0 0,6,18 * * *'],
    ['0 9 * * 1-5', '0 9 * * 1-5'],
    ['*/10 * * * * *', '*/10 * * * * *'],
  ])('warmer reads CACHE_WARMING_SCHEDULE %j as the cron pattern %j', (text, pattern) => {
    expect(warmerEnv.parse({ ...valid, CACHE_WARMING_SCHEDULE: text }).CACHE_WARMING_SCHEDULE).toBe(
      pattern,
    );
  });

  it.each([
    ['0,6,12,24', '24 is not an hour 0-23'],
    ['* * *', 'not a valid cron pattern'],
    ['0 25 * * *', 'not a valid cron pattern'],
    ['0,6;12', 'not a valid cron pattern'],
    ['* * * * * * *', 'not a valid cron pattern'],
  ])('warmer refuses CACHE_WARMING_SCHEDULE %j, naming the variable', (text, problem) => {
    const problems = problemsOf(() => warmerEnv.parse({ ...valid, CACHE_WARMING_SCHEDULE: text }));
    expect([...problems.keys()]).toEqual(['CACHE_WARMING_SCHEDULE']);
    expect(problems.get('CACHE_WARMING_SCHEDULE')).toContain(problem);
  });

  it('warmer sizes and times its runs: batch size, pre-open minutes, refresh-ahead interval', () => {
    expect(warmerEnv.parse(valid)).toMatchObject({
      CACHE_WARMING_BATCH_SIZE: 100,
      CACHE_WARMING_PREOPEN_MINUTES: 30,
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: 60,
    });
    expect(
      warmerEnv.parse({
        ...valid,
        CACHE_WARMING_BATCH_SIZE: '500',
        CACHE_WARMING_PREOPEN_MINUTES: '0',
        CACHE_WARMING_REFRESH_AHEAD_SECONDS: '0',
      }),
    ).toMatchObject({
      CACHE_WARMING_BATCH_SIZE: 500,
      CACHE_WARMING_PREOPEN_MINUTES: 0,
      CACHE_WARMING_REFRESH_AHEAD_SECONDS: 0,
    });
    const problems = problemsOf(() =>
      warmerEnv.parse({
        ...valid,
        CACHE_WARMING_BATCH_SIZE: '0',
        CACHE_WARMING_PREOPEN_MINUTES: '331',
        CACHE_WARMING_REFRESH_AHEAD_SECONDS: '-5',
      }),
    );
    expect([...problems.keys()].sort()).toEqual([
      'CACHE_WARMING_BATCH_SIZE',
      'CACHE_WARMING_PREOPEN_MINUTES',
      'CACHE_WARMING_REFRESH_AHEAD_SECONDS',
    ]);
  });
});
