import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import {
  AccessHistory,
  CacheWriter,
  DEFAULT_HALF_LIFE_MS,
  ttlEnvOf,
  TtlPolicy,
  ttlSettingsFromEnv,
  WarmLedger,
} from '@fiml/cache';
import { redactUrl } from '@fiml/config';
import { type WarmerConfig } from './config.js';
import { systemClock, type Clock } from '@fiml/market';
import {
  registerQueueMetrics,
  registerWarmMetrics,
  registerWarmScheduleMetrics,
} from '@fiml/observability';
import {
  closeRedis,
  createCloser,
  createLogger,
  createMetricsRegistry,
  createRedisConnection,
  type Logger,
  reconnectDelay,
  redisReadiness,
  type Registry,
  type WorkerProcess,
} from '@fiml/runtime';
import { buildProviderRegistry, type ProviderRegistry } from '@fiml/providers';
import { RefreshProducer, WARM_MODES } from '@fiml/queue';
import { SCHEDULE_CHECK_TRIGGERS } from './schedule-keeper.js';
import { WarmCycle } from './warm-cycle.js';
import { buildWarmer, type Warmer } from './warmer.js';

/**
 * How long before a deadline a warming refresh is assumed written (the
 * batch-scheduler sends deadline keys its fetch timeout, at least 1 s, ahead):
 * a pre-open value's freshness is counted from then, on the safe side.
 */
const DEADLINE_LEAD_MS = 60_000;

/** What a caller may supply instead of what the config would build. */
export interface WarmerOverrides {
  /** @defaultValue a pino logger at LOG_LEVEL (pretty in development) */
  readonly logger?: Logger;
  /** @defaultValue a new registry with the `service="warmer"` label */
  readonly registry?: Registry;
  /** Time of runs, windows and the ledger. @defaultValue systemClock */
  readonly clock?: Clock;
}

/** The warmer process, built and not yet started. */
export interface WarmerApp extends WorkerProcess {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The `worker`-role connection to the queue Redis (scheduler queue and worker). */
  readonly queueRedis: Redis | Cluster;
  /** The `cache`-role connection: access history, L2 (read only), warm ledger, rate limits. */
  readonly cacheRedis: Redis | Cluster;
  readonly warmer: Warmer;
  /** One warming run, as the Job Schedulers fire them. */
  readonly cycle: WarmCycle;
  readonly ledger: WarmLedger;
  readonly providers: ProviderRegistry;
  /**
   * Registers the warming schedule (or removes it when disabled). While the
   * queue Redis is unreachable it retries with backoff; it resolves once
   * registered, or when `close()` stops it. From then on `warmer.schedule`
   * re-creates a scheduler it finds missing (after a reconnect, and every
   * CACHE_WARMING_SCHEDULE_CHECK_MS); `readiness.warmSchedule` fails until
   * registered and while one is missing and cannot be re-created.
   */
  start(): Promise<void>;
}

/**
 * Builds every collaborator of the warmer from its parsed configuration,
 * exactly as the process runs it: `main.ts` and the tests both call this.
 * Nothing listens here; `close()` closes in reverse order of building.
 */
