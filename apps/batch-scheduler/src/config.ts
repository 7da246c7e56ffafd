import { defineEnv, opsServerVars, parsers, processVars, envVar, type EnvOf } from '@fiml/config';
import { cacheStoreVars, ttlVars } from '@fiml/cache';
import { providerVars } from '@fiml/providers';
import { queueVars } from '@fiml/queue';

const { boolean, decimal, hourList, integer } = parsers;

/**
 * The batch-scheduler's environment. It writes the cache, so it reads the
 * cache store and TTL fragments the api reads with (an entry it writes is the
 * entry the api would have written), and the providers'; its own variables
 * shape the batches.
 */
export const batchSchedulerEnv = defineEnv('batch-scheduler', {
  ...processVars,
  ...queueVars,
  ...opsServerVars('9101'),
  ...cacheStoreVars,
  ...ttlVars,
  ...providerVars,
  WORKER_CONCURRENCY: envVar(integer(1, 1000), {
    description: 'Refresh jobs one batch-scheduler process works on at once.',
    expected: 'integer 1-1000',
    default: '8',
  }),
  CACHE_BATCH_ENABLED: envVar(boolean(), {
    description:
      'Group refresh requests per (provider, asset type, data type) into batch calls. false: one upstream call per request, the comparison baseline.',
    expected: 'true or false (also 1/0, yes/no, on/off)',
    default: 'true',
  }),
  CACHE_BATCH_SIZE: envVar(integer(1, 1_000), {
    description:
      'Most symbols in one upstream batch call; a provider with a smaller maximum batch size caps it further. A group this full is flushed at once.',
    expected: 'integer 1-1000',
    default: '100',
  }),
  CACHE_BATCH_INTERVAL: envVar(integer(0, 3_600), {
    description:
      'Longest a normal-priority request waits in its group for company, in seconds (urgent requests go at once while the provider has budget to spare).',
    expected: 'integer seconds 0-3600',
    default: '5',
  }),
  CACHE_LOW_LOAD_HOURS: envVar(hourList(), {
    description:
      'Hours of the day, in the exchange time zone (America/New_York), when low-priority (warming) requests are flushed. Outside them low-priority keys wait, unless a provider has spent none of its budget in its window, or they ride along in a call that is made anyway.',
    expected: 'comma-separated hours 0-23, e.g. 0,1,2,3,4,5,6',
    default: '0,1,2,3,4,5,6',
  }),
  REFRESH_MIN_AGE_FRACTION: envVar(decimal(0, 1), {
    description:
      'A non-urgent refresh skips a key whose cached entry is younger than this fraction of its TTL (0 refreshes always).',
    expected: 'decimal 0-1',
    default: '0.5',
  }),
  REFRESH_MAX_ATTEMPTS: envVar(integer(1, 20), {
    description:
      'Upstream attempts per key before the scheduler gives it up (failed, with the reason); retries back off exponentially with jitter.',
    expected: 'integer 1-20',
    default: '5',
  }),
  BATCH_LOCK_DURATION_MS: envVar(integer(1_000, 600_000), {
    description:
      'BullMQ lock of a job the batch-scheduler runs (a batch, or a refresh request it is grouping). Its worker renews it at half of it; when a batch-scheduler dies mid-job, another replica takes the job over once the lock has lapsed and the stalled check runs.',
    expected: 'integer milliseconds 1000-600000',
    default: '30000',
  }),
  BATCH_STALLED_INTERVAL_MS: envVar(integer(500, 600_000), {
    description:
      'How often each batch-scheduler looks for batch and refresh jobs whose worker died (their lock lapsed) and hands them to a live worker.',
    expected: 'integer milliseconds 500-600000',
    default: '15000',
  }),
  REFRESH_FETCH_TIMEOUT_MS: envVar(integer(100, 600_000), {
    description:
      'Longest the upstream fetch of one refresh job may take, its whole provider fallback chain included; past it the fetch is aborted and the job retried.',
    expected: 'integer milliseconds 100-600000',
    default: '15000',
  }),
});

export type BatchSchedulerConfig = EnvOf<typeof batchSchedulerEnv.vars>;
