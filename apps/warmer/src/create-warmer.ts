import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { redactUrl, type WarmerConfig } from '@fiml/config';
import {
  createLogger,
  createMetricsRegistry,
  registerQueueMetrics,
  type Logger,
  type Registry,
} from '@fiml/observability';
import {
  createCloser,
  createRedisConnection,
  reconnectDelay,
  redisReadiness,
  type WorkerProcess,
} from '@fiml/queue';
import { buildWarmer, type Warmer } from './warmer.js';

/** What a caller may supply instead of what the config would build. */
export interface WarmerOverrides {
  /** @defaultValue a pino logger at LOG_LEVEL (pretty in development) */
  readonly logger?: Logger;
  /** @defaultValue a new registry with the `service="warmer"` label */
  readonly registry?: Registry;
}

/** The warmer process, built and not yet started. */
export interface WarmerApp extends WorkerProcess {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The `worker`-role connection to the queue Redis (scheduler queue and worker). */
  readonly queueRedis: Redis;
  readonly warmer: Warmer;
  /**
   * Registers the warming schedule (or removes it when disabled). While the
   * queue Redis is unreachable it retries with backoff; it resolves once
   * registered, or when `close()` stops it.
   */
  start(): Promise<void>;
}

/**
 * Builds every collaborator of the warmer from its parsed configuration,
 * exactly as the process runs it: `main.ts` and the tests both call this.
 * Nothing listens here; `close()` closes in reverse order of building.
 */
export function createWarmer(config: WarmerConfig, overrides: WarmerOverrides = {}): WarmerApp {
  const logger =
    overrides.logger ??
    createLogger({
      service: 'warmer',
      level: config.LOG_LEVEL,
      pretty: config.NODE_ENV === 'development',
    });
  const registry = overrides.registry ?? createMetricsRegistry({ service: 'warmer' });
  const closer = createCloser(logger);

  const queueRedis = createRedisConnection(config.REDIS_QUEUE_URL, {
    role: 'worker',
    name: 'warmer',
    logger,
  });
  closer.add('queue redis', () => queueRedis.quit());

  const warmer = buildWarmer({
    connection: queueRedis,
    prefix: config.QUEUE_PREFIX,
    logger,
    enabled: config.CACHE_WARMING_ENABLED,
    schedule: { pattern: config.CACHE_WARMING_SCHEDULE, tz: config.CACHE_WARMING_TIMEZONE },
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  closer.add('warm worker', () => warmer.close());
  registerQueueMetrics(registry, {
    queues: [warmer.queue],
    workers: [warmer.worker.worker],
    logger,
  });

  // Stops a registration that is still retrying when the process shuts down.
  const stopping = new AbortController();

  return {
    logger,
    registry,
    queueRedis,
    warmer,
    readiness: { queueRedis: redisReadiness(queueRedis) },
    summary: {
      queueRedis: redactUrl(config.REDIS_QUEUE_URL),
      queuePrefix: config.QUEUE_PREFIX,
    },
    async start() {
      for (let attempt = 1; !stopping.signal.aborted; attempt++) {
        try {
          await warmer.start();
          return;
        } catch (error) {
          if (stopping.signal.aborted) return;
          const delayMs = reconnectDelay(attempt);
          logger.warn(
            { err: error, attempt, delayMs },
            'could not register the warming schedule; retrying',
          );
          await delay(delayMs, undefined, { signal: stopping.signal }).catch(() => undefined);
        }
      }
    },
    close() {
      stopping.abort();
      return closer.close();
    },
  };
}
