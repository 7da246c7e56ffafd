import { DATA_TYPES, type DataType } from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BATCH_SIZE_BUCKETS } from './cache-metrics.js';
import { listenerGuard, seconds, type MetricsBridge } from './metrics-bridge.js';

/**
 * The batch-scheduler's events, declared here by shape rather than imported:
 * the scheduler lives in an app that depends on this package, and an app is
 * never imported by a package. Its event emitter fits
 * {@link BatchSchedulerSource} structurally.
 */

/** `flush`: one batch fetched upstream. */
export interface BatchFlushEventLike {
  /** A configured provider id (bounded). */
  readonly provider: string;
  readonly dataType: DataType;
  /** Symbols in the batch. */
  readonly keys: number;
  /** Calls the provider registry made for it, fallbacks included. */
  readonly upstreamCalls: number;
  /** Per key: from its first request to the flush, in milliseconds. */
  readonly waitedMs: readonly number[];
}

/** `rate-limited`: the provider answered 429; the group backs off. */
export interface BatchRateLimitedEventLike {
  readonly provider: string;
  readonly retryAfterMs: number;
}

/** `budget-wait`: a due flush waited for the provider's rate budget. */
export interface BatchBudgetWaitEventLike {
  readonly provider: string;
  readonly waitMs: number;
}

/**
 * `intake`: what the pending store made of one refresh request's keys (the
 * reply to its add, which comes after the intake job completed).
 */
export interface BatchIntakeEventLike {
  readonly provider: string;
  /** Added to the group. */
  readonly queued: number;
  /** Already pending: merged with that key (deduplicated). */
  readonly merged: number;
  /** Being fetched: that fetch answers this request too. */
  readonly inFlight: number;
  /** Written lately: skipped (REFRESH_MIN_AGE_FRACTION). */
  readonly fresh: number;
  /** Not added: the pending store failed (logged by the scheduler). */
  readonly failed: number;
}

/** The `outcome` label of fiml_batch_intake_keys_total, per field of the intake event. */
const INTAKE_OUTCOMES = {
  queued: 'queued',
  merged: 'merged',
  inFlight: 'in_flight',
  fresh: 'fresh',
  failed: 'failed',
} as const;

/**
 * `batch`: what became of the keys of one batch that ran to its end (a batch
 * whose job failed is counted by fiml_queue_jobs_failed_total instead).
 */
export interface BatchRunEventLike {
  readonly provider: string;
  /** Fetched and written. */
  readonly written: number;
  /** Cached as not found (the provider's positive answer). */
  readonly notFound: number;
  /** Fetched, not written: a newer entry was already there. */
  readonly skippedNewer: number;
  /** Not fetched: written lately since it was asked for (REFRESH_MIN_AGE_FRACTION). */
  readonly skippedFresh: number;
  /** Failed this time; back in its group after a backoff. */
  readonly retrying: number;
  /** Stopped by the rate budget or a 429; back in its group, no attempt spent. */
  readonly waitingForBudget: number;
  /** Given up after the last attempt (REFRESH_MAX_ATTEMPTS). */
  readonly failed: number;
}

/** The `outcome` label of fiml_batch_keys_total, per field of the batch event. */
const BATCH_KEY_OUTCOMES = {
  written: 'written',
  notFound: 'not_found',
  skippedNewer: 'skipped_newer',
  skippedFresh: 'skipped_fresh',
  retrying: 'retrying',
  waitingForBudget: 'waiting_for_budget',
  failed: 'failed',
} as const;

/** Keys pending in one group (provider, data type) at the moment it is read. */
export interface BatchPendingGroupLike {
  readonly provider: string;
  readonly dataType: string;
  readonly keys: number;
}

