// Composition root of the batch-scheduler process.
import { batchSchedulerEnv, loadConfigOrExit, redactUrl } from '@fiml/config';
import { Queue } from 'bullmq';
import { registerQueueMetrics, startOpsServer } from '@fiml/observability';
import {
  QueueName,
  createRedisConnection,
  createProcessContext,
  queuePrefix,
  redisReadiness,
} from '@fiml/queue';
import { buildWorker } from './worker.js';

const config = loadConfigOrExit(batchSchedulerEnv);
const { logger, registry, shutdown } = createProcessContext({ service: 'batch-scheduler', config });

const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
  role: 'worker',
  name: 'batch-scheduler',
  logger,
});
shutdown.register('queue redis', () => queueRedis.quit());

const worker = buildWorker({
  connection: queueRedis,
  prefix: config.QUEUE_PREFIX,
  logger,
  concurrency: config.WORKER_CONCURRENCY,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
});
shutdown.register('refresh worker', () => worker.close());

// Job counts need a Queue handle on the worker's queue; it shares the worker's connection.
const refreshQueue = new Queue(QueueName.REFRESH, {
  connection: queueRedis,
  prefix: queuePrefix(config.QUEUE_PREFIX),
});
refreshQueue.on('error', (error) => logger.debug({ err: error }, 'refresh queue error'));
registerQueueMetrics(registry, { queues: [refreshQueue], workers: [worker.worker], logger });

try {
  const ops = await startOpsServer({
    registry,
    logger,
    host: config.METRICS_HOST,
    port: config.METRICS_PORT,
    readiness: { queueRedis: redisReadiness(queueRedis) },
  });
  // The queue handle only feeds /metrics, so it closes with the server that serves them.
  shutdown.register('ops server', () => ops.close().then(() => refreshQueue.close()));
  logger.info(
    {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      queuePrefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      metrics: `${ops.url}/metrics`,
    },
    'batch-scheduler ready',
  );
} catch (error) {
  logger.fatal({ err: error }, 'batch-scheduler could not start its ops server');
  await shutdown.run('ops server failed');
}
