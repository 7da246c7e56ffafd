import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Job, Queue, type Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import {
  cacheKey,
  type CacheEntry,
  type CacheWriter,
  type WarmLedger,
  type WriteOutcome,
} from '@fiml/cache';
import type { Clock, DataType, Random } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import {
  ProviderErrorCode,
  providerOfValue,
  reservedCalls,
  type MarketDataProvider,
  type ProviderRegistry,
} from '@fiml/providers';
import {
  QueueName,
  createJobWorker,
  queuePrefix,
  type JobWorker,
  type RefreshRequest,
} from '@fiml/queue';
import {
  batchJobSchema,
  type BatchJob,
  type BatchKeyCounts,
  type BatchOutcome,
  type PackedBatchJob,
  type IntakeOutcome,
} from './batch-job.js';
import { AddCoalescer, type AddResult } from './add-coalescer.js';
import { decideFlush, type BudgetSnapshot, type FlushSettings } from './flush-policy.js';
import { inLowLoadHour } from './low-load-hours.js';
import {
  PRIORITY_RANK,
  PendingStore,
  type AddOutcome,
  parseMeta,
  type ClaimedKey,
  type GroupKey,
  type PendingKey,
  type Settlement,
} from './pending-store.js';

export interface SchedulerSettings {
  /** CACHE_BATCH_SIZE: most keys per call (a provider's own maximum caps it further). */
  readonly batchSize: number;
  /** CACHE_BATCH_INTERVAL in ms. */
  readonly intervalMs: number;
  /** CACHE_LOW_LOAD_HOURS. */
  readonly lowLoadHours: readonly number[];
  /** The exchange time zone the hours are read in. */
  readonly timeZone: string;
  /** REFRESH_MIN_AGE_FRACTION. */
  readonly minAgeFraction: number;
  /** REFRESH_MAX_ATTEMPTS. */
  readonly maxAttempts: number;
  /** REFRESH_FETCH_TIMEOUT_MS: bound of one batch's upstream fetch. */
  readonly fetchTimeoutMs: number;
  /** How often every group is looked at, ms. @defaultValue 200 */
  readonly tickMs?: number;
  /** Lease of claimed keys; renewed while their batch runs. @defaultValue 60000 */
  readonly leaseMs?: number;
  /** Batch jobs one process runs at once per provider. @defaultValue 2 */
  readonly batchConcurrency?: number;
  /** First retry delay of a failed key, doubling per attempt, with jitter. @defaultValue 1000 */
  readonly retryBaseMs?: number;
  /** BullMQ lock of a batch job (a killed worker's batch is redelivered after it). @defaultValue 30000 */
  readonly lockDurationMs?: number;
  /** @defaultValue 15000 */
  readonly stalledIntervalMs?: number;
}

export interface BatchSchedulerDeps {
  /** A `worker`-role connection to the queue Redis (pending sets and batch queues live there). */
  readonly queueRedis: Redis | Cluster;
  /** QUEUE_PREFIX. */
  readonly prefix: string;
  readonly providers: ProviderRegistry;
  readonly writer: CacheWriter;
  /** Where entries written for warming requests are booked, for warm precision. */
  readonly ledger?: Pick<WarmLedger, 'written'>;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly settings: SchedulerSettings;
}

/** Events for metrics (see @fiml/observability registerBatchMetrics). */
export interface BatchSchedulerEvents {
  flush: [
    event: {
      provider: string;
      dataType: DataType;
      keys: number;
      upstreamCalls: number;
      waitedMs: readonly number[];
    },
  ];
  'rate-limited': [event: { provider: string; retryAfterMs: number }];
  'budget-wait': [event: { provider: string; waitMs: number }];
  /**
   * What the pending store made of one request's keys, once its add replied
   * (after the intake job completed): added, merged with a pending key,
   * answered by a fetch in flight, skipped as written lately, or not added
   * because the store failed (logged).
   */
  intake: [
    event: {
      provider: string;
      dataType: DataType;
      queued: number;
      merged: number;
      inFlight: number;
      fresh: number;
      failed: number;
    },
  ];
  /**
   * What became of the keys of one batch that ran to its end
   * (fiml_batch_keys_total); a batch whose job failed sends none.
   */
  batch: [event: { provider: string; dataType: DataType } & BatchKeyCounts];
  /** Entries handed to the CacheWriter, and what became of each (fiml_cache_writes_total). */
  write: [event: { writer: 'scheduler'; outcomes: readonly WriteOutcome[] }];
}

