// Composition root of the api process: reads the environment once, builds
// every collaborator, listens, and closes everything in reverse on SIGTERM.
import { apiEnv, loadConfigOrExit, redactUrl } from '@fiml/config';
import { createLogger, createMetricsRegistry } from '@fiml/observability';
import {
  RefreshProducer,
  createRedisConnection,
  createShutdown,
  redisReadiness,
} from '@fiml/queue';
import { buildApp } from './app.js';

const config = loadConfigOrExit(apiEnv);
const logger = createLogger({
  service: 'api',
  level: config.LOG_LEVEL,
  pretty: config.NODE_ENV === 'development',
});
const registry = createMetricsRegistry({ service: 'api' });
const shutdown = createShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000 });
shutdown.listen();

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

const app = buildApp({
  logger,
  registry,
  refresh,
  readiness: { queueRedis: redisReadiness(queueRedis), cacheRedis: redisReadiness(cacheRedis) },
});
shutdown.register('http server', () => app.close());

try {
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  logger.info(
    {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      cacheRedis: redactUrl(config.REDIS_CACHE_URL),
      queuePrefix: config.QUEUE_PREFIX,
    },
    'api ready',
  );
} catch (error) {
  logger.fatal({ err: error }, 'api could not listen');
  await shutdown.run('listen failed');
}
