import { envVar } from './env-var.js';
import { defineEnv } from './define-env.js';
import {
  boolean,
  cronPattern,
  hostname,
  integer,
  keyPrefix,
  oneOf,
  port,
  redisUrl,
  timeZone,
} from './parsers.js';

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

export const apiEnv = defineEnv('api', {
  ...common,
  REDIS_CACHE_URL,
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
});

export const batchSchedulerEnv = defineEnv('batch-scheduler', {
  ...common,
  ...metricsServer('9101'),
  WORKER_CONCURRENCY: envVar(integer(1, 1000), {
    description: 'Refresh jobs one batch-scheduler process works on at once.',
    expected: 'integer 1-1000',
    default: '8',
  }),
});

export const warmerEnv = defineEnv('warmer', {
  ...common,
  ...metricsServer('9102'),
  CACHE_WARMING_ENABLED: envVar(boolean(), {
    description:
      'Whether the warmer registers its Job Scheduler. When false it removes the schedule and idles, so turning warming off needs no redeploy of other processes.',
    expected: 'true or false (also 1/0, yes/no, on/off)',
    default: 'true',
  }),
  CACHE_WARMING_SCHEDULE: envVar(cronPattern(), {
    description:
      'Cron pattern of warming cycles, evaluated in CACHE_WARMING_TIMEZONE (5 fields, or 6 with seconds first).',
    expected: 'cron pattern, e.g. */5 * * * *',
    default: '*/5 * * * *',
  }),
  CACHE_WARMING_TIMEZONE: envVar(timeZone(), {
    description:
      'Time zone of CACHE_WARMING_SCHEDULE. The exchange’s zone keeps cycles aligned with the market clock across DST switches.',
    expected: 'IANA time zone name',
    default: 'America/New_York',
  }),
});

/** Every app's environment, in the order the docs list them. */
export const allEnvs = [apiEnv, batchSchedulerEnv, warmerEnv] as const;
