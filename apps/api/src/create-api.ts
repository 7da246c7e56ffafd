// The api's composition as a function: main.ts and the tests build the same
// collaborators from the same parsed config, so the tests run the wiring that
// production runs.
import type { Cluster, Redis } from 'ioredis';
import {
  AccessRecorder,
  CacheAnalytics,
  CacheManager,
  L1Cache,
  type L1Value,
  type RefreshAheadRequest,
  type RevalidateRequest,
  ttlEnvOf,
  TtlPolicy,
  ttlSettingsFromEnv,
  WarmLedger,
  WarmReadRecorder,
} from '@fiml/cache';
import { type ApiConfig } from './config.js';
import {
  ASSET_TYPES,
  DATA_TYPES,
  SeededRandom,
  randomSeed,
  systemClock,
  type Clock,
  type Random,
} from '@fiml/market';
import {
  registerAccessMetrics,
  registerCacheMetrics,
  registerAcceptQueueMetric,
  registerHttpMetrics,
  registerProviderMetrics,
  registerQueueMetrics,
  registerUpstreamRefusalMetrics,
} from '@fiml/observability';
import {
  closeRedis,
  createLogger,
  createMetricsRegistry,
  createRedisConnection,
  type Logger,
  redisReadiness,
  registerReadinessMetrics,
  type Registry,
} from '@fiml/runtime';
import { buildProviderRegistry, type ProviderRegistry } from '@fiml/providers';
import { RefreshProducer, type EnqueuedRefresh } from '@fiml/queue';
import { buildApp, type App } from './app.js';
import type { BudgetSpentMiss } from './routes/data.js';
import { logCacheErrors } from './cache-error-log.js';
import { registryLoaders } from './upstream.js';
import { UpstreamGate } from './upstream-gate.js';

/**
 * How long one stale key's refresh job deduplicates further stale reads of
 * it, across every api instance (BullMQ deduplication, throttle mode). Long
 * enough for the batch-scheduler to flush and fetch; shorter than the
 * shortest freshness TTL (crypto prices, 1 min), so a key that went stale
 * again after its refresh landed is asked for again.
 */
export const STALE_REFRESH_DEDUP_TTL_MS = 30_000;

/**
 * The shortest time one missed key's refresh job deduplicates further refused
 * reads of it. Otherwise the id holds about as long as the client was told to
 * wait (Retry-After): by then the batch-scheduler has fetched it, or a retry
 * that misses again asks again.
 */
export const MISS_REFRESH_MIN_DEDUP_TTL_MS = 1_000;

/**
 * What a test may inject: the things a process takes from its surroundings
 * (time, randomness, where logs and metrics go), never a different wiring.
 */
export interface ApiOverrides {
  /** @defaultValue a pino logger at LOG_LEVEL (pretty in development) */
  readonly logger?: Logger;
  /** @defaultValue a new registry labelled service="api" */
  readonly registry?: Registry;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Draws the TTL jitter. @defaultValue new SeededRandom(randomSeed()) */
  readonly random?: Random;
  /** How often the event-loop delay is sampled for API_MAX_EVENT_LOOP_DELAY_MS. @defaultValue 1000 */
  readonly pressureSampleIntervalMs?: number;
}

/** Something the api closes on shutdown, named for the shutdown log. */
export interface ApiResource {
  readonly name: string;
  close(): Promise<unknown>;
}

/** The api, built and not listening. */
export interface Api {
  readonly app: App;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock: Clock;
  readonly queueRedis: Redis | Cluster;
  readonly cacheRedis: Redis | Cluster;
  readonly refresh: RefreshProducer;
  readonly providers: ProviderRegistry;
  readonly cache: CacheManager;
  readonly analytics: CacheAnalytics;
  readonly access: AccessRecorder;
  /**
   * What {@link Api.close} closes, in the order it was built (close in
   * reverse). main.ts registers each as its own shutdown step, so a slow
   * step is named in the log.
   */
  readonly resources: readonly ApiResource[];
  /**
   * Resolves when the invalidation subscription is up; rejects when it could
   * not be set up (already logged). Reads work before it; coherence starts here.
   */
  readonly started: Promise<void>;
  /** Closes every resource in reverse order, each even when another failed; rejects with an AggregateError of the failures. */
  close(): Promise<void>;
}

