import { EventEmitter } from 'node:events';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { isConnectionError, retireRedis, type Logger } from '@fiml/runtime';
import type { z } from 'zod';
import { InvalidJobPayloadError, fieldIssues } from './errors.js';
import { queuePrefix, type QueueName } from './queue-names.js';

export interface JobWorkerOptions<S extends z.ZodType, R> {
  /** A queue of QueueName, or a per-provider queue (`refresh-batch-<provider>`). */
  readonly queueName: QueueName | `${QueueName}-${string}`;
  /** The deployment prefix (QUEUE_PREFIX); wrapped in a hash tag here. */
  readonly prefix: string;
  /**
   * A `worker`-role connection (maxRetriesPerRequest: null) from
   * `createRedisConnection`, which logs its outages (one warning when lost, one
   * line when restored). The caller owns and closes it.
   */
  readonly connection: Redis | Cluster;
  /** The payload contract; a job that does not match fails without retries. */
  readonly schema: S;
  /** Handles one validated job. Throw to fail the attempt (it is retried per the job's options). */
  readonly process: (payload: z.output<S>, job: Job) => Promise<R>;
  readonly logger: Logger;
  /** Jobs worked on at once. @defaultValue 1 */
  readonly concurrency?: number;
  /**
   * On close, how long active jobs may run before the worker stops anyway. A
   * worker with no active job stops at once. @defaultValue 10000
   */
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
  /** Jobs this worker has started and not yet recorded as completed or failed. */
  readonly activeJobs: number;
  /**
   * Stops fetching new jobs, lets active ones finish within the shutdown
   * timeout, then closes the worker's connections. With no active job it
   * takes no waiting, whether the queue Redis is up or down. Resolves
   * `graceful: false` when jobs were still running at the deadline: BullMQ's
   * stalled-job check hands them to another worker once their locks expire.
   */
  close(): Promise<{ graceful: boolean }>;
}