/** Errors of our own limiter or the upstream's 429: the key waits for budget, no attempt spent. */
const WAIT_FOR_BUDGET: ReadonlySet<string> = new Set([
  ProviderErrorCode.BUDGET_EXHAUSTED,
  ProviderErrorCode.RATE_LIMITED,
  ProviderErrorCode.ABORTED,
]);
/** A batch that runs this long reports progress on its job (dashboard). */
const LONG_BATCH_MS = 1_000;
const LIVE_JOB_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
]);

/**
 * The batch-scheduler: refresh requests are grouped per (provider, asset
 * type, data type) in Redis, and each group goes upstream as few calls as its
 * batch size allows, when its flush policy says so, within the provider's
 * budget.
 *
 * - `accept` (the refresh queue's worker) adds a request's keys to its group's
 *   pending sets, skipping keys cached recently enough; the job completes at
 *   once with what became of each key.
 * - The flusher (`tick`, every `tickMs` in every replica) asks
 *   {@link decideFlush} about each group and, when due, claims up to a batch of
 *   keys atomically and adds one job to the provider's batch queue.
 * - A batch worker per provider makes one registry call for the batch,
 *   writes newer-wins with the CacheWriter and settles every key: done,
 *   retried with backoff and jitter, failed after the last attempt, or back to
 *   pending when the budget or a 429 stopped it (no attempt spent).
 * - The sweeper returns keys of batches that are gone (a crashed process) to
 *   pending, so a request is never lost.
 */
export class BatchScheduler extends EventEmitter<BatchSchedulerEvents> {
  readonly store: PendingStore;
  readonly #adds: AddCoalescer;
  readonly #deps: BatchSchedulerDeps;
  readonly #log: Logger;
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Map<string, JobWorker>();
  readonly #budgetWaiting = new Set<string>();
  readonly #followUps = new Set<Promise<void>>();
  readonly #tickMs: number;
  readonly #leaseMs: number;
  readonly #deadlineLeadMs: number;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #lowLoadMinute: { minute: number; value: boolean } | undefined;