/** The provider configuration names a provider that does not exist or lacks an API key. */
export class InvalidProviderConfigError extends Error {
  readonly code = 'FIML_INVALID_PROVIDER_CONFIG';
  constructor(cause: unknown) {
    super(
      `invalid provider configuration: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'InvalidProviderConfigError';
  }
}

/** Closes every resource, last built first, even when one fails; rejects naming every failure. */
async function closeInReverse(resources: readonly ApiResource[]): Promise<void> {
  const failures: unknown[] = [];
  for (const resource of [...resources].reverse()) {
    try {
      await resource.close();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} api resource(s) failed to close`);
  }
}

/**
 * Builds every collaborator of the api from its parsed config: the two Redis
 * roles, the refresh producer, the provider registry, the CacheManager (TTL
 * policy, L1, stale refresh through the queue), analytics, metrics, the access
 * recorder and the HTTP app. Nothing listens; the caller does.
 *
 * Throws {@link InvalidProviderConfigError} (after closing what it opened)
 * when the provider configuration is unusable.
 */
export function createApi(config: ApiConfig, overrides: ApiOverrides = {}): Api {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'api',
      level: config.LOG_LEVEL,
      pretty: config.NODE_ENV === 'development',
    });
  const registry = overrides.registry ?? createMetricsRegistry({ service: 'api' });
  const clock = overrides.clock ?? systemClock;
  const resources: ApiResource[] = [];

  const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
    role: 'producer',
    name: 'api:queue',
    logger,
  });
  resources.push({ name: 'queue redis', close: () => closeRedis(queueRedis) });
  const cacheRedis = createRedisConnection(config.REDIS_CACHE_URL, {
    role: 'cache',
    name: 'api:cache',
    logger,
  });
  resources.push({ name: 'cache redis', close: () => closeRedis(cacheRedis) });

  const refresh = new RefreshProducer({
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    logger,
  });
  resources.push({ name: 'refresh producer', close: () => refresh.close() });
  // The api only produces: job counts of the refresh queue, no worker series.
  registerQueueMetrics(registry, { queues: [refresh.queue], logger });

  let providers: ProviderRegistry;
  try {
    providers = buildProviderRegistry(config, { redis: cacheRedis, clock, logger });
  } catch (error) {
    // An unknown provider or a missing API key: a deployment mistake, not an outage.
    for (const resource of [...resources].reverse()) void resource.close().catch(() => undefined);
    throw new InvalidProviderConfigError(error);
  }

  /**
   * A stale read asks the batch-scheduler for fresh data, once per key across
   * every instance (deduplicated in the queue Redis); the reader is not kept
   * waiting. The promise goes back to the cache: when the enqueue fails (queue
   * Redis down), the cache refreshes the key in-process and reports the error.
   */
  const enqueueStaleRefresh = (request: RevalidateRequest): Promise<EnqueuedRefresh> => {
    const { dataType, asset } = request;
    const enqueued = refresh.enqueueRefresh(
      {
        symbols: [asset.symbol],
        assetType: asset.assetType,
        dataType,
        priority: 'urgent',
        reason: 'stale',
        source: 'api:stale',
      },
      {
        deduplicationId: `stale:${dataType}:${asset.assetType}:${asset.symbol}`,
        deduplicationTtlMs: STALE_REFRESH_DEDUP_TTL_MS,
      },
    );
    // Handled by the cache (in-process refresh and an `error` event); this
    // only keeps a rejection the cache has not awaited yet from counting as unhandled.
    enqueued.catch(() => undefined);
    return enqueued;
  };

  /**
   * A fresh entry read near its expiry (CACHE_REFRESH_AHEAD_FRACTION): one
   * normal-priority refresh due when it goes stale, deduplicated across
   * instances, which the batch-scheduler batches with the others of its
   * provider. Not for a provider that takes one symbol per call: there is
   * no call to share, and its budget is better left to misses.
   */
  const enqueueAheadRefresh = (request: RefreshAheadRequest): Promise<unknown> | undefined => {
    const { dataType, asset, freshUntil } = request;
    const primary = providers.route(asset.assetType, dataType)[0];
    if (!primary || primary.maxBatchSize <= 1) return undefined;
    return refresh.enqueueRefresh(
      {
        symbols: [asset.symbol],
        assetType: asset.assetType,
        dataType,
        priority: 'normal',
        reason: 'ahead',
        deadline: new Date(freshUntil).toISOString(),
        source: 'api:ahead',
      },
      {
        deduplicationId: `ahead:${dataType}:${asset.assetType}:${asset.symbol}`,
        // Until the entry goes stale: the next entry's request is a new one.
        deduplicationTtlMs: Math.max(1, freshUntil - clock.now()),
      },
    );
  };

  /**
   * A miss the api did not fetch because the provider's budget left to it is
   * spent: one urgent refresh per key across every instance, which the
   * batch-scheduler merges into its next call, so the client's retry is a hit.
   */
  const enqueueMissRefresh = (miss: BudgetSpentMiss): Promise<EnqueuedRefresh> =>
    refresh.enqueueRefresh(
      {
        symbols: [miss.symbol],
        assetType: miss.assetType,
        dataType: miss.dataType,
        priority: 'urgent',
        reason: 'miss',
        source: 'api:miss',
      },
      {
        deduplicationId: `miss:${miss.dataType}:${miss.assetType}:${miss.symbol}`,
        deduplicationTtlMs: Math.max(MISS_REFRESH_MIN_DEDUP_TTL_MS, Math.ceil(miss.retryAfterMs)),
      },
    );

  const ttl = ttlSettingsFromEnv(ttlEnvOf(config));
  const cache = new CacheManager({
    ttlPolicy: new TtlPolicy({
      table: ttl.table,
      jitter: ttl.jitter,
      random: overrides.random ?? new SeededRandom(randomSeed()),
      clock,
    }),
    l1: new L1Cache<L1Value>({
      maxEntries: config.L1_MAX_ENTRIES,
      evictionPolicy: config.L1_EVICTION_POLICY,
      protectedPatterns: config.L1_PROTECTED_PATTERNS,
      clock,
    }),
    redis: cacheRedis,
    keyPrefix: config.CACHE_KEY_PREFIX,
    clock,
    loaderFor: registryLoaders(providers),
    staleIfErrorMs: config.CACHE_STALE_IF_ERROR * 1000,
    negativeTtlMs: config.CACHE_NEGATIVE_TTL * 1000,
    fetchTimeoutMs: config.CACHE_FETCH_TIMEOUT_MS,
    softFetchTimeoutMs: config.CACHE_SOFT_FETCH_TIMEOUT_MS,
    coalesceWindowMs: config.CACHE_COALESCE_WINDOW_MS,
    lockTtlMs: config.CACHE_LOCK_TTL_MS,
    logger: logger.child({ component: 'cache' }),
    onStale: enqueueStaleRefresh,
    refreshAheadFraction: config.CACHE_REFRESH_AHEAD_FRACTION,
    ...(config.CACHE_REFRESH_AHEAD_FRACTION > 0 ? { onRefreshAhead: enqueueAheadRefresh } : {}),
  });
  logCacheErrors(cache, { logger, clock });
  // Analytics and Prometheus listen to the cache's events; the cache knows neither.
  const analytics = new CacheAnalytics({ clock });
  analytics.attach(cache);
  registerCacheMetrics(registry, cache, {
    sizes: () => ({ l1Entries: cache.l1.size }),
    hitRates: () => analytics.hitRates('5m'),
    logger,
  });
  registerProviderMetrics(registry, providers, {
    providers: providers.providers().map((p) => p.id),
  });

  // One client never spends everyone's upstream budget; refusals by our own limiter are counted.
  const gate = new UpstreamGate({
    registry: providers,
    redis: cacheRedis,
    keyPrefix: config.CACHE_KEY_PREFIX,
    share: config.API_CLIENT_UPSTREAM_SHARE,
    clock,
    logger,
  });
  registerUpstreamRefusalMetrics(registry, gate, {
    series: ASSET_TYPES.flatMap((assetType) =>
      DATA_TYPES.flatMap((dataType) => {
        const provider = providers.route(assetType, dataType)[0]?.id;
        return provider ? [{ provider, dataType }] : [];
      }),
    ),
    logger,
  });

  // The subscription waits for the cache Redis; reads work meanwhile, coherence starts when it is up.
  const started = cache.start();
  started.catch((error: unknown) =>
    logger.error({ err: error }, 'invalidation subscription failed'),
  );
  resources.push({ name: 'cache invalidations', close: () => cache.close() });

  let accessErrorLogged = false;
  const access = new AccessRecorder({
    redis: cacheRedis,
    keyPrefix: config.CACHE_KEY_PREFIX,
    clock,
    onError: (error) => {
      if (accessErrorLogged) return;
      accessErrorLogged = true;
      logger.warn(
        { err: error },
        'could not record reads for the warmer (logged once; fiml_access_dropped_total counts them)',
      );
    },
  });
  // Dropped reads are a metric, not log lines: a slow Redis would drop many.
  registerAccessMetrics(registry, access, { logger });
  resources.push({ name: 'access recorder', close: () => access.close() });

  // Warm precision: reads of warmer-written entries go to the warm ledger.
  const ledger = new WarmLedger({ redis: cacheRedis, keyPrefix: config.CACHE_KEY_PREFIX, clock });
  const warmReads = new WarmReadRecorder({ ledger, clock });
  let warmErrorLogged = false;
  warmReads.on('drop', ({ reason, reads, error }) => {
    if (warmErrorLogged) return;
    warmErrorLogged = true;
    logger.warn(
      { err: error, reason, reads },
      'could not book reads of warmed entries (logged once)',
    );
  });
  cache.on('hit', warmReads.onHit);
  resources.push({ name: 'warm read recorder', close: () => warmReads.close() });

  // The api serves reads without either Redis role: their checks say `degraded`, not unready.
  const readiness = {
    queueRedis: redisReadiness(queueRedis),
    cacheRedis: redisReadiness(cacheRedis),
  };
  registerReadinessMetrics(registry, readiness);

  const app = buildApp({
    logger,
    registry,
    clock,
    refresh,
    refreshMiss: enqueueMissRefresh,
    cache,
    gate,
    access,
    report: () => analytics.getComprehensiveReport(),
    warming: async (limit) => {
      const [runs, totals, pending] = await Promise.all([
        ledger.runs(limit),
        ledger.totals(),
        ledger.pending(),
      ]);
      // JSON has no undefined: "no precision yet" is null.
      return {
        totals: { ...totals, precision: totals.precision ?? null, pending },
        runs: runs.map((run) => ({
          ...run,
          outcomes: { ...run.outcomes, precision: run.outcomes.precision ?? null },
        })),
      };
    },
    readiness,
    auth: {
      keys: config.API_KEYS,
      adminKey: config.API_ADMIN_KEY,
      readsRequireKey: config.API_READS_REQUIRE_KEY,
    },
    rateLimit: {
      perMinute: config.API_RATE_LIMIT_PER_MINUTE,
      redis: cacheRedis,
      keyPrefix: config.CACHE_KEY_PREFIX,
    },
    maxEventLoopDelayMs: config.API_MAX_EVENT_LOOP_DELAY_MS,
    ...(overrides.pressureSampleIntervalMs === undefined
      ? {}
      : { pressureSampleIntervalMs: overrides.pressureSampleIntervalMs }),
    queueBoard: { connection: queueRedis, prefix: config.QUEUE_PREFIX },
    httpMetrics: registerHttpMetrics(registry),
  });
  resources.push({ name: 'http server', close: () => app.close() });
  // Connections waiting to be accepted: where a busy loop's slow accepts show (libuv takes one
  // per iteration), which no request timer sees.
  registerAcceptQueueMetric(registry, () => {
    const address = app.server.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  });

  return {
    app,
    logger,
    registry,
    clock,
    queueRedis,
    cacheRedis,
    refresh,
    providers,
    cache,
    analytics,
    access,
    resources,
    started,
    close: () => closeInReverse(resources),
  };
}
