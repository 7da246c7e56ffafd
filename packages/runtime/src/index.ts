// @fiml/runtime: what every process needs and no domain knows. The logger
// port and its pino factory, the process's Prometheus registry, the ops
// server (/metrics, /healthz, /readyz) and readiness checks, Redis connections
// per role, and the process lifecycle (shutdown, process context, the worker
// start-up). It imports no other @fiml package.
export {
  REDACTED_PATHS,
  createLogger,
  type LogLevel,
  type Logger,
  type LoggerOptions,
} from './logger.js';
export type { Registry } from 'prom-client';
export {
  createMetricsRegistry,
  renderMetrics,
  type MetricsRegistryOptions,
} from './metrics-registry.js';
export { startOpsServer, type OpsServer, type OpsServerOptions } from './ops-server.js';
export {
  checkReadiness,
  registerReadinessMetrics,
  type CheckResult,
  type ReadinessCheck,
  type ReadinessReport,
} from './readiness.js';
export {
  clusterOptionsFor,
  connectionOptionsFor,
  closeRedis,
  retireRedis,
  createRedisConnection,
  isConnectionError,
  reconnectDelay,
  type RedisClient,
  type RedisConnectionOptions,
  type RedisRole,
} from './redis-connection.js';
export {
  RedisUrlError,
  isClusterUrl,
  parseRedisUrl,
  redactUrl,
  type ClusterRedisTarget,
  type RedisTarget,
  type StandaloneRedisTarget,
} from './redis-url.js';
export { redisReadiness } from './redis-readiness.js';
export {
  createCloser,
  createProcessContext,
  createShutdown,
  runWorkerProcess,
  startWorkerOps,
  type Closer,
  type ProcessContext,
  type ProcessContextOptions,
  type Shutdown,
  type ShutdownOptions,
  type WorkerOpsOptions,
  type WorkerProcess,
  type WorkerProcessOptions,
} from './lifecycle.js';
export { fitGcToCpus } from './gc.js';
export { listenQueueLength } from './listen-queue.js';
export {
  addAcceptHandles,
  type AcceptHandleOptions,
  type AcceptHandles,
} from './accept-handles.js';
