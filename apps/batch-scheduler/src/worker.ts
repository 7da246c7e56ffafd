import type { Redis } from 'ioredis';
import type { Logger } from '@fiml/observability';
import {
  QueueName,
  createJobWorker,
  refreshRequestSchema,
  type JobWorker,
  type RefreshRequest,
} from '@fiml/queue';

export interface WorkerDeps {
  /** A `worker`-role connection to the queue Redis. */
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  /** @defaultValue 8 */
  readonly concurrency?: number;
  /** @defaultValue 10000 */
  readonly shutdownTimeoutMs?: number;
}

/** What one processed refresh request reports (the job's return value, shown on the dashboard). */
export interface RefreshOutcome {
  readonly symbols: number;
  readonly dataType: RefreshRequest['dataType'];
  readonly assetType: RefreshRequest['assetType'];
}

/**
 * The batch-scheduler's refresh consumer. For now it validates each request
 * against the shared contract, logs it and completes it; grouping per
 * provider and upstream batch calls come with the scheduler itself.
 */
export function buildWorker(deps: WorkerDeps): JobWorker {
  const log = deps.logger.child({ component: 'refresh-consumer' });
  return createJobWorker({
    queueName: QueueName.REFRESH,
    prefix: deps.prefix,
    connection: deps.connection,
    schema: refreshRequestSchema,
    logger: deps.logger,
    concurrency: deps.concurrency ?? 8,
    shutdownTimeoutMs: deps.shutdownTimeoutMs ?? 10_000,
    process: (request, job): Promise<RefreshOutcome> => {
      log.info(
        {
          jobId: job.id,
          dataType: request.dataType,
          assetType: request.assetType,
          symbols: request.symbols.length,
          priority: request.priority,
          source: request.source,
        },
        'refresh request received',
      );
      return Promise.resolve({
        symbols: request.symbols.length,
        dataType: request.dataType,
        assetType: request.assetType,
      });
    },
  });
}
