import type { Job, JobState, Queue, Worker } from 'bullmq';
import type { Logger } from '@fiml/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { listenerGuard, seconds, type MetricsBridge } from './metrics-bridge.js';

/** The job states exported, as BullMQ's getJobCounts() names them. */
export const JOB_STATES: readonly JobState[] = [
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'waiting-children',
  'completed',
  'failed',
];

/** Time from a job being ready to a worker starting it (seconds): ms to minutes. */
export const JOB_WAIT_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];
/** Time a worker spends on one attempt (seconds). */
export const JOB_RUN_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** The part of a BullMQ Queue the metrics read. */
export type CountedQueue = Pick<Queue, 'name' | 'getJobCounts'>;
/** The part of a BullMQ Worker the metrics listen to. */
export type TimedWorker = Pick<Worker, 'name' | 'on' | 'off'>;

export interface QueueMetricsOptions {
  /** Queues whose job counts by state are exported at each scrape (fiml_queue_jobs). */
  readonly queues: readonly CountedQueue[];
  /**
   * Workers of this process whose finished attempts are counted and timed.
   * Without any, the completed/failed counters and the histograms are not
   * registered (a producer-only process has nothing to feed them).
   * @defaultValue []
   */
  readonly workers?: readonly TimedWorker[];
  /**
   * How long a scrape waits for a queue's counts. Past it (or on an error)
   * the last counts are exported and the failure is logged, so a dead queue
   * Redis never hangs /metrics: a `worker`-role connection would otherwise
   * wait for Redis to come back.
   * @defaultValue 1000
   */
  readonly countTimeoutMs?: number;
  /** Where count failures are logged. @defaultValue no logging */
  readonly logger?: Logger;
}

type Counts = Readonly<Record<string, number>>;

/**
 * Registers the BullMQ queue metric families: job counts by state for every
 * queue given, and for the workers given, completed and failed attempts with
 * their wait and run times, and the stalled jobs their stalled checks found.
 * Queue names are the system's fixed QueueName set and the batch-scheduler's
 * per-provider batch queues (`refresh-batch-<provider>`, one per configured
 * provider).
 */
export function registerQueueMetrics(
  registry: Registry,
  options: QueueMetricsOptions,
): MetricsBridge {
  const log = options.logger?.child({ component: 'queue-metrics' });
  const timeoutMs = options.countTimeoutMs ?? 1000;
  const registers = [registry];

  if (options.queues.length > 0) {
    const counters = options.queues.map((queue) => jobCountReader(queue, timeoutMs, log));
    new Gauge({
      name: 'fiml_queue_jobs',
      help: 'Jobs in a BullMQ queue by state, read from the queue Redis at each scrape.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const all = await Promise.all(counters.map((read) => read()));
        options.queues.forEach((queue, i) => {
          const counts = all[i];
          if (!counts) return; // never read yet: absent rather than a made-up 0
          for (const state of JOB_STATES)
            this.set({ queue: queue.name, state }, counts[state] ?? 0);
        });
      },
    });
  }

  const workers = options.workers ?? [];
  if (workers.length === 0) return { detach() {} };

  const completed = new Counter({
    name: 'fiml_queue_jobs_completed_total',
    help: 'Jobs completed by this process’s workers, by queue.',
    labelNames: ['queue'],
    registers,
  });
  const failed = new Counter({
    name: 'fiml_queue_jobs_failed_total',
    help: 'Job attempts failed in this process’s workers, by queue; final="true" when no retry is left.',
    labelNames: ['queue', 'final'],
    registers,
  });
  const wait = new Histogram({
    name: 'fiml_queue_job_wait_seconds',
    help: 'Time from a job being ready (added, or due if delayed) to the start of its attempt, by queue.',
    labelNames: ['queue'],
    buckets: [...JOB_WAIT_BUCKETS],
    registers,
  });
  const run = new Histogram({
    name: 'fiml_queue_job_run_seconds',
    help: 'Time a worker spent on a finished attempt (processedOn to finishedOn), by queue.',
    labelNames: ['queue'],
    buckets: [...JOB_RUN_BUCKETS],
    registers,
  });
  const stalled = new Counter({
    name: 'fiml_queue_jobs_stalled_total',
    help: 'Jobs this process’s stalled checks found held by a worker that stopped renewing their lock (a process that died, or a loop blocked past the lock), by queue.',
    labelNames: ['queue'],
    registers,
  });

  // Guarded: a failing listener must not throw into the BullMQ worker.
  const guard = listenerGuard(log);
  const detachers = workers.map((worker) => {
    const queue = worker.name;
    completed.inc({ queue }, 0);
    failed.inc({ queue, final: 'true' }, 0);
    failed.inc({ queue, final: 'false' }, 0);
    wait.zero({ queue });
    run.zero({ queue });
    stalled.inc({ queue }, 0);

    const time = (job: Job): void => {
      if (job.processedOn === undefined) return;
      // A delayed job (a Job Scheduler's next cycle, say) is ready only when due.
      const readyAt = job.timestamp + (job.opts.delay ?? 0);
      wait.observe({ queue }, seconds(Math.max(0, job.processedOn - readyAt)));
      if (job.finishedOn !== undefined) {
        run.observe({ queue }, seconds(Math.max(0, job.finishedOn - job.processedOn)));
      }
    };
    const onCompleted = guard('completed', (job: Job): void => {
      completed.inc({ queue });
      time(job);
    });
    const onFailed = guard('failed', (job: Job | undefined, error: Error): void => {
      // The rule createJobWorker logs by: out of attempts, or unrecoverable.
      const final =
        !job || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      failed.inc({ queue, final: final ? 'true' : 'false' });
      if (job) time(job);
    });
    // Counted where it was found: the worker that held the job may be gone.
    const onStalled = guard('stalled', (): void => {
      stalled.inc({ queue });
    });
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    worker.on('stalled', onStalled);
    return () => {
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
      worker.off('stalled', onStalled);
    };
  });
  return {
    detach() {
      for (const detach of detachers) detach();
    },
  };
}

/**
 * Reads a queue's counts with a deadline, remembering the last good answer.
 * One read at a time per queue: a scrape during a slow read waits on that
 * read instead of piling another onto a struggling Redis.
 */
function jobCountReader(
  queue: CountedQueue,
  timeoutMs: number,
  log: Logger | undefined,
): () => Promise<Counts | undefined> {
  let last: Counts | undefined;
  let inFlight: Promise<Counts> | undefined;
  let failing = false;
  return async () => {
    inFlight ??= queue.getJobCounts(...JOB_STATES).finally(() => (inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no job counts from queue ${queue.name} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
    });
    try {
      last = await Promise.race([inFlight, deadline]);
      if (failing) log?.info({ queue: queue.name }, 'job counts readable again');
      failing = false;
    } catch (error) {
      // Warn once per outage; the last counts keep being exported meanwhile.
      if (!failing) {
        log?.warn(
          { err: error, queue: queue.name },
          'cannot read job counts; exporting the last ones',
        );
      }
      failing = true;
    } finally {
      clearTimeout(timer);
    }
    return last;
  };
}
