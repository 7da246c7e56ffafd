import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '@fiml/runtime';
import {
  QueueName,
  createJobWorker,
  refreshRequestSchema,
  type JobWorker,
  type RefreshRequest,
} from '@fiml/queue';
import type { RefreshOutcome } from './refresh-consumer.js';
import type { IntakeOutcome } from './scheduler/batch-job.js';

export interface WorkerDeps {
  /** A `worker`-role connection to the queue Redis. */
  readonly connection: Redis | Cluster;
  readonly prefix: string;
  readonly logger: Logger;
  /**
   * Handles one validated request: groups it for batching (BatchScheduler.accept),
   * or, with batching off, fetches it at once (RefreshConsumer.refresh). A
   * rejection fails the attempt.
   */
  readonly refresh: (request: RefreshRequest) => Promise<RefreshOutcome | IntakeOutcome>;
  /** @defaultValue 8 */
  readonly concurrency?: number;
  /** @defaultValue 10000 */
  readonly shutdownTimeoutMs?: number;
  /** BullMQ's lock of a job in progress; after a crash, its job runs again once the lock lapsed. */
  readonly lockDurationMs: number;
  /** How often this worker looks for jobs whose lock lapsed. */
  readonly stalledIntervalMs: number;
}

/**
 * The batch-scheduler's refresh worker: validates each request against the
 * shared contract and refreshes its symbols. Its return value (per-symbol
 * counts and failures) is the job's result on the dashboard. Grouping
 * requests per provider into batches comes with the scheduler itself.
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
    lockDurationMs: deps.lockDurationMs,
    stalledIntervalMs: deps.stalledIntervalMs,
    process: async (request, job): Promise<RefreshOutcome | IntakeOutcome> => {
      log.info(
        {
          jobId: job.id,
          attempt: job.attemptsMade + 1,
          dataType: request.dataType,
          assetType: request.assetType,
          symbols: request.symbols.length,
          priority: request.priority,
          source: request.source,
        },
        'refresh request received',
      );
      const outcome = await deps.refresh(request);
      if ('failures' in outcome) {
        const { failures, ...counts } = outcome;
        log[failures.length > 0 ? 'warn' : 'info'](
          { jobId: job.id, ...counts, failures: failures.slice(0, 5) },
          'refresh done',
        );
      } else {
        log.info({ jobId: job.id, ...outcome }, 'refresh request grouped');
      }
      return outcome;
    },
  });
}