export function createWarmer(config: WarmerConfig, overrides: WarmerOverrides = {}): WarmerApp {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'warmer',
      level: config.LOG_LEVEL,
      pretty: config.NODE_ENV === 'development',
    });
  const registry = overrides.registry ?? createMetricsRegistry({ service: 'warmer' });
  const closer = createCloser(logger);

  const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
    role: 'worker',
    name: 'warmer',
    logger,
  });
  closer.add('queue redis', () => closeRedis(queueRedis));
  const clock = overrides.clock ?? systemClock;
  const cacheRedis = createRedisConnection(config.REDIS_CACHE_URL, {
    role: 'cache',
    name: 'warmer:cache',
    logger,
  });
  let providers: ProviderRegistry;
  try {
    providers = buildProviderRegistry(config, { redis: cacheRedis, clock, logger });
  } catch (error) {
    // An unknown provider or a missing API key: nothing else stays open.
    cacheRedis.disconnect();
    queueRedis.disconnect();
    throw error;
  }
  closer.add('cache redis', () => closeRedis(cacheRedis));
  const ttl = ttlSettingsFromEnv(ttlEnvOf(config));
  // No jitter: the planner asks when a warmed value would go stale, on the safe side.
  const ttlPolicy = new TtlPolicy({ table: ttl.table, jitter: 0, clock });
  const keyPrefix = config.CACHE_KEY_PREFIX;
  const ledger = new WarmLedger({ redis: cacheRedis, keyPrefix, clock });
  const producer = new RefreshProducer({
    connection: config.REDIS_QUEUE_URL,
    prefix: config.QUEUE_PREFIX,
    logger,
  });
  closer.add('refresh producer', () => producer.close());
  const cycle = new WarmCycle({
    history: new AccessHistory({ redis: cacheRedis, keyPrefix }),
    ledger,
    cache: new CacheWriter({ redis: cacheRedis, ttlPolicy, keyPrefix, clock }),
    providers,
    enqueue: (request) => producer.enqueueRefresh(request),
    ttl: ttlPolicy,
    calendar: ttlPolicy.calendar,
    clock,
    logger,
    settings: {
      schedule: { pattern: config.CACHE_WARMING_SCHEDULE, tz: config.CACHE_WARMING_TIMEZONE },
      maxKeys: config.CACHE_WARMING_BATCH_SIZE,
      refreshAheadSeconds: config.CACHE_WARMING_REFRESH_AHEAD_SECONDS,
      halfLifeMs: DEFAULT_HALF_LIFE_MS,
      deadlineLeadMs: DEADLINE_LEAD_MS,
    },
  });
  registerWarmMetrics(registry, cycle, { modes: WARM_MODES, logger });

  const warmer = buildWarmer({
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    logger,
    enabled: config.CACHE_WARMING_ENABLED,
    schedule: { pattern: config.CACHE_WARMING_SCHEDULE, tz: config.CACHE_WARMING_TIMEZONE },
    preOpenMinutes: config.CACHE_WARMING_PREOPEN_MINUTES,
    refreshAheadSeconds: config.CACHE_WARMING_REFRESH_AHEAD_SECONDS,
    run: (mode) => cycle.run(mode),
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    scheduleCheckIntervalMs: config.CACHE_WARMING_SCHEDULE_CHECK_MS,
  });
  closer.add('warm worker', () => warmer.close());
  registerQueueMetrics(registry, {
    queues: [warmer.queue],
    workers: [warmer.worker.worker],
    logger,
  });
  registerWarmScheduleMetrics(registry, warmer.schedule, {
    schedulers: warmer.schedule.schedulers,
    triggers: SCHEDULE_CHECK_TRIGGERS,
    logger,
  });

  // Stops a registration that is still retrying when the process shuts down.
  const stopping = new AbortController();

  return {
    logger,
    registry,
    queueRedis,
    cacheRedis,
    warmer,
    cycle,
    ledger,
    providers,
    readiness: {
      queueRedis: redisReadiness(queueRedis),
      cacheRedis: redisReadiness(cacheRedis),
      // Registered, and no Job Scheduler missing for good (see ScheduleKeeper).
      warmSchedule: warmer.schedule.readiness,
    },
    summary: {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      cacheRedis: redactUrl(config.REDIS_CACHE_URL),
      queuePrefix: config.QUEUE_PREFIX,
    },
    async start() {
      for (let attempt = 1; !stopping.signal.aborted; attempt++) {
        try {
          await warmer.start();
          return;
        } catch (error) {
          if (stopping.signal.aborted) return;
          const delayMs = reconnectDelay(attempt);
          logger.warn(
            { err: error, attempt, delayMs },
            'could not register the warming schedule; retrying',
          );
          await delay(delayMs, undefined, { signal: stopping.signal }).catch(() => undefined);
        }
      }
    },
    close() {
      stopping.abort();
      return closer.close();
    },
  };
}
