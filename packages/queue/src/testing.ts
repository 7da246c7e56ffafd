import { Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { queuePrefix } from './queue-names.js';

export interface DyingWorker {
  /** The id of the job it took, once it has taken one and stopped renewing its lock. */
  readonly died: Promise<string>;
  /** Closes it (by force) if it never took a job; for a test's clean-up. */
  close(): Promise<void>;
}

/**
 * For tests: a BullMQ worker of `queueName` that takes the next job and dies
 * with it, as a killed process would: its processor never returns, and it is
 * closed by force at once, so the job stays active until its lock lapses and
 * a live worker's stalled check hands it on. Give it the deployment's stalled
 * interval: BullMQ skips a queue's check for one interval of whichever worker
 * ran it last, so a longer one here would hold every other check off.
 */
export function dyingWorker(options: {
  readonly queueName: string;
  /** The deployment's QUEUE_PREFIX. */
  readonly prefix: string;
  readonly connection: Redis | Cluster;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}): DyingWorker {
  const worker = new Worker(options.queueName, () => new Promise<never>(() => undefined), {
    connection: options.connection,
    prefix: queuePrefix(options.prefix),
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
  });
  const died = new Promise<string>((resolve, reject) => {
    worker.once('active', (job) => {
      worker.close(true).then(() => resolve(job.id ?? ''), reject);
    });
  });
  return { died, close: () => worker.close(true) };
}
