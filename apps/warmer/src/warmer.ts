import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@fiml/observability';
import {
  QueueName,
  WARM_CYCLE_JOB_NAME,
  createJobWorker,
  queuePrefix,
  warmCycleSchema,
  type JobWorker,
} from '@fiml/queue';

/** The id of the warmer's Job Scheduler in the warm queue. */
export const WARM_SCHEDULER_ID = 'warm-cycle';

export interface WarmerDeps {
  /** A `worker`-role connection to the queue Redis (used by the scheduler queue and the worker). */
  readonly connection: Redis;
  readonly prefix: string;
  readonly logger: Logger;
  /** When to run cycles: a cron pattern evaluated in a time zone. */
  readonly schedule: { readonly pattern: string; readonly tz: string };
  /** False removes the schedule, so no cycles run. @defaultValue true */
  readonly enabled?: boolean;
  /** @defaultValue 10000 */
  readonly shutdownTimeoutMs?: number;
}

export interface Warmer {
  readonly queue: Queue;
  readonly worker: JobWorker;
  /** Registers (or updates, or with `enabled: false` removes) the Job Scheduler. Idempotent. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The warmer: a BullMQ Job Scheduler fires warming cycles on a cron pattern in
 * the exchange's time zone, and a worker runs them. A cycle is a no-op for
 * now; predicting and refreshing what will be read comes with the warming
 * planner. Upserting the scheduler makes every replica agree on one schedule
 * (one cycle per tick, however many warmers run).
 */
export function buildWarmer(deps: WarmerDeps): Warmer {
  const log = deps.logger.child({ component: 'warmer' });
  const queue = new Queue(QueueName.WARM, {
    connection: deps.connection,
    prefix: queuePrefix(deps.prefix),
  });
  queue.on('error', (error) => log.debug({ err: error }, 'warm queue error'));

  const worker = createJobWorker({
    queueName: QueueName.WARM,
    prefix: deps.prefix,
    connection: deps.connection,
    schema: warmCycleSchema,
    logger: deps.logger,
    concurrency: 1,
    shutdownTimeoutMs: deps.shutdownTimeoutMs ?? 10_000,
    process: (_payload, job) => {
      log.info(
        { jobId: job.id, scheduledFor: job.opts.prevMillis },
        'warming cycle (no-op until the planner lands)',
      );
      return Promise.resolve({ warmed: 0 });
    },
  });

  return {
    queue,
    worker,
    async start() {
      if (deps.enabled === false) {
        const removed = await queue.removeJobScheduler(WARM_SCHEDULER_ID);
        log.info({ removed }, 'warming disabled; schedule removed');
        return;
      }
      await queue.upsertJobScheduler(
        WARM_SCHEDULER_ID,
        { pattern: deps.schedule.pattern, tz: deps.schedule.tz },
        {
          name: WARM_CYCLE_JOB_NAME,
          data: {},
          opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
        },
      );
      log.info(
        { pattern: deps.schedule.pattern, tz: deps.schedule.tz },
        'warming schedule registered',
      );
    },
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