  constructor(deps: BatchSchedulerDeps) {
    super();
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'batch-scheduler' });
    this.store = new PendingStore({ redis: deps.queueRedis, prefix: deps.prefix });
    this.#adds = new AddCoalescer(this.store);
    this.#tickMs = deps.settings.tickMs ?? 200;
    this.#leaseMs = deps.settings.leaseMs ?? 60_000;
    this.#deadlineLeadMs = Math.max(1_000, deps.settings.fetchTimeoutMs);
  }

  /** Starts the batch workers and the flusher loop. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    for (const provider of this.#deps.providers.providers()) {
      this.#queueFor(provider.id);
      this.#workerFor(provider.id);
    }
    this.#schedule(0);
  }

  /**
   * The per-provider batch queues and their workers (one each per configured
   * provider, from `start()` on), for the queue metrics.
   */
  batchQueues(): { queues: Queue[]; workers: Worker[] } {
    return {
      queues: [...this.#queues.values()],
      workers: [...this.#workers.values()].map((w) => w.worker),
    };
  }

  /** Stops the loop, lets running batches finish (bounded), closes the batch queues. */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // A tick stuck on a queue Redis that is down would hold the shutdown until Redis is back
    // (the connection queues its commands); what it claimed is leased, so the sweeper returns it.
    if (this.#deps.queueRedis.status === 'ready') {
      await this.#ticking;
      // The replies to adds of completed intake jobs (and their re-adds).
      await Promise.all([...this.#followUps]);
    }
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }

  /** Looks at the groups soon (a request just arrived). */
  poke(): void {
    if (!this.#stopped) this.#schedule(0);
  }

  // ------------------------------------------------------------------ intake

  /**
   * Hands a refresh request's keys to their group. Resolves once the pending
   * store's add is on the queue connection, before its reply: the intake job
   * completes on that same connection (BullMQ's worker is built on it), so
   * Redis runs the add before the completion, and a crash can lose the
   * completion but never the keys of a completed job. Waiting for the reply
   * too would make node and Redis take turns (bench/README.md). What the
   * store made of each key (queued, merged, in flight, fresh) is known when
   * the reply comes, after the job: it is counted by the `intake` event, and
   * a store error is logged, with the keys, as a request lost.
   */
  async accept(request: RefreshRequest): Promise<IntakeOutcome> {
    const { providers, writer, clock } = this.#deps;
    const primary = providers.route(request.assetType, request.dataType)[0];
    if (!primary) {
      return { group: undefined, accepted: 0, fresh: 0, noRoute: request.symbols.length };
    }
    const group: GroupKey = {
      provider: primary.id,
      assetType: request.assetType,
      dataType: request.dataType,
    };
    const now = clock.now();
    const urgent = request.priority === 'urgent';
    // A request's own age bound is checked here; the general rule (younger than a
    // fraction of its TTL) once per batch, when it goes (runBatch): one L2 read per
    // batch instead of one per request, and with fresher knowledge.
    const cached =
      request.ifOlderThanMs === undefined
        ? []
        : await writer.peek(
            request.symbols.map((s) => cacheKey(request.dataType, request.assetType, s)),
          );
    const deadline = request.deadline === undefined ? undefined : Date.parse(request.deadline);
    const priority = PRIORITY_RANK[request.priority];
    const warm = request.reason === 'warm';
    let fresh = 0;
    const keys: PendingKey[] = [];
    request.symbols.forEach((symbol, i) => {
      const entry = cached[i];
      if (entry && this.#youngEnough(entry, request, now, urgent)) fresh += 1;
      else if (deadline === undefined && !warm) keys.push({ symbol, priority });
      else keys.push({ symbol, priority, ...(deadline === undefined ? {} : { deadline }), warm });
    });
    const { sent, result } = this.#adds.add(group, keys, now);
    // Look at the group at once only when this request may make it due now; the
    // regular tick finds interval, window and budget flushes (a tick per request
    // would cost three Redis round trips each under a burst of requests).
    const maxBatch = Math.min(primary.maxBatchSize, this.#deps.settings.batchSize);
    const due = urgent || deadline !== undefined;
    this.#follow(
      result.then(
        (added) => this.#afterAdd(group, keys, added, now, due, maxBatch),
        (error: unknown) => this.#addFailed(group, keys, error),
      ),
    );
    await sent;
    return { group: PendingStore.groupId(group), accepted: keys.length, fresh, noRoute: 0 };
  }

  /** Work that runs after an intake job completed; close() waits for it. */
  #follow(work: Promise<void>): void {
    const followUp = work
      .catch((error: unknown) => {
        this.#log.error({ err: error }, 'intake follow-up failed after its job completed');
      })
      .finally(() => this.#followUps.delete(followUp));
    this.#followUps.add(followUp);
  }

  /** The add's reply: re-adds fresh-marked keys gone from L2, counts the outcomes, pokes the flusher. */
  async #afterAdd(
    group: GroupKey,
    keys: readonly PendingKey[],
    { outcomes, nonLowPending }: AddResult,
    now: number,
    due: boolean,
    maxBatch: number,
  ): Promise<void> {
    let added = outcomes;
    let pending = nonLowPending;
    if (added.includes('fresh')) {
      try {
        ({ outcomes: added, nonLowPending: pending } = await this.#unlessGone(
          group,
          keys,
          added,
          pending,
          now,
        ));
      } catch (error) {
        // The keys stay skipped as written lately; a read that misses fetches them itself.
        this.#log.warn(
          { err: error, group: PendingStore.groupId(group) },
          'could not check skipped keys against L2',
        );
      }
    }
    const counts = { queued: 0, merged: 0, inFlight: 0, fresh: 0, failed: 0 };
    for (const a of added) {
      if (a === 'queued') counts.queued += 1;
      else if (a === 'merged') counts.merged += 1;
      else if (a === 'in-flight') counts.inFlight += 1;
      else counts.fresh += 1;
    }
    this.emit('intake', { provider: group.provider, dataType: group.dataType, ...counts });
    if (due || pending >= maxBatch) this.poke();
  }

  #addFailed(group: GroupKey, keys: readonly PendingKey[], error: unknown): void {
    this.emit('intake', {
      provider: group.provider,
      dataType: group.dataType,
      queued: 0,
      merged: 0,
      inFlight: 0,
      fresh: 0,
      failed: keys.length,
    });
    this.#log.error(
      {
        err: error,
        group: PendingStore.groupId(group),
        keys: keys.length,
        symbols: keys.slice(0, 20).map((k) => k.symbol),
      },
      'refresh request completed but its keys were not added to their group: they will not be refreshed',
    );
  }

  /**
   * Keys the fresh set skipped whose entry is no longer in L2 (invalidated by
   * an operator, or evicted) are forgotten there and added after all. Only
   * skipped keys are looked up, so a request for keys not written lately costs
   * no L2 read.
   */
  async #unlessGone(
    group: GroupKey,
    keys: readonly PendingKey[],
    added: AddOutcome[],
    nonLowPending: number,
    now: number,
  ): Promise<{ outcomes: AddOutcome[]; nonLowPending: number }> {
    const skipped = keys.filter((_, i) => added[i] === 'fresh');
    const cached = await this.#deps.writer.peek(
      skipped.map((k) => cacheKey(group.dataType, group.assetType, k.symbol)),
    );
    const gone = skipped.filter((_, i) => cached[i] === undefined);
    if (gone.length === 0) return { outcomes: added, nonLowPending };
    await this.store.forgetFresh(
      group,
      gone.map((k) => k.symbol),
    );
    const again = await this.#adds.add(group, gone, now).result;
    const bySymbol = new Map(gone.map((k, i) => [k.symbol, again.outcomes[i]!]));
    return {
      outcomes: keys.map((k, i) =>
        added[i] === 'fresh' ? (bySymbol.get(k.symbol) ?? 'fresh') : added[i]!,
      ),
      nonLowPending: again.nonLowPending,
    };
  }

  #youngEnough(entry: CacheEntry, request: RefreshRequest, now: number, urgent: boolean): boolean {
    const age = now - entry.fetchedAt;
    if (request.ifOlderThanMs !== undefined) return age <= request.ifOlderThanMs;
    return !urgent && this.#freshEnough(entry, now);
  }

  /** Cached recently enough that a non-urgent refresh would waste a call (REFRESH_MIN_AGE_FRACTION). */
  #freshEnough(entry: CacheEntry, now: number): boolean {
    return now < this.#freshUntil(entry);
  }

  #freshUntil(entry: CacheEntry): number {
    return entry.fetchedAt + entry.ttlMs * this.#deps.settings.minAgeFraction;
  }

  // ----------------------------------------------------------------- flusher

  /** One look at every group: flushes what is due, and sweeps orphaned claims now and then. */
  async tick(): Promise<void> {
    const now = this.#deps.clock.now();
    for (const group of await this.store.groups()) {
      try {
        await this.#consider(group, now);
      } catch (error) {
        this.#log.warn(
          { err: error, group: PendingStore.groupId(group) },
          'could not flush a group',
        );
      }
    }
    if (now - this.#lastSweep >= this.#leaseMs / 2) {
      this.#lastSweep = now;
      await this.sweep(now);
    }
  }

  async #consider(group: GroupKey, now: number): Promise<void> {
    const provider = this.#deps.providers.provider(group.provider);
    if (!provider) return;
    const id = PendingStore.groupId(group);
    const settings = this.#flushSettings(provider, now);
    // One read of each per look; after a claim, the claim's own snapshot of the
    // group, and the budget less the calls of the batches queued meanwhile
    // (they spend it when they run, so a re-read would not see them anyway).
    let snapshot = await this.store.snapshot(group);
    const read = await this.#budget(provider);
    let budget = read;
    for (let queued = 1; ; queued += 1) {
      const decision = decideFlush(snapshot, budget, settings, now);
      if (!decision.flush) {
        const waitingForBudget = decision.reason === 'budget' || decision.reason === 'blocked';
        if (waitingForBudget && !this.#budgetWaiting.has(id)) {
          this.#budgetWaiting.add(id);
          this.emit('budget-wait', { provider: provider.id, waitMs: decision.recheckInMs });
        } else if (!waitingForBudget) this.#budgetWaiting.delete(id);
        return;
      }
      this.#budgetWaiting.delete(id);
      const token = randomUUID();
      const { symbols, metas, count, after } = await this.store.claimPacked(group, {
        max: settings.maxBatchSize,
        includeLow: decision.includeLow,
        leaseUntil: now + this.#leaseMs,
        token,
        deadlineBefore: now + settings.deadlineLeadMs,
      });
      if (count === 0) return;
      await this.#enqueueBatch({ ...group, token, symbols, metas });
      // More may be due at once (1,000 keys are several batches): look again.
      if (count < settings.maxBatchSize) return;
      snapshot = after;
      budget = { ...read, remaining: read.remaining - queued };
    }
  }

  #flushSettings(provider: MarketDataProvider, now: number): FlushSettings {
    const { settings } = this.#deps;
    return {
      maxBatchSize: Math.max(1, Math.min(provider.maxBatchSize, settings.batchSize)),
      intervalMs: settings.intervalMs,
      deadlineLeadMs: this.#deadlineLeadMs,
      lowLoadHour: this.#lowLoadHour(now),
    };
  }

  /**
   * inLowLoadHour, once per minute: a time-zone conversion per look at a group
   * showed in profiles of a busy flusher. Every zone's hours start on a whole
   * minute, so the answer cannot change within one.
   */
  #lowLoadHour(now: number): boolean {
    const minute = Math.floor(now / 60_000);
    if (this.#lowLoadMinute?.minute !== minute) {
      const { lowLoadHours, timeZone } = this.#deps.settings;
      this.#lowLoadMinute = { minute, value: inLowLoadHour(now, lowLoadHours, timeZone) };
    }
    return this.#lowLoadMinute.value;
  }

  /** The provider's tightest window (fewest calls left) as the policy reads it. */
  async #budget(provider: MarketDataProvider): Promise<BudgetSnapshot> {
    const budget = await this.#deps.providers.remaining(provider.id);
    const tightest = [...budget.windows].sort((a, b) => a.remaining - b.remaining)[0];
    if (!tightest) {
      return {
        remaining: Number.POSITIVE_INFINITY,
        limit: Number.POSITIVE_INFINITY,
        windowMs: 0,
        resetInMs: 0,
        blockedForMs: budget.blockedForMs,
        reserved: 0,
      };
    }
    return {
      remaining: budget.remaining,
      limit: tightest.limit,
      windowMs: tightest.windowMs,
      resetInMs: tightest.resetInMs,
      blockedForMs: budget.blockedForMs,
      reserved: reservedCalls(tightest.limit),
    };
  }

  async #enqueueBatch(job: PackedBatchJob): Promise<void> {
    const { token } = job;
    try {
      await this.#queueFor(job.provider).add('batch', job, {
        jobId: token,
        attempts: 1,
        removeOnComplete: { age: 3_600, count: 1_000 },
        removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
      });
    } catch (error) {
      // The keys must not sit claimed by a batch that does not exist.
      const { provider, assetType, dataType } = job;
      await this.store.requeue({ provider, assetType, dataType }, token, job.symbols.split(' '));
      throw error;
    }
  }

  /**
   * Returns keys whose batch's lease ran out and whose batch job is gone (its
   * process died before adding it, or it failed for good) to pending; renews
   * the lease of a batch still queued or running; removes fresh marks whose
   * time has passed.
   */
  async sweep(now: number): Promise<number> {
    let returned = 0;
    for (const group of await this.store.groups()) {
      for (const { token, symbols } of await this.store.expired(group, now)) {
        const job = await Job.fromId(this.#queueFor(group.provider), token);
        const state = job ? await job.getState() : 'missing';
        if (LIVE_JOB_STATES.has(state)) {
          await this.store.renew(group, token, now + this.#leaseMs);
        } else {
          returned += await this.store.requeue(group, token, symbols);
          this.#log.warn(
            { group: PendingStore.groupId(group), token, keys: symbols.length, state },
            'returned the keys of a lost batch to pending',
          );
        }
      }
      await this.store.sweepFresh(group, now);
    }
    return returned;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#ticking = this.tick()
        .catch((error: unknown) => this.#log.warn({ err: error }, 'scheduler tick failed'))
        .finally(() => {
          this.#ticking = undefined;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : this.#tickMs);
        });
    }, delayMs);
    this.#timer.unref();
  }

  // ------------------------------------------------------------------ batches

  #queueFor(provider: string): Queue {
    let queue = this.#queues.get(provider);
    if (!queue) {
      queue = new Queue(batchQueueName(provider), {
        connection: this.#deps.queueRedis,
        prefix: queuePrefix(this.#deps.prefix),
      });
      queue.on('error', (error) => this.#log.debug({ err: error }, 'batch queue error'));
      this.#queues.set(provider, queue);
    }
    return queue;
  }

  #workerFor(provider: string): JobWorker {
    let worker = this.#workers.get(provider);
    if (!worker) {
      const { settings } = this.#deps;
      worker = createJobWorker({
        queueName: batchQueueName(provider),
        prefix: this.#deps.prefix,
        connection: this.#deps.queueRedis,
        schema: batchJobSchema,
        logger: this.#deps.logger,
        concurrency: settings.batchConcurrency ?? 2,
        lockDurationMs: settings.lockDurationMs ?? 30_000,
        stalledIntervalMs: settings.stalledIntervalMs ?? 15_000,
        process: (batch, job) => this.runBatch(batch, job),
      });
      this.#workers.set(provider, worker);
    }
    return worker;
  }

  /** One batch: one registry call, newer-wins writes, every key settled. */
  async runBatch(batch: BatchJob, job?: Job): Promise<BatchOutcome> {
    const { providers, writer, clock, settings } = this.#deps;
    const group: GroupKey = {
      provider: batch.provider,
      assetType: batch.assetType,
      dataType: batch.dataType,
    };
    const started = clock.now();
    // Keys written recently enough since they were asked for (by another batch, the
    // api, the warmer) need no call, unless a reader is waiting on them.
    // Per key, one pass each (a batch is the scheduler's hot path): the claimed
    // keys, their cache keys, and which of them go upstream.
    const claimed = batch.symbols.map((symbol, i) => parseMeta(symbol, batch.metas[i]!));
    const cacheKeys = batch.symbols.map((symbol) => keyOf(batch, symbol));
    const cached = await writer.peek(cacheKeys);
    const keys: ClaimedKey[] = [];
    const keyNames: string[] = [];
    const symbols: string[] = [];
    const fresh: Settlement[] = [];
    const low = new Set<string>();
    claimed.forEach((k, i) => {
      const entry = cached[i];
      if (k.priority !== PRIORITY_RANK.urgent && entry && this.#freshEnough(entry, started)) {
        fresh.push({ symbol: k.symbol, action: 'done', freshUntil: this.#freshUntil(entry) });
        return;
      }
      keys.push(k);
      keyNames.push(cacheKeys[i]!);
      symbols.push(k.symbol);
      if (k.priority === PRIORITY_RANK.low) low.add(k.symbol);
    });
    const outcome: BatchOutcome = {
      keys: keys.length,
      upstreamCalls: 0,
      written: 0,
      notFound: 0,
      skippedNewer: 0,
      skippedFresh: fresh.length,
      retrying: 0,
      waitingForBudget: 0,
      failed: [],
    };
    if (keys.length === 0) {
      await this.store.settle(group, batch.token, fresh, started, true);
      this.#ran(batch, outcome);
      return outcome;
    }
    // Released now, not after the fetch: an urgent request for one of them meanwhile is queued.
    if (fresh.length > 0) await this.store.settle(group, batch.token, fresh, started);

    const renewal = setInterval(
      () => {
        void this.store
          .renew(group, batch.token, clock.now() + this.#leaseMs)
          .catch(() => undefined);
      },
      Math.max(1_000, this.#leaseMs / 3),
    );
    renewal.unref();
    try {
      const { results, calls } = await providers.fetch(batch.dataType, batch.assetType, symbols, {
        signal: AbortSignal.timeout(settings.fetchTimeoutMs),
        // A warming guess never spends a fallback provider's budget.
        fallback: (symbol) => !low.has(symbol),
      });
      outcome.upstreamCalls = calls.length;
      const now = clock.now();
      // Fetched, now writing: shown on the dashboard when the fetch was slow.
      if (job && now - started >= LONG_BATCH_MS) await job.updateProgress(50);
      const entries: [string, CacheEntry][] = [];
      /** The key of each entry, by index. */
      const entryKeys: ClaimedKey[] = [];
      const settlements: Settlement[] = [];
      let requeued = 0;
      let rateLimitedFor = 0;
      keys.forEach((key, i) => {
        const result = results.get(key.symbol);
        const keyName = keyNames[i]!;
        if (result?.status === 'ok' || result?.status === 'not-found') entryKeys.push(key);
        if (result?.status === 'ok') {
          const source = providerOfValue(result.value) ?? batch.provider;
          entries.push([
            keyName,
            writer.buildEntry(
              batch.dataType,
              batch.assetType,
              { value: result.value, source },
              key.warm ? 'warmer' : 'scheduler',
            ),
          ]);
        } else if (result?.status === 'not-found') {
          entries.push([
            keyName,
            writer.buildEntry(
              batch.dataType,
              batch.assetType,
              { notFound: true, source: batch.provider },
              key.warm ? 'warmer' : 'scheduler',
            ),
          ]);
        } else {
          const error = result?.error;
          const code = error?.code ?? 'FIML_SCHEDULER_NO_RESULT';
          if (WAIT_FOR_BUDGET.has(code)) {
            settlements.push({ symbol: key.symbol, action: 'requeue' });
            requeued += 1;
            if (code === ProviderErrorCode.RATE_LIMITED) {
              rateLimitedFor = Math.max(rateLimitedFor, error?.retryAfterMs ?? 60_000);
            }
          } else {
            settlements.push(
              this.#retryOrFail(key, code, error?.message ?? 'no result', now, outcome),
            );
          }
        }
      });
      const writes = await writer.write(entries);
      if (writes.length > 0) this.emit('write', { writer: 'scheduler', outcomes: writes });
      // Outcomes come in the order of the entries.
      writes.forEach((write, i) => {
        const key = entryKeys[i]!;
        if (write.status === 'failed') {
          settlements.push(
            this.#retryOrFail(key, 'FIML_CACHE_WRITE_FAILED', write.error.message, now, outcome),
          );
          return;
        }
        // Written, or a newer entry is there: either way it is fresh for a while.
        settlements.push({
          symbol: key.symbol,
          action: 'done',
          freshUntil: this.#freshUntil(entries[i]![1]),
        });
        if (write.status === 'skipped') outcome.skippedNewer += 1;
        else if (entries[i]![1].kind === 'not-found') outcome.notFound += 1;
        else outcome.written += 1;
      });
      await this.#bookWarmed(entries, writes, calls.length / keys.length);
      // One script for every key, the budget's leftovers too, and the batch's lease released.
      outcome.waitingForBudget = (
        await this.store.settle(group, batch.token, settlements, now, true)
      ).requeued;
      if (rateLimitedFor > 0)
        this.emit('rate-limited', { provider: batch.provider, retryAfterMs: rateLimitedFor });
      if (requeued > 0 && rateLimitedFor === 0) {
        this.emit('budget-wait', { provider: batch.provider, waitMs: 0 });
      }
      if (calls.length > 0) {
        this.emit('flush', {
          provider: batch.provider,
          dataType: batch.dataType,
          keys: keys.length - requeued,
          upstreamCalls: calls.length,
          waitedMs: keys.map((k) => Math.max(0, started - k.firstAt)),
        });
      }
      // Progress only for a batch long enough for someone to watch it (one
      // Redis round trip more; a fast batch's completion says it all).
      if (job && clock.now() - started >= LONG_BATCH_MS) await job.updateProgress(100);
      if (requeued > 0) this.poke();
      this.#ran(batch, outcome);
      const { failed, ...counts } = outcome;
      this.#log[failed.length > 0 ? 'warn' : 'info'](
        {
          provider: batch.provider,
          dataType: batch.dataType,
          token: batch.token,
          ...counts,
          failed: failed.length,
        },
        'batch done',
      );
      return outcome;
    } finally {
      clearInterval(renewal);
    }
  }

  /** Reports what became of the keys of a batch that ran to its end. */
  #ran(batch: BatchJob, outcome: BatchOutcome): void {
    const { keys: _keys, upstreamCalls: _calls, failed, ...counts } = outcome;
    this.emit('batch', {
      provider: batch.provider,
      dataType: batch.dataType,
      ...counts,
      failed: failed.length,
    });
  }

  /** Books the warmer's entries this batch wrote, each with its share of the batch's calls. */
  async #bookWarmed(
    entries: readonly (readonly [string, CacheEntry])[],
    writes: readonly WriteOutcome[],
    callShare: number,
  ): Promise<void> {
    const { ledger } = this.#deps;
    if (!ledger) return;
    const warmed = entries.flatMap(([key, entry], i) =>
      entry.writer === 'warmer' && writes[i]?.status === 'written'
        ? [{ key, fetchedAt: entry.fetchedAt, softExpiresAt: entry.softExpiresAt, callShare }]
        : [],
    );
    try {
      await ledger.written(warmed);
    } catch (error) {
      // The entries are written; only the precision books miss them.
      this.#log.warn({ err: error, keys: warmed.length }, 'could not book warmed entries');
    }
  }

  /** A failed key: retried after exponential backoff with jitter, or failed for good after the last attempt. */
  #retryOrFail(
    key: ClaimedKey,
    code: string,
    message: string,
    now: number,
    outcome: BatchOutcome,
  ): Settlement {
    const attempts = key.attempts + 1;
    if (attempts >= this.#deps.settings.maxAttempts) {
      outcome.failed.push({ symbol: key.symbol, code, message, attempts });
      this.#log.warn({ symbol: key.symbol, code, attempts }, 'refresh key failed for good');
      return { symbol: key.symbol, action: 'done' };
    }
    outcome.retrying += 1;
    const base = (this.#deps.settings.retryBaseMs ?? 1_000) * 2 ** (attempts - 1);
    // Full jitter: keys that failed together do not come back together.
    const delay = base / 2 + this.#deps.random.next() * (base / 2);
    return { symbol: key.symbol, action: 'retry', at: now + delay };
  }

  /** Pending keys per group, for the gauge. */
  async pendingKeys(): Promise<{ provider: string; dataType: string; keys: number }[]> {
    return (await this.store.pendingCounts()).map(({ group, keys }) => ({
      provider: group.provider,
      dataType: group.dataType,
      keys,
    }));
  }
}

function keyOf(batch: BatchJob, symbol: string): string {
  return cacheKey(batch.dataType, batch.assetType, symbol);
}

/** The batch queue of one provider. */
export function batchQueueName(provider: string): `${typeof QueueName.REFRESH_BATCH}-${string}` {
  return `${QueueName.REFRESH_BATCH}-${provider}`;
}
