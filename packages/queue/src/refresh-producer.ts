import { Queue, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { closeRedis, createLogger, createRedisConnection, type Logger } from '@fiml/runtime';
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

/** Validates and normalizes a refresh request, or throws {@link InvalidJobPayloadError}. */
export function parseRefreshRequest(input: unknown): RefreshRequest {
  const parsed = refreshRequestSchema.safeParse(input);
  if (!parsed.success)
    throw new InvalidJobPayloadError(REFRESH_JOB_NAME, fieldIssues(parsed.error));
  return parsed.data;
}

export interface EnqueuedRefresh {
  /** The job that will do the refresh: a new one, or, when deduplicated, the one already queued. */
  readonly jobId: string;
  /** The request as the consumer will see it (normalized symbols, default priority). */
  readonly request: RefreshRequest;
}

/**
 * How one refresh is enqueued. Deduplication is BullMQ's throttle mode: the
 * first add with an id takes it for `deduplicationTtlMs`; adds with the same
 * id meanwhile create no job and resolve with the queued job's id.
 */
export interface EnqueueRefreshOptions {
  /**
   * At most one job per id within the TTL, across every producer of the
   * deployment (the id lives in the queue Redis). Stable per what is
   * refreshed, e.g. `stale:price:equity:AAPL`.
   */
  readonly deduplicationId?: string;
  /**
   * How long the id holds, from the first add. Without it the id holds until
   * the job completes or fails. Ignored without `deduplicationId`.
   */
  readonly deduplicationTtlMs?: number;
}

/** The BullMQ options of one refresh job. */
function jobOptions(request: RefreshRequest, options: EnqueueRefreshOptions): JobsOptions {
  const deduplication =
    options.deduplicationId === undefined
      ? undefined
      : {
          id: options.deduplicationId,
          ...(options.deduplicationTtlMs === undefined ? {} : { ttl: options.deduplicationTtlMs }),
        };
  return {
    ...REFRESH_JOB_OPTIONS,
    priority: BULLMQ_PRIORITY[request.priority],
    ...(deduplication ? { deduplication } : {}),
  };
}

/**
 * Validates a refresh request and adds it to the refresh queue. Nothing
 * reaches Redis when the request is invalid.
 */
export async function enqueueRefresh(
  queue: Queue,
  input: RefreshRequestInput,
  options: EnqueueRefreshOptions = {},
): Promise<EnqueuedRefresh> {
  const request = parseRefreshRequest(input);
  if (options.deduplicationId !== undefined && options.deduplicationId.length === 0) {
    throw new RangeError('deduplicationId must not be empty');
  }
  if (
    options.deduplicationTtlMs !== undefined &&
    !(Number.isInteger(options.deduplicationTtlMs) && options.deduplicationTtlMs > 0)
  ) {
    throw new RangeError(
      `deduplicationTtlMs must be a positive integer, got ${options.deduplicationTtlMs}`,
    );
  }
  const job = await queue.add(REFRESH_JOB_NAME, request, jobOptions(request, options));
  if (!job.id) throw new Error('BullMQ returned a job without an id');
  return { jobId: job.id, request };
}

export interface RefreshProducerOptions {
  /**
   * A `producer`-role connection (offline queue off, so adds fail fast when
   * Redis is down), or a Redis URL for which the producer opens and owns one.
   */
  readonly connection: Redis | Cluster | string;
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
  readonly #ownedConnection: Redis | Cluster | undefined;

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
  enqueueRefresh(
    input: RefreshRequestInput,
    options: EnqueueRefreshOptions = {},
  ): Promise<EnqueuedRefresh> {
    return enqueueRefresh(this.queue, input, options);
  }

  async close(): Promise<void> {
    await this.queue.close();
    if (this.#ownedConnection) await closeRedis(this.#ownedConnection);
  }
}