/** What the batch-scheduler offers its metrics: its events and a pending-keys snapshot. */
export interface BatchSchedulerSource {
  on(event: 'flush', listener: (event: BatchFlushEventLike) => void): unknown;
  on(event: 'rate-limited', listener: (event: BatchRateLimitedEventLike) => void): unknown;
  on(event: 'budget-wait', listener: (event: BatchBudgetWaitEventLike) => void): unknown;
  on(event: 'intake', listener: (event: BatchIntakeEventLike) => void): unknown;
  on(event: 'batch', listener: (event: BatchRunEventLike) => void): unknown;
  /** When present, `detach()` removes the listeners with it (an EventEmitter has it). */
  off?(event: 'flush', listener: (event: BatchFlushEventLike) => void): unknown;
  off?(event: 'rate-limited', listener: (event: BatchRateLimitedEventLike) => void): unknown;
  off?(event: 'budget-wait', listener: (event: BatchBudgetWaitEventLike) => void): unknown;
  off?(event: 'intake', listener: (event: BatchIntakeEventLike) => void): unknown;
  off?(event: 'batch', listener: (event: BatchRunEventLike) => void): unknown;
  /**
   * Pending keys per group now (read from the queue Redis at each scrape).
   * Groups of one provider and data type that differ in asset type may come
   * as separate entries: they are added up.
   */
  pendingKeys(): Promise<readonly BatchPendingGroupLike[]>;
}

/**
 * Time a key waited in its group before its flush (seconds): 10 ms for an
 * urgent key flushed at once, through the batch interval, up to a day for a
 * low-priority key asked for just after the night window closed.
 */
export const BATCH_WAIT_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400,
  21600, 43200, 86400,
];

/** The `provider` label of a provider that is not configured. */
const OTHER = 'other';

export interface BatchMetricsOptions {
  /**
   * The configured provider ids: the `provider` label's values, all of whose
   * series start at 0. An event naming any other provider is counted as
   * `other`, so the label stays bounded whatever the source emits.
   */
  readonly providers: readonly string[];
  /**
   * How long a scrape waits for `pendingKeys()`. Past it (or on a rejection)
   * the last values are exported and the failure is logged once per outage,
   * so a dead queue Redis never hangs /metrics.
   * @defaultValue 1000
   */
  readonly pendingTimeoutMs?: number;
  /** Where failing listeners and pending-keys reads are logged. @defaultValue no logging */
  readonly logger?: Logger;
}

/**
 * Registers the fiml_batch_* families of the batch-scheduler and feeds them
 * from its events: keys per flush, upstream calls saved, what intake made of
 * each requested key, what each batch made of its keys, time keys waited in
 * their group, 429s and budget waits per provider, and (read at each scrape)
 * keys pending per provider and data type. Every listener is guarded: a bad
 * event is dropped whole and logged once, never thrown into the scheduler.
 *
 * fiml_batch_size is the family the api's cache bridge also exports (keys per
 * read-through fetch); the two never share a registry, and they share the
 * buckets so that a query across services aggregates.
 */
