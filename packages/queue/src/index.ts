export {
  BULLMQ_PRIORITY,
  MAX_SYMBOLS_PER_REQUEST,
  PRIORITIES,
  REFRESH_JOB_NAME,
  REFRESH_REASONS,
  REFRESH_JOB_OPTIONS,
  refreshRequestSchema,
  symbolSchema,
  type RefreshPriority,
  type RefreshReason,
  type RefreshRequest,
  type RefreshRequestInput,
} from './contracts/refresh-request.js';
export {
  WARM_CYCLE_JOB_NAME,
  WARM_MODES,
  warmCycleSchema,
  type WarmCycle,
  type WarmCycleMode,
} from './contracts/warm-cycle.js';
export { InvalidJobPayloadError, fieldIssues, type FieldIssue } from './errors.js';
export { createJobWorker, type JobWorker, type JobWorkerOptions } from './job-worker.js';
export { QUEUE_NAMES, QueueName, queuePrefix } from './queue-names.js';
export {
  RefreshProducer,
  enqueueRefresh,
  parseRefreshRequest,
  type EnqueueRefreshOptions,
  type EnqueuedRefresh,
  type RefreshProducerOptions,
} from './refresh-producer.js';
export { queueVars } from './queue-vars.js';
