import { EventEmitter } from 'node:events';
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { type CheckResult, isConnectionError, type Logger } from '@fiml/runtime';

/** What made the keeper look: the queue connection came back, or its timer. */
export type ScheduleCheckTrigger = 'reconnect' | 'periodic';
export const SCHEDULE_CHECK_TRIGGERS: readonly ScheduleCheckTrigger[] = ['reconnect', 'periodic'];

/** `recreated`: a Job Scheduler was found missing and upserted again. */
export interface ScheduleRecreatedEvent {
  readonly scheduler: string;
  readonly trigger: ScheduleCheckTrigger;
}

/** `recreate-failed`: a Job Scheduler was found missing and the upsert failed. */
export interface ScheduleRecreateFailedEvent extends ScheduleRecreatedEvent {
  readonly error: unknown;
}

/** `removed`: a scheduler that is off in this warmer's configuration was present and removed. */
export interface ScheduleRemovedEvent {
  readonly scheduler: string;
  readonly trigger: ScheduleCheckTrigger;
}

/** `checked`: one check went through every scheduler (whatever it found). */
export interface ScheduleCheckedEvent {
  readonly trigger: ScheduleCheckTrigger;
  /** Schedulers still missing after the check (their upsert failed). */
  readonly missing: readonly string[];
}

export interface ScheduleKeeperEvents {
  recreated: [ScheduleRecreatedEvent];
  'recreate-failed': [ScheduleRecreateFailedEvent];
  removed: [ScheduleRemovedEvent];
  checked: [ScheduleCheckedEvent];
}

export interface ScheduleKeeperOptions {
  /** The warm queue whose Job Schedulers are kept. */
  readonly queue: Queue;
  /** The queue's connection: its `ready` event after a reconnect triggers a check. */
  readonly connection: Redis | Cluster;
  /** Ids of the schedulers that must exist (none when warming is disabled). */
  readonly schedulers: readonly string[];
  /**
   * Ids of the schedulers that are off in this configuration (all of them when
   * warming is disabled): removed when found, so a replica still running an
   * older configuration cannot keep one alive after the rollout.
   * @defaultValue []
   */
  readonly retired?: readonly string[];
  /** Upserts one scheduler, exactly as registration does. */
  readonly upsert: (id: string) => Promise<void>;
  /** Removes one scheduler; true when it existed. */
  readonly remove: (id: string) => Promise<boolean>;
  readonly logger: Logger;
  /** How often the schedulers are looked for while the connection stays up. @defaultValue 60000 */
  readonly intervalMs?: number;
}

/**
 * Keeps the warmer's Job Schedulers in the queue Redis. A scheduler lives
 * only there: a queue Redis restarted without its data (no AOF, a fresh
 * replica, a FLUSHALL) or an operator's removal leaves the worker idle for
 * good, with nothing failing. So once registration is done the keeper looks
 * for every scheduler whenever the connection becomes ready again and every
 * `intervalMs`, and upserts the missing ones (the upsert is idempotent, so
 * replicas racing to re-create one still agree on one schedule). Schedulers
 * that are off in this configuration are removed when found: during a rollout
 * replicas of both configurations undo each other's work, and once it is done
 * the new configuration holds (without this, an old replica could re-create a
 * schedule that was just turned off, for good).
 *
 * `readiness` fails until registration is done and while a scheduler is
 * missing and could not be re-created. A check that cannot reach Redis
 * changes nothing: the connection's own readiness says so, and its `ready`
 * event brings the next check.
 */
export class ScheduleKeeper extends EventEmitter<ScheduleKeeperEvents> {
  readonly schedulers: readonly string[];
  readonly retired: readonly string[];
  readonly intervalMs: number;
  readonly #options: ScheduleKeeperOptions;
  readonly #log: Logger;
  /** Missing schedulers whose re-creation failed, with the reason. */
  readonly #missing = new Map<string, string>();
  #watching = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** A trigger that came while a check ran: one more check follows it. */
  #again: ScheduleCheckTrigger | undefined;
  readonly #onReady = () => void this.check('reconnect');

