// Composition root of the batch-scheduler process.
import { batchSchedulerEnv, loadConfigOrExit, redactUrl } from '@fiml/config';
import { Queue } from 'bullmq';
import { registerQueueMetrics } from '@fiml/observability';
import {
  QueueName,
  createRedisConnection,
  createProcessContext,
  queuePrefix,
  redisReadiness,
  startWorkerOps,
} from '@fiml/queue';
import { buildWorker } from './worker.js';

const config = loadConfigOrExit(batchSchedulerEnv);
const context = createProcessContext({ service: 'batch-scheduler', config });
const { logger, registry, shutdown } = context;

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

const ops = await startWorkerOps(context, {
  config,
  readiness: { queueRedis: redisReadiness(queueRedis) },
  // The queue handle only feeds /metrics, so it closes with the server that serves them.
  closeWithServer: () => refreshQueue.close(),
});
if (ops) {
  logger.info(
    {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      queuePrefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      metrics: `${ops.url}/metrics`,
    },
    'batch-scheduler ready',
  );
}
