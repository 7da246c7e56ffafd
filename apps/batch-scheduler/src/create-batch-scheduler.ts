import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { CacheWriter, ttlEnvOf, TtlPolicy, ttlSettingsFromEnv, WarmLedger } from '@fiml/cache';
import { redactUrl } from '@fiml/config';
import { type BatchSchedulerConfig } from './config.js';
import {
  NYSE_TIME_ZONE,
  SeededRandom,
  randomSeed,
  systemClock,
  type Clock,
  type Random,
} from '@fiml/market';
import {
  registerBatchMetrics,
  registerCacheErrorMetrics,
  registerCacheWriteMetrics,
  registerProviderMetrics,
  registerQueueMetrics,
} from '@fiml/observability';
import {
  closeRedis,
  createCloser,
  createLogger,
  createMetricsRegistry,
  createRedisConnection,
  type Logger,
  redisReadiness,
  type Registry,
  type WorkerProcess,
} from '@fiml/runtime';
import {
  buildProviderRegistry,
  type MarketDataProvider,
  type ProviderRegistry,
} from '@fiml/providers';
import { QueueName, queuePrefix, type JobWorker } from '@fiml/queue';
import { RefreshConsumer } from './refresh-consumer.js';
import { BatchScheduler, type SchedulerSettings } from './scheduler/batch-scheduler.js';
import { buildWorker } from './worker.js';

/** What a caller may supply instead of what the config would build. */
export interface BatchSchedulerOverrides {
  /** @defaultValue a pino logger at LOG_LEVEL (pretty in development) */
  readonly logger?: Logger;
  /** @defaultValue a new registry with the `service="batch-scheduler"` label */
  readonly registry?: Registry;
  /** Time for TTLs, rate limits and entry timestamps. @defaultValue systemClock */
  readonly clock?: Clock;
  /** The TTL jitter's and the retry backoff's randomness. @defaultValue a SeededRandom with a random seed */
  readonly random?: Random;
  /** Scheduler timings tests shorten (tick, lease, lock); the rest comes from the config. */
  readonly scheduler?: Partial<
    Pick<
      SchedulerSettings,
      'tickMs' | 'leaseMs' | 'lockDurationMs' | 'stalledIntervalMs' | 'retryBaseMs'
    >
  >;
  /**
   * Upstream providers built by the caller (an in-process simulator, for the
   * benchmark); each replaces the built-in provider with its id, under the same
   * routes and shared rate limits. @defaultValue the providers the config names
   */
  readonly upstream?: readonly MarketDataProvider[];
}

/** The batch-scheduler process, built: its worker is already fetching jobs. */
export interface BatchSchedulerApp extends WorkerProcess {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The `worker`-role connection to the queue Redis. */
  readonly queueRedis: Redis | Cluster;
  /** The `cache`-role connection to the cache Redis (entries, shared rate limits). */
  readonly cacheRedis: Redis | Cluster;
  /** The upstream providers, by route, under the shared rate limits. */
  readonly providers: ProviderRegistry;
  /** Writes entries newer-wins to L2 and publishes their invalidations. */
  readonly writer: CacheWriter;
  /** Fetches and writes each refresh request at once: the path with CACHE_BATCH_ENABLED=false. */
  readonly refresh: RefreshConsumer;
  /** Groups refresh requests into batch calls (CACHE_BATCH_ENABLED=true); undefined otherwise. */
  readonly scheduler: BatchScheduler | undefined;
  /** The refresh consumer. */
  readonly worker: JobWorker;
  /** A handle on the refresh queue, for job counts on /metrics. */
  readonly refreshQueue: Queue;
}

/**
 * Builds every collaborator of the batch-scheduler from its parsed
 * configuration, exactly as the process runs it: `main.ts` and the tests both
 * call this. Nothing listens here; `close()` closes in reverse order of
 * building (worker first, connections last).
 */
