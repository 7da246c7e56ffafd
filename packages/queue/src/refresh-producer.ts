import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '@fiml/observability';
import {
  BULLMQ_PRIORITY,
  REFRESH_JOB_NAME,
  REFRESH_JOB_OPTIONS,
  refreshRequestSchema,
  type RefreshRequest,
  type RefreshRequestInput,
} from './contracts/refresh-request.js';
import { InvalidJobPayloadError, fieldIssues } from './errors.js';
import { QueueName, queuePrefix } from './queue-names.js';
import { createRedisConnection } from './redis-connection.js';

/** Validates and normalizes a refresh request, or throws {@link InvalidJobPayloadError}. */
export function parseRefreshRequest(input: unknown): RefreshRequest {
  const parsed = refreshRequestSchema.safeParse(input);
  if (!parsed.success)
    throw new InvalidJobPayloadError(REFRESH_JOB_NAME, fieldIssues(parsed.error));
  return parsed.data;
}

export interface EnqueuedRefresh {
  readonly jobId: string;
  /** The request as the consumer will see it (normalized symbols, default priority). */
  readonly request: RefreshRequest;
}

/**
 * Validates a refresh request and adds it to the refresh queue. Nothing
 * reaches Redis when the request is invalid.
 */
export async function enqueueRefresh(
  queue: Queue,
  input: RefreshRequestInput,
): Promise<EnqueuedRefresh> {
  const request = parseRefreshRequest(input);
  const job = await queue.add(REFRESH_JOB_NAME, request, {
    ...REFRESH_JOB_OPTIONS,
    priority: BULLMQ_PRIORITY[request.priority],
  });
  if (!job.id) throw new Error('BullMQ returned a job without an id');
  return { jobId: job.id, request };
}

export interface RefreshProducerOptions {
  /**
   * A `producer`-role connection (offline queue off, so adds fail fast when
   * Redis is down), or a Redis URL for which the producer opens and owns one.
   */
  readonly connection: Redis | string;
  /** The deployment's QUEUE_PREFIX; every process of a deployment uses the same. @defaultValue 'fiml' */
  readonly prefix?: string;
  /** @defaultValue a silent logger */
  readonly logger?: Logger;
}

/**
 * The typed client other services use to ask fiml-cache for fresh data:
 *
 * ```ts
 * const producer = new RefreshProducer({ connection: process.env.REDIS_QUEUE_URL! });
 * await producer.enqueueRefresh({ symbols: ['AAPL', 'MSFT'], assetType: 'equity', dataType: 'price', source: 'portfolio-service' });
 * await producer.close();
 * ```
 */
export class RefreshProducer {
  readonly queue: Queue;
  readonly #ownedConnection: Redis | undefined;

  constructor(options: RefreshProducerOptions) {
    const logger = options.logger ?? createLogger({ service: 'refresh-producer', level: 'silent' });
    const connection =
      typeof options.connection === 'string'
        ? createRedisConnection(options.connection, {
            role: 'producer',
            name: 'refresh-producer',
            logger,
          })
        : options.connection;
    this.#ownedConnection = typeof options.connection === 'string' ? connection : undefined;
    this.queue = new Queue(QueueName.REFRESH, {
      connection,
      prefix: queuePrefix(options.prefix ?? 'fiml'),
    });
    // The connection logs outages; without a listener an 'error' event would crash the process.
    this.queue.on('error', (error) => logger.debug({ err: error }, 'refresh queue error'));
  }

  /** Validates the request and enqueues it; throws {@link InvalidJobPayloadError} or a Redis error. */
  enqueueRefresh(input: RefreshRequestInput): Promise<EnqueuedRefresh> {
    return enqueueRefresh(this.queue, input);
  }

  async close(): Promise<void> {
    await this.queue.close();
    if (this.#ownedConnection)
      await this.#ownedConnection.quit().catch(() => this.#ownedConnection?.disconnect());
  }
}
