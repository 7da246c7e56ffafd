import { envVar } from './env-var.js';
import { defineEnv } from './define-env.js';
import {
  apiKeys,
  boolean,
  cronOrHourList,
  decimal,
  hourList,
  hostname,
  integer,
  keyPatterns,
  keyPrefix,
  oneOf,
  optionalSecret,
  port,
  redisUrl,
  timeZone,
} from './parsers.js';
import { providerVars } from './provider-vars.js';
import { ttlVars } from './ttl-vars.js';

/**
 * Every environment variable of every process, grouped by who reads it. Adding
 * a variable here without documenting it in docs/CONFIGURATION.md fails a test
 * (run `pnpm docs:config` to regenerate that page).
 */

const NODE_ENV = envVar(oneOf(['development', 'production', 'test']), {
  description:
    'Runtime mode. `development` logs pretty, coloured lines; anything else logs JSON, one object per line.',
  expected: 'one of development, production, test',
  default: 'production',
});

const LOG_LEVEL = envVar(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), {
  description: 'Lowest pino log level written.',
  expected: 'one of fatal, error, warn, info, debug, trace, silent',
  default: 'info',
});

const REDIS_QUEUE_URL = envVar(redisUrl(), {
  description:
    'Redis for BullMQ queues only. Run it with `maxmemory-policy noeviction` and AOF on; queue keys carry a hash tag, so a Redis Cluster works too.',
  expected: 'redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0',
});

const REDIS_CACHE_URL = envVar(redisUrl(), {
  description:
    'Redis for cache entries (L2) and access patterns. May be the same server as REDIS_QUEUE_URL in development; in production give it `maxmemory` with an LFU policy.',
  expected: 'redis:// or rediss:// URL, e.g. redis://127.0.0.1:6380/0',
});

const QUEUE_PREFIX = envVar(keyPrefix(), {
  description:
    'Prefix of every BullMQ key. It is wrapped in a hash tag (`{fiml}`), so all keys of all queues share one Redis Cluster slot. Every process of one deployment must use the same value.',
  expected: '1-32 letters, digits, ".", "_" or "-"',
  default: 'fiml',
});

const SHUTDOWN_TIMEOUT_MS = envVar(integer(0, 600_000), {
  description:
    'On SIGTERM or SIGINT, how long active jobs and requests may take to finish before connections are closed anyway.',
  expected: 'integer milliseconds 0-600000',
  default: '10000',
});

const common = { NODE_ENV, LOG_LEVEL, REDIS_QUEUE_URL, QUEUE_PREFIX, SHUTDOWN_TIMEOUT_MS };

const metricsServer = (defaultPort: string) => ({
  METRICS_HOST: envVar(hostname(), {
    description: 'Interface the worker’s /metrics, /healthz and /readyz server listens on.',
    expected: 'host name or IP address',
    default: '0.0.0.0',
  }),
  METRICS_PORT: envVar(port(), {
    description:
      'Port of the worker’s /metrics, /healthz and /readyz server (0 picks a free port).',
    expected: 'integer 0-65535',
    default: defaultPort,
  }),
});

