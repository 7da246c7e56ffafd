import { defineEnv, opsServerVars, parsers, processVars, envVar, type EnvOf } from '@fiml/config';
import { cacheStoreVars, ttlVars } from '@fiml/cache';
import { providerVars } from '@fiml/providers';
import { queueVars } from '@fiml/queue';

const { boolean, cronOrHourList, integer, timeZone } = parsers;

/**
 * The warmer's environment. It plans from the access history and L2 in the
 * cache Redis, the TTLs a warmed entry would get, and the providers' routes,
 * budgets and earnings calendars; its own variables schedule and size the runs.
 */
export const warmerEnv = defineEnv('warmer', {
  ...processVars,
  ...queueVars,
  ...opsServerVars('9102'),
  REDIS_CACHE_URL: cacheStoreVars.REDIS_CACHE_URL,
  CACHE_KEY_PREFIX: cacheStoreVars.CACHE_KEY_PREFIX,
  ...ttlVars,
  ...providerVars,
  CACHE_WARMING_ENABLED: envVar(boolean(), {
    description:
      'Whether the warmer registers its Job Scheduler. When false it removes the schedule and idles, so turning warming off needs no redeploy of other processes.',
    expected: 'true or false (also 1/0, yes/no, on/off)',
    default: 'true',
  }),
  CACHE_WARMING_SCHEDULE: envVar(cronOrHourList(), {
    description:
      'When scheduled warming cycles run, in CACHE_WARMING_TIMEZONE: a cron pattern (5 fields, or 6 with seconds first), or the original FIML’s list of hours, `0,6,12,18`, which runs on those hours (`0 0,6,12,18 * * *`). Each cycle prepares for the reads expected until the next one. An invalid value stops the warmer at start-up.',
    expected: 'cron pattern, e.g. */5 * * * *, or hours 0-23, e.g. 0,6,12,18',
    default: '*/5 * * * *',
  }),
  CACHE_WARMING_BATCH_SIZE: envVar(integer(1, 100_000), {
    description:
      'Most keys one warming run requests. Each run also stays within what the providers’ rate limits leave for the coming window, so a run may request fewer.',
    expected: 'integer 1-100000',
    default: '100',
  }),
  CACHE_WARMING_PREOPEN_MINUTES: envVar(integer(0, 330), {
    description:
      'Minutes before the 09:30 ET open of each NYSE trading day that the pre-open run prepares for the open’s reads (none on weekends and holidays). 0 turns the pre-open run off.',
    expected: 'integer minutes 0-330 (04:00 ET at most)',
    default: '30',
  }),
  CACHE_WARMING_REFRESH_AHEAD_SECONDS: envVar(integer(0, 3_600), {
    description:
      'During trading sessions, how often a refresh-ahead run renews hot keys whose freshness ends before the next such run. 0 turns refresh-ahead off.',
    expected: 'integer seconds 0-3600',
    default: '60',
  }),
  CACHE_WARMING_TIMEZONE: envVar(timeZone(), {
    description:
      'Time zone of CACHE_WARMING_SCHEDULE. The exchange’s zone keeps cycles aligned with the market clock across DST switches.',
    expected: 'IANA time zone name',
    default: 'America/New_York',
  }),
  CACHE_WARMING_SCHEDULE_CHECK_MS: envVar(integer(100, 3_600_000), {
    description:
      'How often the warmer checks that its Job Schedulers still exist in the queue Redis (it also checks whenever its connection comes back), and re-creates a missing one with a warning. A queue Redis restarted without its data loses them; until they are back, no warming runs and the warmer’s /readyz says so.',
    expected: 'integer milliseconds 100-3600000',
    default: '60000',
  }),
});

export type WarmerConfig = EnvOf<typeof warmerEnv.vars>;
