export {
  BULLMQ_PRIORITY,
  MAX_SYMBOLS_PER_REQUEST,
  PRIORITIES,
  REFRESH_JOB_NAME,
  REFRESH_JOB_OPTIONS,
  refreshRequestSchema,
  symbolSchema,
  type RefreshPriority,
  type RefreshRequest,
  type RefreshRequestInput,
} from './contracts/refresh-request.js';
export { WARM_CYCLE_JOB_NAME, warmCycleSchema, type WarmCycle } from './contracts/warm-cycle.js';
export { InvalidJobPayloadError, fieldIssues, type FieldIssue } from './errors.js';
export { createJobWorker, type JobWorker, type JobWorkerOptions } from './job-worker.js';
export {
  createProcessContext,
  createShutdown,
  startWorkerOps,
  type ProcessContext,
  type ProcessContextOptions,
  type Shutdown,
  type ShutdownOptions,
  type WorkerOpsOptions,
} from './lifecycle.js';
export { QUEUE_NAMES, QueueName, queuePrefix } from './queue-names.js';
export {
  RefreshProducer,
  enqueueRefresh,
  parseRefreshRequest,
  type EnqueuedRefresh,
  type RefreshProducerOptions,
} from './refresh-producer.js';
export {
  connectionOptionsFor,
  createRedisConnection,
  reconnectDelay,
  type RedisConnectionOptions,
  type RedisRole,
} from './redis-connection.js';
export { redisReadiness } from './redis-readiness.js';