/** The read path's cache settings (every process that reads through the cache). */
const cacheVars = {
  CACHE_KEY_PREFIX: envVar(keyPrefix(), {
    description:
      'First segment of every cache key in the cache Redis (`<prefix>:v1:price:equity:AAPL`), of the fetch locks and of the invalidation channel. Processes sharing a cache use the same value.',
    expected: '1-32 letters, digits, ".", "_" or "-"',
    default: 'fiml',
  }),
  L1_MAX_ENTRIES: envVar(integer(1, 10_000_000), {
    description: 'Most entries in each process’s in-memory L1 cache.',
    expected: 'integer 1-10000000',
    default: '10000',
  }),
  L1_EVICTION_POLICY: envVar(oneOf(['adaptive', 'lru', 'lfu', 'hybrid']), {
    description:
      'Which L1 entry goes when it is full: `adaptive` (W-TinyLFU with hill climbing, tracks the best of recency and frequency), `lru`, `lfu` or `hybrid`.',
    expected: 'one of adaptive, lru, lfu, hybrid',
    default: 'adaptive',
  }),
  L1_PROTECTED_PATTERNS: envVar(keyPatterns(), {
    description:
      'Keys or `*` patterns over cache keys (`price:equity:AAPL`, `price:*:BTC`) never evicted from L1 for capacity. Comma-separated; empty for none.',
    expected: 'comma-separated keys or patterns',
    default: '',
  }),
  CACHE_NEGATIVE_TTL: envVar(integer(1, 86_400), {
    description:
      'Seconds a "symbol not found" answer is cached, so unknown symbols do not cost an upstream call on every read.',
    expected: 'whole seconds 1-86400',
    default: '60',
  }),
  CACHE_STALE_IF_ERROR: envVar(integer(0, 7 * 86_400), {
    description:
      'Seconds past its freshness an entry is kept to stand in when the upstream fails (entries inside one TTL past freshness are served at once while refreshed in the background).',
    expected: 'whole seconds 0-604800',
    default: '3600',
  }),
};

export const apiEnv = defineEnv('api', {
  ...common,
  REDIS_CACHE_URL,
  ...cacheVars,
  ...ttlVars,
  ...providerVars,
  API_HOST: envVar(hostname(), {
    description: 'Interface the HTTP API listens on.',
    expected: 'host name or IP address',
    default: '0.0.0.0',
  }),
  API_PORT: envVar(port(), {
    description: 'Port of the HTTP API, which also serves /metrics, /healthz and /readyz.',
    expected: 'integer 0-65535',
    default: '3000',
  }),
  API_KEYS: envVar(apiKeys(), {
    description:
      'Client API keys as `name:key` pairs, comma-separated (keys of 16-256 visible ASCII characters). A key is needed for POST, DELETE and /admin, and for reads when API_READS_REQUIRE_KEY is true; the name appears in logs and per-key rate limits, the key never. Empty: only the admin key is accepted.',
    expected:
      'name:key[,name:key…], names 1-32 of [A-Za-z0-9._-], keys 16-256 visible ASCII characters',
    default: '',
    secret: true,
  }),
  API_ADMIN_KEY: envVar(optionalSecret(16), {
    description:
      'The operator key: everything a client key can do, plus actions on the queue dashboard (/admin/queues is read-only with a client key). Empty disables admin actions.',
    expected: 'empty, or 16-256 visible ASCII characters',
    default: '',
    secret: true,
  }),
  API_READS_REQUIRE_KEY: envVar(boolean(), {
    description: 'Whether GET /v1/data and /v1/cache/report need an API key too.',
    expected: 'true or false',
    default: 'false',
  }),
  API_RATE_LIMIT_PER_MINUTE: envVar(integer(0, 10_000_000), {
    description:
      'Requests per minute per API key (per client address without a key), shared by every api instance through the cache Redis; 0 turns the limit off. /healthz, /readyz and /metrics are never limited.',
    expected: 'integer 0-10000000',
    default: '6000',
  }),
  API_CLIENT_UPSTREAM_SHARE: envVar(decimal(0, 1), {
    description:
      'Upstream budget fairness: the share of each rate-limited provider window (of the part the api may spend, after the batch-scheduler’s reserve) that one client (API key, or address without one) may spend on its cache misses, counted in symbols (a call carries up to the provider’s batch size). Shared by every api instance through the cache Redis. Past it, a read answers 429 and a batch read `rate-limited` for the symbols it could not fetch. 1 lets one client spend the api’s whole share; 0 turns the per-client share off (refusals are still counted).',
    expected: 'decimal 0-1',
    default: '0.25',
  }),
  API_MAX_EVENT_LOOP_DELAY_MS: envVar(integer(0, 60_000), {
    description:
      'Above this event-loop delay the api answers 503 with Retry-After instead of queueing more work it cannot serve in time; 0 turns the check off.',
    expected: 'integer milliseconds 0-60000',
    default: '1000',
  }),
  CACHE_FETCH_TIMEOUT_MS: envVar(integer(100, 600_000), {
    description:
      'Hard bound on one upstream fetch of the read path, its whole provider fallback chain included: past it the fetch is aborted, the key is free for the next read, and the read answers stale data if there is some, else 503.',
    expected: 'integer milliseconds 100-600000',
    default: '15000',
  }),
  CACHE_SOFT_FETCH_TIMEOUT_MS: envVar(integer(1, 600_000), {
    description:
      'After this long, a read that has stale data to fall back on answers with it while the fetch goes on (and fills the cache when it lands); reads with nothing cached wait up to CACHE_FETCH_TIMEOUT_MS.',
    expected: 'integer milliseconds 1-600000',
    default: '2000',
  }),
  CACHE_COALESCE_WINDOW_MS: envVar(integer(0, 1_000), {
    description:
      'How long the first miss of a provider route waits for other misses to share its upstream batch call; the batch goes out early when it reaches the provider’s batch size. 0: only misses of the same tick share a call.',
    expected: 'integer milliseconds 0-1000',
    default: '5',
  }),
  CACHE_REFRESH_AHEAD_FRACTION: envVar(decimal(0, 1), {
    description:
      'Refresh ahead: a read that finds a value fresh but in this last share of its freshness (0.5: the last 2.5 minutes of a 5-minute price) asks the batch-scheduler, once per entry, to refresh it by the time it goes stale, so a key read at least that often stays a fresh hit and the renewals of many keys share one upstream call. Keep it at most 1 − REFRESH_MIN_AGE_FRACTION: the batch-scheduler skips a non-urgent refresh of a younger entry. Only for routes whose provider takes several symbols per call; 0 turns it off.',
    expected: 'decimal 0-1',
    default: '0.5',
  }),
  CACHE_LOCK_TTL_MS: envVar(integer(100, 600_000), {
    description:
      'Lease of the cross-instance fetch lock that lets one api instance fetch a missed key while the others wait for its answer; renewed while the fetch runs, so it only bounds the wait when the holder dies.',
    expected: 'integer milliseconds 100-600000',
    default: '10000',
  }),
});

