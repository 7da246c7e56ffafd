// Composition root of the api process: reads the environment once, builds
// every collaborator, listens, and closes everything in reverse on SIGTERM.
import { AccessRecorder, CacheAnalytics, CacheManager, L1Cache, type L1Value } from '@fiml/cache';
import { apiEnv, loadConfigOrExit, redactUrl, ttlEnvOf } from '@fiml/config';
import { SeededRandom, TtlPolicy, randomSeed, systemClock, ttlSettingsFromEnv } from '@fiml/market';
import {
  registerCacheMetrics,
  registerProviderMetrics,
  registerQueueMetrics,
} from '@fiml/observability';
import { buildProviderRegistry } from '@fiml/providers';
import {
  RefreshProducer,
  createRedisConnection,
  createProcessContext,
  redisReadiness,
} from '@fiml/queue';
import { buildApp } from './app.js';
import { registryLoaders } from './upstream.js';

const config = loadConfigOrExit(apiEnv);
const { logger, registry, shutdown } = createProcessContext({ service: 'api', config });
const clock = systemClock;

const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
  role: 'producer',
  name: 'api:queue',
  logger,
});
shutdown.register('queue redis', () => queueRedis.quit());
const cacheRedis = createRedisConnection(config.REDIS_CACHE_URL, {
  role: 'cache',
  name: 'api:cache',
  logger,
});
shutdown.register('cache redis', () => cacheRedis.quit());

const refresh = new RefreshProducer({
  connection: queueRedis,
  prefix: config.QUEUE_PREFIX,
  logger,
});
shutdown.register('refresh producer', () => refresh.close());
// The api only produces: job counts of the refresh queue, no worker series.
registerQueueMetrics(registry, { queues: [refresh.queue], logger });

let providers;
try {
  providers = buildProviderRegistry(config, { redis: cacheRedis, clock, logger });
} catch (error) {
  // An unknown provider or a missing API key: a deployment mistake, not an outage.
  logger.fatal({ err: error }, 'invalid provider configuration');
  process.exit(1);
}

const ttl = ttlSettingsFromEnv(ttlEnvOf(config));
const cache = new CacheManager({
  ttlPolicy: new TtlPolicy({
    table: ttl.table,
    jitter: ttl.jitter,
    random: new SeededRandom(randomSeed()),
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
  logger: logger.child({ component: 'cache' }),
  // A stale read asks the batch-scheduler for fresh data; the reader is not kept waiting.
  onStale: ({ dataType, asset }) => {
    refresh
      .enqueueRefresh({
        symbols: [asset.symbol],
        assetType: asset.assetType,
        dataType,
        priority: 'urgent',
        source: 'api:stale',
      })
      .catch((error: unknown) =>
        logger.warn({ err: error, symbol: asset.symbol }, 'could not enqueue a stale refresh'),
      );
  },
});
// Analytics and Prometheus listen to the cache's events; the cache knows neither.
const analytics = new CacheAnalytics({ clock });
analytics.attach(cache);
registerCacheMetrics(registry, cache, {
  sizes: () => ({ l1Entries: cache.l1.size }),
  hitRates: () => analytics.hitRates('5m'),
  logger,
});
registerProviderMetrics(registry, providers, { providers: providers.providers().map((p) => p.id) });

// The subscription waits for the cache Redis; reads work meanwhile, coherence starts when it is up.
cache
  .start()
  .catch((error: unknown) => logger.error({ err: error }, 'invalidation subscription failed'));
shutdown.register('cache invalidations', () => cache.close());

let accessErrorLogged = false;
const access = new AccessRecorder({
  redis: cacheRedis,
  keyPrefix: config.CACHE_KEY_PREFIX,
  clock,
  onError: (error) => {
    if (accessErrorLogged) return;
    accessErrorLogged = true;
    logger.warn({ err: error }, 'could not record reads for the warmer (logged once)');
  },
});
shutdown.register('access recorder', () => access.close());

const app = buildApp({
  logger,
  registry,
  clock,
  refresh,
  cache,
  access,
  report: () => analytics.getComprehensiveReport(),
  readiness: { queueRedis: redisReadiness(queueRedis), cacheRedis: redisReadiness(cacheRedis) },
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
  queueBoard: { connection: queueRedis, prefix: config.QUEUE_PREFIX },
});
shutdown.register('http server', () => app.close());

try {
  // A deep accept queue: a burst of new connections (a fleet reconnecting) waits to be
  // accepted instead of having its SYNs dropped and retried seconds later. The kernel caps
  // it at net.core.somaxconn.
  await app.listen({ host: config.API_HOST, port: config.API_PORT, backlog: 4096 });
  logger.info(
    {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      cacheRedis: redactUrl(config.REDIS_CACHE_URL),
      queuePrefix: config.QUEUE_PREFIX,
      routes: Object.fromEntries(
        Object.entries(config.PROVIDER_ROUTES).map(([route, ids]) => [route, ids.join(',')]),
      ),
      apiKeys: config.API_KEYS.map((k) => k.name),
    },
    'api ready',
  );
} catch (error) {
  logger.fatal({ err: error }, 'api could not listen');
  await shutdown.run('listen failed', { exitCode: 1 });
}
