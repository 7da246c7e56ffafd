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
  type CheckResult,
  type ReadinessCheck,
  type ReadinessReport,
} from './readiness.js';