export const batchSchedulerEnv = defineEnv('batch-scheduler', {
  ...common,
  ...metricsServer('9101'),
  // The write side: the cache Redis, key prefix, TTLs and stale windows the api reads with,
  // so an entry the scheduler writes is the entry the api would have written.
  REDIS_CACHE_URL,
  CACHE_KEY_PREFIX: cacheVars.CACHE_KEY_PREFIX,
  CACHE_NEGATIVE_TTL: cacheVars.CACHE_NEGATIVE_TTL,
  CACHE_STALE_IF_ERROR: cacheVars.CACHE_STALE_IF_ERROR,
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
      'BullMQ lock of a running batch job. Its worker renews it at half of it; when a batch-scheduler dies mid-batch, another replica takes the batch over once the lock has lapsed and the stalled check runs.',
    expected: 'integer milliseconds 1000-600000',
    default: '30000',
  }),
  BATCH_STALLED_INTERVAL_MS: envVar(integer(500, 600_000), {
    description:
      'How often each batch-scheduler looks for batch jobs whose worker died (their lock lapsed) and hands them to a live worker.',
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

export const warmerEnv = defineEnv('warmer', {
  ...common,
  ...metricsServer('9102'),
  // The read side of what it plans from: the access history and L2 in the cache Redis,
  // the TTLs a warmed entry would get, and the providers' routes, budgets and earnings calendars.
  REDIS_CACHE_URL,
  CACHE_KEY_PREFIX: cacheVars.CACHE_KEY_PREFIX,
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

/** Every app's environment, in the order the docs list them. */
export const allEnvs = [apiEnv, batchSchedulerEnv, warmerEnv] as const;