export function createJobWorker<S extends z.ZodType, R>(
  options: JobWorkerOptions<S, R>,
): JobWorker {
  const log = options.logger.child({ component: 'worker', queue: options.queueName });
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  /**
   * Jobs by id from the moment BullMQ takes them (the `active` event, just
   * before the processor runs) until it has recorded their outcome (the
   * `completed` or `failed` event, after the write to Redis): what a graceful
   * close waits for.
   */
  const active = new Set<string>();
  const settled = new EventEmitter();
  const take = (job: Job) => {
    if (job.id !== undefined) active.add(job.id);
  };
  const settle = (job: Job | undefined) => {
    if (job?.id !== undefined && active.delete(job.id) && active.size === 0) settled.emit('idle');
  };

  // The clients BullMQ duplicates from our connection while it builds the worker
  // (its dedicated blocking connection), so the close can retire them for good.
  const { built: worker, duplicates: blockingClients } = withDuplicatesOf(
    options.connection,
    () =>
      new Worker(
        options.queueName,
        async (job: Job) => {
          take(job);
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
      ),
  );

  worker.on('active', take);
  worker.on('completed', (job) => {
    settle(job);
    log.debug(
      { jobId: job.id, ms: (job.finishedOn ?? 0) - (job.processedOn ?? 0) },
      'job completed',
    );
  });
  worker.on('failed', (job, error) => {
    settle(job);
    const final =
      !job || job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
    log[final ? 'error' : 'warn'](
      { jobId: job?.id, attemptsMade: job?.attemptsMade, err: error },
      final ? 'job failed for good' : 'job attempt failed; will retry',
    );
  });
  // Emitted by the worker whose stalled check found the job: another worker
  // (a process that died, or a loop blocked past the lock) held it and stopped
  // renewing its lock. BullMQ moves it back to wait, or fails it once it has
  // stalled more often than allowed.
  worker.on('stalled', (jobId) => {
    log.warn(
      { jobId },
      'job stalled: the worker running it stopped renewing its lock; it waits for a live worker (failed instead past the stall limit)',
    );
  });
  worker.on('error', (error) => {
    // BullMQ reports every failed fetch of an outage here, from the shared
    // connection and from its own blocking one, at each reconnection attempt.
    // The connection logs the outage once (createRedisConnection); repeating it
    // here would put a stack trace in the log every second or two.
    if (isConnectionError(error)) {
      log.debug({ err: error }, 'worker cannot reach the queue Redis');
      return;
    }
    log.error({ err: error }, 'worker error');
  });

  /** Resolves true once no job is active, false at the deadline. */
  function drained(deadline: Promise<'timeout'>): Promise<boolean> {
    if (active.size === 0) return Promise.resolve(true);
    return Promise.race([
      new Promise<true>((resolve) => settled.once('idle', () => resolve(true))),
      deadline.then(() => false),
    ]);
  }

  async function stop(): Promise<{ graceful: boolean }> {
    const started = performance.now();
    const jobs = active.size;
    log.info(
      { activeJobs: jobs, shutdownTimeoutMs },
      jobs > 0 ? 'worker stopping: no new jobs, waiting for active ones' : 'worker stopping',
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs);
    });
    // Stop fetching (locally: the queue stays open to other workers), wait for
    // the jobs in hand, then close without BullMQ's own wait. That wait is for
    // its fetch loop, which can stay parked on a blocking connection that an
    // outage cut (or on a Redis that is still down) while the loop's lock and
    // stalled-check timers keep running: a close that never ends and a process
    // that never exits.
    void worker.pause(true).catch(() => undefined);
    let graceful = await drained(deadline);
    await worker
      .close(true)
      .catch((error: unknown) => log.warn({ err: error }, 'worker close failed'));
    for (const client of blockingClients) retire(client);
    // A fetch in flight at the pause may have started one more job: the rest of the bound is its.
    if (graceful) graceful = await drained(deadline);
    clearTimeout(timer);
    if (!graceful) {
      log.warn(
        { activeJobs: active.size, shutdownTimeoutMs },
        'active jobs outlived the shutdown timeout; disconnecting anyway',
      );
    }
    log.info({ graceful, ms: Math.round(performance.now() - started) }, 'worker stopped');
    return { graceful };
  }

  let closing: Promise<{ graceful: boolean }> | undefined;
  return {
    worker,
    get activeJobs() {
      return active.size;
    },
    close() {
      closing ??= stop();
      return closing;
    },
  };
}

/**
 * Runs `build` and returns what it built with the clients it duplicated from
 * `connection` meanwhile: BullMQ's Worker duplicates the connection it is given
 * for its blocking fetches, in its constructor.
 */
function withDuplicatesOf<T>(
  connection: Redis | Cluster,
  build: () => T,
): { built: T; duplicates: (Redis | Cluster)[] } {
  const duplicates: (Redis | Cluster)[] = [];
  // A Redis and a Cluster both have `duplicate`, with different parameters.
  const target = connection as unknown as { duplicate: (...args: unknown[]) => Redis | Cluster };
  const original = target.duplicate.bind(connection);
  target.duplicate = (...args: unknown[]) => {
    const client = original(...args);
    duplicates.push(client);
    return client;
  };
  try {
    return { built: build(), duplicates };
  } finally {
    // Back to the prototype's method, even when the build throws.
    delete (target as Partial<typeof target>).duplicate;
  }
}

/**
 * Closes a blocking client for good. BullMQ's fetch loop, when an outage broke
 * its blocking command, reconnects that client (`client.connect()` once it
 * reads `end`); a close that lands while the loop is in that reconnect leaves
 * the closed client connecting again, retrying forever against a Redis that
 * may be gone, and the process never exits. A retired client disconnects and
 * refuses to connect again.
 */
function retire(client: Redis | Cluster): void {
  client.disconnect();
  retireRedis(client);
}
