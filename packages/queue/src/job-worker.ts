import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@fiml/observability';
import type { z } from 'zod';
import { InvalidJobPayloadError, fieldIssues } from './errors.js';
import { queuePrefix, type QueueName } from './queue-names.js';

export interface JobWorkerOptions<S extends z.ZodType, R> {
  /** A queue of QueueName, or a per-provider queue (`refresh-batch-<provider>`). */
  readonly queueName: QueueName | `${QueueName}-${string}`;
  /** The deployment prefix (QUEUE_PREFIX); wrapped in a hash tag here. */
  readonly prefix: string;
  /** A `worker`-role connection (maxRetriesPerRequest: null). The caller owns and closes it. */
  readonly connection: Redis;
  /** The payload contract; a job that does not match fails without retries. */
  readonly schema: S;
  /** Handles one validated job. Throw to fail the attempt (it is retried per the job's options). */
  readonly process: (payload: z.output<S>, job: Job) => Promise<R>;
  readonly logger: Logger;
  /** Jobs worked on at once. @defaultValue 1 */
  readonly concurrency?: number;
  /** On close, how long active jobs may run before the worker stops anyway. @defaultValue 10000 */
  readonly shutdownTimeoutMs?: number;
  /** Start fetching jobs at once. @defaultValue true */
  readonly autorun?: boolean;
  /**
   * How long a job's lock lives unless its worker renews it (a worker renews
   * at half of it); a killed worker's job is redelivered after it and the
   * stalled check. @defaultValue 30000 (BullMQ's)
   */
  readonly lockDurationMs?: number;
  /** How often stalled jobs are looked for, ms. @defaultValue 30000 (BullMQ's) */
  readonly stalledIntervalMs?: number;
}

/** A BullMQ Worker that validates payloads against a contract and shuts down gracefully. */
export interface JobWorker {
  readonly worker: Worker;
  /**
   * Stops fetching new jobs, lets active ones finish within the shutdown
   * timeout, then closes the worker's connections. Resolves `graceful: false`
   * when jobs were still running at the deadline: BullMQ's stalled-job check
   * hands them to another worker once their locks expire.
   */
  close(): Promise<{ graceful: boolean }>;
}

export function createJobWorker<S extends z.ZodType, R>(
  options: JobWorkerOptions<S, R>,
): JobWorker {
  const log = options.logger.child({ component: 'worker', queue: options.queueName });
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;

  const worker = new Worker(
    options.queueName,
    async (job: Job) => {
      const parsed = options.schema.safeParse(job.data);
      if (!parsed.success) {
        const error = new InvalidJobPayloadError(job.name, fieldIssues(parsed.error));
        log.warn(
          { jobId: job.id, issues: error.issues },
          'job payload violates its contract; failing without retry',
        );
        throw new UnrecoverableError(error.message);
      }
      return options.process(parsed.data, job);
    },
    {
      connection: options.connection,
      prefix: queuePrefix(options.prefix),
      concurrency: options.concurrency ?? 1,
      autorun: options.autorun ?? true,
      ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
      ...(options.stalledIntervalMs === undefined
        ? {}
        : { stalledInterval: options.stalledIntervalMs }),
    },
  );

  worker.on('completed', (job) => {
    log.debug(
      { jobId: job.id, ms: (job.finishedOn ?? 0) - (job.processedOn ?? 0) },
      'job completed',
    );
  });
  worker.on('failed', (job, error) => {
    const final =
      !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
    log[final ? 'error' : 'warn'](
      { jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
      final ? 'job failed for good' : 'job attempt failed; will retry',
    );
  });
  worker.on('error', (error) => {
    log.error({ err: error }, 'worker error');
  });

  let closing: Promise<{ graceful: boolean }> | undefined;
  return {
    worker,
    close() {
      closing ??= (async () => {
        log.info({ shutdownTimeoutMs }, 'worker stopping: no new jobs, waiting for active ones');
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
        });
        // close() stops fetching at once, waits for the active jobs, then closes connections.
        const outcome = await Promise.race([
          worker.close().then(() => 'drained' as const),
          deadline,
        ]);
        clearTimeout(timer);
        const graceful = outcome === 'drained';
        if (!graceful) {
          log.warn('active jobs outlived the shutdown timeout; disconnecting anyway');
          await worker.disconnect();
        }
        log.info({ graceful }, 'worker stopped');
        return { graceful };
      })();
      return closing;
    },
  };
}