export function createBatchScheduler(
  config: BatchSchedulerConfig,
  overrides: BatchSchedulerOverrides = {},
): BatchSchedulerApp {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'batch-scheduler',
      level: config.LOG_LEVEL,
      pretty: config.NODE_ENV === 'development',
    });
  const registry = overrides.registry ?? createMetricsRegistry({ service: 'batch-scheduler' });
  const clock = overrides.clock ?? systemClock;
  const closer = createCloser(logger);

  const cacheRedis = createRedisConnection(config.REDIS_CACHE_URL, {
    role: 'cache',
    name: 'batch-scheduler:cache',
    logger,
  });
  let providers: ProviderRegistry;
  try {
    providers = buildProviderRegistry(config, {
      redis: cacheRedis,
      clock,
      logger,
      ...(overrides.upstream ? { providers: overrides.upstream } : {}),
    });
  } catch (error) {
    // An unknown provider or a missing API key: nothing else is built, nothing stays open.
    cacheRedis.disconnect();
    throw error;
  }
  closer.add('cache redis', () => closeRedis(cacheRedis));
  registerProviderMetrics(registry, providers, {
    providers: providers.providers().map((p) => p.id),
    logger,
  });

  const ttl = ttlSettingsFromEnv(ttlEnvOf(config));
  const random = overrides.random ?? new SeededRandom(randomSeed());
  const writer = new CacheWriter({
    redis: cacheRedis,
    ttlPolicy: new TtlPolicy({
      table: ttl.table,
      jitter: ttl.jitter,
      random,
      clock,
    }),
    keyPrefix: config.CACHE_KEY_PREFIX,
    clock,
    negativeTtlMs: config.CACHE_NEGATIVE_TTL * 1000,
    staleIfErrorMs: config.CACHE_STALE_IF_ERROR * 1000,
  });
  registerCacheErrorMetrics(registry, writer, { logger });
  const refresh = new RefreshConsumer({
    providers,
    writer,
    fetchTimeoutMs: config.REFRESH_FETCH_TIMEOUT_MS,
  });

  const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
    role: 'worker',
    name: 'batch-scheduler',
    logger,
  });
  closer.add('queue redis', () => closeRedis(queueRedis));

  // Job counts need a Queue handle on the worker's queue; it shares the worker's connection.
  const refreshQueue = new Queue(QueueName.REFRESH, {
    connection: queueRedis,
    prefix: queuePrefix(config.QUEUE_PREFIX),
  });
  refreshQueue.on('error', (error) => logger.debug({ err: error }, 'refresh queue error'));
  closer.add('refresh queue', () => refreshQueue.close());

  // BullMQ's lock and stalled check, the same for the batch workers and the refresh worker:
  // a batch or a request held by a replica that died moves on as soon as either.
  const jobTimings = {
    lockDurationMs: overrides.scheduler?.lockDurationMs ?? config.BATCH_LOCK_DURATION_MS,
    stalledIntervalMs: overrides.scheduler?.stalledIntervalMs ?? config.BATCH_STALLED_INTERVAL_MS,
  };
  let scheduler: BatchScheduler | undefined;
  if (config.CACHE_BATCH_ENABLED) {
    const batching = new BatchScheduler({
      queueRedis,
      prefix: config.QUEUE_PREFIX,
      providers,
      writer,
      ledger: new WarmLedger({ redis: cacheRedis, keyPrefix: config.CACHE_KEY_PREFIX, clock }),
      clock,
      random,
      logger,
      settings: {
        batchSize: config.CACHE_BATCH_SIZE,
        intervalMs: config.CACHE_BATCH_INTERVAL * 1000,
        lowLoadHours: config.CACHE_LOW_LOAD_HOURS,
        timeZone: NYSE_TIME_ZONE,
        minAgeFraction: config.REFRESH_MIN_AGE_FRACTION,
        maxAttempts: config.REFRESH_MAX_ATTEMPTS,
        fetchTimeoutMs: config.REFRESH_FETCH_TIMEOUT_MS,
        batchConcurrency: Math.min(8, config.WORKER_CONCURRENCY),
        ...overrides.scheduler,
        ...jobTimings,
      },
    });
    registerBatchMetrics(registry, batching, {
      providers: providers.providers().map((p) => p.id),
      logger,
    });
    registerCacheWriteMetrics(registry, batching, { writers: ['scheduler'], logger });
    batching.start();
    closer.add('batch scheduler', () => batching.close());
    scheduler = batching;
  } else {
    registerCacheWriteMetrics(registry, refresh, { writers: ['scheduler'], logger });
  }

  const worker = buildWorker({
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    logger,
    refresh: (request) => (scheduler ? scheduler.accept(request) : refresh.refresh(request)),
    concurrency: config.WORKER_CONCURRENCY,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    ...jobTimings,
  });
  closer.add('refresh worker', () => worker.close());
  const batches = scheduler?.batchQueues() ?? { queues: [], workers: [] };
  registerQueueMetrics(registry, {
    queues: [refreshQueue, ...batches.queues],
    workers: [worker.worker, ...batches.workers],
    logger,
  });

  return {
    logger,
    registry,
    queueRedis,
    cacheRedis,
    providers,
    writer,
    refresh,
    scheduler,
    worker,
    refreshQueue,
    readiness: { queueRedis: redisReadiness(queueRedis), cacheRedis: redisReadiness(cacheRedis) },
    summary: {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      cacheRedis: redactUrl(config.REDIS_CACHE_URL),
      queuePrefix: config.QUEUE_PREFIX,
      cachePrefix: config.CACHE_KEY_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      batching: config.CACHE_BATCH_ENABLED
        ? {
            size: config.CACHE_BATCH_SIZE,
            intervalSeconds: config.CACHE_BATCH_INTERVAL,
            lowLoadHours: config.CACHE_LOW_LOAD_HOURS.join(','),
          }
        : false,
      routes: Object.fromEntries(
        Object.entries(config.PROVIDER_ROUTES).map(([route, ids]) => [route, ids.join(',')]),
      ),
    },
    close: () => closer.close(),
  };
}
