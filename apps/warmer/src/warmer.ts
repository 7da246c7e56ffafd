import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { NYSE_TIME_ZONE } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import {
  QueueName,
  WARM_CYCLE_JOB_NAME,
  createJobWorker,
  queuePrefix,
  warmCycleSchema,
  type JobWorker,
  type WarmCycleMode,
} from '@fiml/queue';
import { ScheduleKeeper } from './schedule-keeper.js';

/** The id of the warmer's scheduled-run Job Scheduler in the warm queue. */
export const WARM_SCHEDULER_ID = 'warm-cycle';
/** The Job Scheduler of the pre-open run (weekdays; the run itself skips holidays). */
export const PRE_OPEN_SCHEDULER_ID = 'warm-pre-open';
/** The Job Scheduler of refresh-ahead runs (the run itself skips outside sessions). */
export const REFRESH_AHEAD_SCHEDULER_ID = 'warm-refresh-ahead';

/** The regular session opens at 09:30 New York time. */
const OPEN_MINUTE_OF_DAY = 9 * 60 + 30;

export interface WarmerDeps {
  /** A `worker`-role connection to the queue Redis (used by the scheduler queue and the worker). */
  readonly connection: Redis | Cluster;
  readonly prefix: string;
  readonly logger: Logger;
  /** When scheduled runs go: a cron pattern evaluated in a time zone. */
  readonly schedule: { readonly pattern: string; readonly tz: string };
  /** CACHE_WARMING_PREOPEN_MINUTES (0: no pre-open run). @defaultValue 0 */
  readonly preOpenMinutes?: number;
  /** CACHE_WARMING_REFRESH_AHEAD_SECONDS (0: no refresh-ahead). @defaultValue 0 */
  readonly refreshAheadSeconds?: number;
  /** False removes every schedule, so no runs go. @defaultValue true */
  readonly enabled?: boolean;
  /** One warming run of a mode; its result is the job's return value. */
  readonly run: (mode: WarmCycleMode) => Promise<unknown>;
  /** @defaultValue 10000 */
  readonly shutdownTimeoutMs?: number;
  /**
   * CACHE_WARMING_SCHEDULE_CHECK_MS: how often, once registered, the Job
   * Schedulers are looked for and re-created when missing. @defaultValue 60000
   */
  readonly scheduleCheckIntervalMs?: number;
}

export interface Warmer {
  readonly queue: Queue;
  readonly worker: JobWorker;
  /**
   * Keeps the Job Schedulers as configured once `start()` registered them:
   * re-creates missing ones (a queue Redis restarted empty), removes ones
   * that are off here; its `readiness` says whether they exist.
   */
  readonly schedule: ScheduleKeeper;
  /**
   * Registers (or updates, or removes) the Job Schedulers, then has
   * `schedule` watch them. Idempotent.
   */
  start(): Promise<void>;
  close(): Promise<void>;
}

type Repeat = { pattern: string; tz: string } | { every: number };

interface SchedulerSpec {
  readonly id: string;
  readonly mode: WarmCycleMode;
  /** Undefined: this schedule is off. */
  readonly repeat: Repeat | undefined;
}

/**
 * The warmer's queue side: BullMQ Job Schedulers fire warming runs (scheduled
 * runs on CACHE_WARMING_SCHEDULE, a pre-open run on weekdays, refresh-ahead
 * every few seconds) and a worker of concurrency 1 runs them one at a time.
 * Upserting the schedulers makes every replica agree on one schedule (one run
 * per tick, however many warmers run).
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
    process: ({ mode }) => deps.run(mode),
  });

  const specs = schedulerSpecs(deps);
  // The schedulers that must exist, by id: none when warming is disabled.
  const active = new Map<string, { readonly mode: WarmCycleMode; readonly repeat: Repeat }>();
  for (const { id, mode, repeat } of specs) {
    if (deps.enabled !== false && repeat !== undefined) active.set(id, { mode, repeat });
  }
  const upsert = async (id: string) => {
    const spec = active.get(id);
    if (spec === undefined) throw new Error(`${id} is not an active warming schedule`);
    await queue.upsertJobScheduler(id, spec.repeat, {
      name: WARM_CYCLE_JOB_NAME,
      data: { mode: spec.mode },
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
    });
  };
  const schedule = new ScheduleKeeper({
    queue,
    connection: deps.connection,
    schedulers: [...active.keys()],
    retired: specs.filter((spec) => !active.has(spec.id)).map((spec) => spec.id),
    upsert,
    remove: (id) => queue.removeJobScheduler(id),
    logger: deps.logger,
    ...(deps.scheduleCheckIntervalMs === undefined
      ? {}
      : { intervalMs: deps.scheduleCheckIntervalMs }),
  });
  return {
    queue,
    worker,
    schedule,
    async start() {
      for (const spec of specs) {
        if (deps.enabled === false || spec.repeat === undefined) {
          const removed = await queue.removeJobScheduler(spec.id);
          if (removed) log.info({ scheduler: spec.id }, 'warming schedule removed');
          continue;
        }
        await upsert(spec.id);
        log.info(
          { scheduler: spec.id, mode: spec.mode, ...spec.repeat },
          'warming schedule registered',
        );
      }
      if (deps.enabled === false) log.info('warming disabled; schedules removed');
      schedule.watch();
    },
    async close() {
      schedule.stop();
      await worker.close();
      await queue.close();
    },
  };
}

function schedulerSpecs(deps: WarmerDeps): readonly SchedulerSpec[] {
  const preOpen = deps.preOpenMinutes ?? 0;
  const minute = OPEN_MINUTE_OF_DAY - preOpen;
  const every = (deps.refreshAheadSeconds ?? 0) * 1000;
  return [
    {
      id: WARM_SCHEDULER_ID,
      mode: 'scheduled',
      repeat: { pattern: deps.schedule.pattern, tz: deps.schedule.tz },
    },
    {
      id: PRE_OPEN_SCHEDULER_ID,
      mode: 'pre-open',
      repeat:
        preOpen > 0
          ? { pattern: `${minute % 60} ${Math.floor(minute / 60)} * * 1-5`, tz: NYSE_TIME_ZONE }
          : undefined,
    },
    {
      id: REFRESH_AHEAD_SCHEDULER_ID,
      mode: 'refresh-ahead',
      repeat: every > 0 ? { every } : undefined,
    },
  ];
}