export function registerBatchMetrics(
  registry: Registry,
  source: BatchSchedulerSource,
  options: BatchMetricsOptions,
): MetricsBridge {
  const registers = [registry];
  const log = options.logger?.child({ component: 'batch-metrics' });
  const providers = [...new Set(options.providers)];
  const known = new Set(providers);
  const providerLabel = (provider: unknown): string =>
    typeof provider === 'string' && known.has(provider) ? provider : OTHER;

  const size = new Histogram({
    name: 'fiml_batch_size',
    help: 'Keys per batch the batch-scheduler flushed upstream, by provider.',
    labelNames: ['provider'],
    buckets: [...BATCH_SIZE_BUCKETS],
    registers,
  });
  const saved = new Counter({
    name: 'fiml_batch_upstream_calls_saved_total',
    help: 'Upstream calls saved by batching (keys minus calls made, per flush, never negative), by provider.',
    labelNames: ['provider'],
    registers,
  });
  const intake = outcomeCounter(
    new Counter({
      name: 'fiml_batch_intake_keys_total',
      help: 'Keys of refresh requests at intake, by provider and outcome (queued, merged with a pending key, in_flight, fresh: written lately, failed: not added).',
      labelNames: ['provider', 'outcome'],
      registers,
    }),
    INTAKE_OUTCOMES,
  );
  const batchKeys = outcomeCounter(
    new Counter({
      name: 'fiml_batch_keys_total',
      help: 'Keys of the batches run, by provider and what became of them (written, not_found, skipped_newer: a newer entry was there, skipped_fresh: written lately, retrying: after a backoff, waiting_for_budget: back to its group, failed: no attempt left).',
      labelNames: ['provider', 'outcome'],
      registers,
    }),
    BATCH_KEY_OUTCOMES,
  );
  const wait = new Histogram({
    name: 'fiml_batch_wait_seconds',
    help: 'Time each key waited in its group, from its first request to its flush, by provider.',
    labelNames: ['provider'],
    buckets: [...BATCH_WAIT_BUCKETS],
    registers,
  });
  const rateLimited = new Counter({
    name: 'fiml_batch_rate_limited_total',
    help: 'Upstream 429 answers to a batch, after which its group backed off, by provider.',
    labelNames: ['provider'],
    registers,
  });
  const budgetWaits = new Counter({
    name: 'fiml_batch_budget_waits_total',
    help: 'Due flushes that waited for the provider rate budget, by provider.',
    labelNames: ['provider'],
    registers,
  });

  // (provider, data_type) pairs exported so far: a snapshot that leaves one
  // out sets it to 0 (nothing pending) rather than letting it vanish.
  const pendingSeries = new Map<string, { provider: string; data_type: string }>();
  const pendingSeriesFor = (provider: string, data_type: string) => {
    const id = `${provider}\u0000${data_type}`;
    let labels = pendingSeries.get(id);
    if (!labels) {
      labels = { provider, data_type };
      pendingSeries.set(id, labels);
    }
    return id;
  };
  let detached = false;
  const readPending = pendingReader(source, options.pendingTimeoutMs ?? 1000, log);
  const pending = new Gauge({
    name: 'fiml_batch_pending_keys',
    help: 'Keys waiting in the batch-scheduler’s groups, by provider and data type, read at each scrape.',
    labelNames: ['provider', 'data_type'],
    registers,
    async collect() {
      if (detached) return; // the scheduler may be closed: keep the last values
      const groups = await readPending();
      if (!groups) return; // failed (logged): the last values stay
      const totals = new Map<string, number>();
      for (const group of groups) {
        const id = pendingSeriesFor(providerLabel(group.provider), dataTypeLabel(group.dataType));
        totals.set(id, (totals.get(id) ?? 0) + group.keys);
      }
      for (const [id, labels] of pendingSeries) this.set(labels, totals.get(id) ?? 0);
    },
  });

  // Every configured provider's series exist from the start, so dashboards,
  // rate() and absent()-style alerts see them before the first flush.
  for (const provider of providers) {
    size.zero({ provider });
    wait.zero({ provider });
    saved.inc({ provider }, 0);
    intake.zero(provider);
    batchKeys.zero(provider);
    rateLimited.inc({ provider }, 0);
    budgetWaits.inc({ provider }, 0);
    for (const data_type of DATA_TYPES) pendingSeriesFor(provider, data_type);
  }
  for (const labels of pendingSeries.values()) pending.set(labels, 0);

  // Guarded: a failing listener must not throw into the scheduler's flush.
  const guard = listenerGuard(log);
  const onFlush = guard('flush', (e: BatchFlushEventLike): void => {
    // Checked before anything is counted, so a bad event is dropped whole.
    const keys = count(e.keys, 'keys');
    const calls = count(e.upstreamCalls, 'upstreamCalls');
    const waits = e.waitedMs.map((ms, i) => {
      if (!Number.isFinite(ms)) throw new RangeError(`waitedMs[${i}] is not a number: ${ms}`);
      // Another replica's clock may have stamped the first request: never below 0.
      return seconds(Math.max(0, ms));
    });
    const provider = providerLabel(e.provider);
    size.observe({ provider }, keys);
    // A fallback can make more calls than there were keys: nothing saved, not a loss.
    saved.inc({ provider }, Math.max(0, keys - calls));
    const waited = wait.labels({ provider });
    for (const s of waits) waited.observe(s);
  });
  const onRateLimited = guard('rate-limited', (e: BatchRateLimitedEventLike): void => {
    rateLimited.inc({ provider: providerLabel(e.provider) });
  });
  const onBudgetWait = guard('budget-wait', (e: BatchBudgetWaitEventLike): void => {
    budgetWaits.inc({ provider: providerLabel(e.provider) });
  });
  const onIntake = guard('intake', (e: BatchIntakeEventLike): void => {
    intake.add(providerLabel(e.provider), e);
  });
  const onBatch = guard('batch', (e: BatchRunEventLike): void => {
    batchKeys.add(providerLabel(e.provider), e);
  });
  source.on('flush', onFlush);
  source.on('rate-limited', onRateLimited);
  source.on('budget-wait', onBudgetWait);
  source.on('intake', onIntake);
  source.on('batch', onBatch);
  return {
    detach() {
      detached = true;
      source.off?.('flush', onFlush);
      source.off?.('rate-limited', onRateLimited);
      source.off?.('budget-wait', onBudgetWait);
      source.off?.('intake', onIntake);
      source.off?.('batch', onBatch);
    },
  };
}

