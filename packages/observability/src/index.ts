export { type MetricsBridge } from './metrics/metrics-bridge.js';
export {
  registerAccessMetrics,
  type AccessDropSource,
  type AccessMetricsOptions,
} from './metrics/access-metrics.js';
export {
  BATCH_SIZE_BUCKETS,
  CACHE_ERROR_COMPONENTS,
  CACHE_ERROR_OPERATIONS,
  CACHE_ERROR_SERIES,
  CACHE_LATENCY_BUCKETS,
  CIRCUIT_STATES,
  registerCacheErrorMetrics,
  registerCacheMetrics,
  type CacheMetricsOptions,
  type CacheSizes,
} from './metrics/cache-metrics.js';
export {
  CACHE_WRITERS,
  CACHE_WRITE_OUTCOMES,
  registerCacheWriteMetrics,
  type CacheWriteEventLike,
  type CacheWriteMetricsOptions,
  type CacheWriteOutcomeLabel,
  type CacheWriteSource,
} from './metrics/cache-write-metrics.js';
export {
  BATCH_WAIT_BUCKETS,
  registerBatchMetrics,
  type BatchBudgetWaitEventLike,
  type BatchIntakeEventLike,
  type BatchFlushEventLike,
  type BatchMetricsOptions,
  type BatchPendingGroupLike,
  type BatchRateLimitedEventLike,
  type BatchRunEventLike,
  type BatchSchedulerSource,
} from './metrics/batch-metrics.js';
export {
  registerWarmMetrics,
  registerWarmScheduleMetrics,
  type WarmCycleSource,
  type WarmMetricsOptions,
  type WarmRunEventLike,
  type WarmScheduleMetricsOptions,
  type WarmScheduleRecreatedEventLike,
  type WarmScheduleSource,
  type WarmTotalsEventLike,
} from './metrics/warm-metrics.js';
export {
  PROVIDER_LATENCY_BUCKETS,
  registerProviderMetrics,
  type ProviderCallSource,
  type ProviderMetricsOptions,
} from './metrics/provider-metrics.js';
export {
  JOB_RUN_BUCKETS,
  JOB_STATES,
  JOB_WAIT_BUCKETS,
  registerQueueMetrics,
  type CountedQueue,
  type QueueMetricsOptions,
  type TimedWorker,
} from './metrics/queue-metrics.js';
export {
  HTTP_DURATION_BUCKETS,
  HTTP_UNKNOWN_METHOD,
  HTTP_UNMATCHED_ROUTE,
  UPSTREAM_REFUSAL_REASONS,
  registerAcceptQueueMetric,
  registerHttpMetrics,
  registerUpstreamRefusalMetrics,
  type HttpMetrics,
  type HttpMetricsOptions,
  type HttpRouteRecorder,
  type UpstreamRefusalEventLike,
  type UpstreamRefusalMetricsOptions,
  type UpstreamRefusalReason,
  type UpstreamRefusalSource,
} from './metrics/http-metrics.js';
