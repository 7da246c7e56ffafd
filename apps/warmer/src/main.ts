// Composition root of the warmer process.
import { loadConfigOrExit, redactUrl, warmerEnv } from '@fiml/config';
import { registerQueueMetrics } from '@fiml/observability';
import {
  createRedisConnection,
  createProcessContext,
  reconnectDelay,
  redisReadiness,
  startWorkerOps,
} from '@fiml/queue';
import { buildWarmer } from './warmer.js';

const config = loadConfigOrExit(warmerEnv);
const context = createProcessContext({ service: 'warmer', config });
const { logger, registry, shutdown } = context;

const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
  role: 'worker',
  name: 'warmer',
  logger,
});
shutdown.register('queue redis', () => queueRedis.quit());

const warmer = buildWarmer({
  connection: queueRedis,
  prefix: config.QUEUE_PREFIX,
  logger,
  enabled: config.CACHE_WARMING_ENABLED,
  schedule: { pattern: config.CACHE_WARMING_SCHEDULE, tz: config.CACHE_WARMING_TIMEZONE },
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
shutdown.register('warmer', () => warmer.close());
registerQueueMetrics(registry, {
  queues: [warmer.queue],
  workers: [warmer.worker.worker],
  logger,
});

const ops = await startWorkerOps(context, {
  config,
  readiness: { queueRedis: redisReadiness(queueRedis) },
});
if (ops) {
  logger.info(
    {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      queuePrefix: config.QUEUE_PREFIX,
      metrics: `${ops.url}/metrics`,
    },
    'warmer ready',
  );
}

// Register the schedule; while the queue Redis is unreachable, keep trying with backoff.
for (let attempt = 1; ; attempt++) {
  try {
    await warmer.start();
    break;
  } catch (error) {
    const delayMs = reconnectDelay(attempt);
    logger.warn(
      { err: error, attempt, delayMs },
      'could not register the warming schedule; retrying',
    );
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
