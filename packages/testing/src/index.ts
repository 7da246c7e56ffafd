export {
  RedisServerNotFoundError,
  RedisServerStartError,
  freePort,
  resolveRedisServerBinary,
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
} from './redis-server.js';
export {
  parseClusterNodes,
  resolveRedisCliBinary,
  startRedisCluster,
  type ClusterNodeInfo,
  type RedisCluster,
  type RedisClusterOptions,
} from './redis-cluster.js';
export {
  startServiceProcess,
  type LogRecord,
  type ServiceProcess,
  type ServiceProcessOptions,
} from './service-process.js';
export { TEST_REDIS_URLS_ENV, testRedisUrl, uniqueName } from './test-redis.js';
export {
  WaitTimeoutError,
  type EventSourceLike,
  waitFor,
  waitForEvent,
  withDeadline,
  type WaitForOptions,
  type WaitOptions,
} from './wait-for.js';