function dataTypeLabel(dataType: unknown): string {
  return (DATA_TYPES as readonly unknown[]).includes(dataType) ? (dataType as string) : OTHER;
}

/**
 * A counter by (provider, outcome) fed from an event's count fields, one
 * outcome per field. Its children are bound once per provider: these events
 * come per request or per batch.
 */
function outcomeCounter<F extends string>(
  counter: Counter<'provider' | 'outcome'>,
  outcomes: Readonly<Record<F, string>>,
) {
  const fields = Object.keys(outcomes) as F[];
  const children = new Map<string, Record<F, Counter.Internal>>();
  const childrenOf = (provider: string) => {
    let bound = children.get(provider);
    if (!bound) {
      bound = {} as Record<F, Counter.Internal>;
      for (const field of fields) {
        bound[field] = counter.labels({ provider, outcome: outcomes[field] });
      }
      children.set(provider, bound);
    }
    return bound;
  };
  return {
    /** Every outcome's series of a provider, at 0. */
    zero(provider: string): void {
      for (const child of Object.values<Counter.Internal>(childrenOf(provider))) child.inc(0);
    },
    /** Counts an event's fields; one that is not a count drops the whole event (thrown). */
    add(provider: string, event: Readonly<Record<F, unknown>>): void {
      const counts = fields.map((field) => count(event[field], field));
      const bound = childrenOf(provider);
      fields.forEach((field, i) => {
        if (counts[i]! > 0) bound[field].inc(counts[i]);
      });
    },
  };
}

/** A count an event carries: a finite number not below 0. */
function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${field} is not a count: ${String(value)}`);
  }
  return value;
}

/**
 * Reads the pending keys with a deadline. One read at a time: a scrape during
 * a slow read waits on that read rather than piling another onto a
 * struggling Redis. Undefined when the read failed, timed out or answered
 * something that is not a snapshot (a partial one would export wrong totals).
 */
function pendingReader(
  source: BatchSchedulerSource,
  timeoutMs: number,
  log: Logger | undefined,
): () => Promise<readonly BatchPendingGroupLike[] | undefined> {
  let inFlight: Promise<readonly BatchPendingGroupLike[]> | undefined;
  let failing = false;
  return async () => {
    inFlight ??= Promise.resolve()
      .then(() => source.pendingKeys())
      .finally(() => (inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no pending keys from the batch-scheduler within ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
    });
    try {
      const groups = await Promise.race([inFlight, deadline]);
      for (const [i, group] of groups.entries()) count(group.keys, `pendingKeys()[${i}].keys`);
      if (failing) log?.info('pending keys readable again');
      failing = false;
      return groups;
    } catch (error) {
      // Warn once per outage; the last values keep being exported meanwhile.
      if (!failing) {
        log?.warn({ err: error }, 'cannot read pending keys; exporting the last values');
      }
      failing = true;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
}