  constructor(options: ScheduleKeeperOptions) {
    super();
    this.#options = options;
    this.schedulers = options.schedulers;
    this.retired = options.retired ?? [];
    this.intervalMs = options.intervalMs ?? 60_000;
    this.#log = options.logger.child({ component: 'warm-schedule' });
  }

  /**
   * Starts watching, once the schedulers were registered (or removed).
   * Idempotent; does nothing after {@link stop}.
   */
  watch(): void {
    if (this.#watching || this.#stopped) return;
    this.#watching = true;
    this.#options.connection.on('ready', this.#onReady);
    this.#timer = setInterval(() => {
      // While the connection is down a check would only queue commands; `ready` brings one.
      if (this.#options.connection.status === 'ready') void this.check('periodic');
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Stops watching; a check in flight ends without re-creating anything more. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#options.connection.off('ready', this.#onReady);
  }

  /**
   * Looks for every scheduler and upserts the missing ones. Never rejects. A
   * call during a check runs one more check after it and resolves with that.
   */
  check(trigger: ScheduleCheckTrigger): Promise<void> {
    if (this.#running) {
      this.#again = trigger;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        for (let next: ScheduleCheckTrigger | undefined = trigger; next && !this.#stopped;) {
          this.#again = undefined;
          await this.#checkOnce(next);
          next = this.#again;
        }
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** The `/readyz` check: ok once registered, while no scheduler is missing for good. */
  readonly readiness = (): Promise<CheckResult> => {
    if (this.schedulers.length === 0) return Promise.resolve({ ok: true });
    if (!this.#watching) {
      return Promise.resolve({ ok: false, error: 'warming schedule not registered yet' });
    }
    if (this.#missing.size === 0) return Promise.resolve({ ok: true });
    const missing = [...this.#missing].map(([id, reason]) => `${id} (${reason})`).join('; ');
    return Promise.resolve({
      ok: false,
      error: `Job Scheduler missing and could not be re-created: ${missing}`,
    });
  };

  async #checkOnce(trigger: ScheduleCheckTrigger): Promise<void> {
    const { queue, upsert } = this.#options;
    for (const scheduler of this.schedulers) {
      let exists: boolean;
      try {
        exists = (await queue.getJobScheduler(scheduler)) !== undefined;
      } catch (error) {
        // Redis unreachable (or the queue closing): nothing is known; `ready` brings a check.
        this.#log.debug({ err: error, scheduler, trigger }, 'could not look for the schedule');
        return;
      }
      if (this.#stopped) return;
      if (exists) {
        // Present again, re-created by another replica meanwhile if it was missing.
        this.#missing.delete(scheduler);
        continue;
      }
      try {
        await upsert(scheduler);
      } catch (error) {
        if (this.#stopped || isConnectionError(error)) return;
        const known = this.#missing.has(scheduler);
        this.#missing.set(scheduler, error instanceof Error ? error.message : String(error));
        // One warning per scheduler lost, not one per check while Redis keeps refusing.
        if (!known) {
          this.#log.warn(
            { err: error, scheduler, trigger },
            'warming schedule is missing and could not be re-created; retrying on the next check',
          );
        }
        this.emit('recreate-failed', { scheduler, trigger, error });
        continue;
      }
      this.#missing.delete(scheduler);
      this.#log.warn({ scheduler, trigger }, 'warming schedule was missing; re-created');
      this.emit('recreated', { scheduler, trigger });
    }
    for (const scheduler of this.retired) {
      try {
        if (!(await this.#options.remove(scheduler)) || this.#stopped) continue;
      } catch (error) {
        this.#log.debug({ err: error, scheduler, trigger }, 'could not remove the schedule');
        return;
      }
      // Replicas disagree (a rollout that turns it off, say): the newest configuration wins.
      this.#log.warn(
        { scheduler, trigger },
        'warming schedule is off in this configuration but was present; removed',
      );
      this.emit('removed', { scheduler, trigger });
    }
    this.emit('checked', { trigger, missing: [...this.#missing.keys()] });
  }
}
