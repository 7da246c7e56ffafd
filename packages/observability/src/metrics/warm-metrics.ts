import type { Logger } from '@fiml/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { listenerGuard, seconds, type MetricsBridge } from './metrics-bridge.js';

/**
 * The warmer's events, declared here by shape (the warm cycle lives in an app,
 * and an app is never imported by a package); its emitter fits
 * {@link WarmCycleSource}.
 */

/** `run`: one warming run finished (or had nothing to do). */
export interface WarmRunEventLike {
  /** 'scheduled', 'pre-open' or 'refresh-ahead' (bounded). */
  readonly mode: string;
  /** False when the mode had nothing to do then (outside a session, a holiday). */
  readonly ran: boolean;
  /** Keys requested from the batch-scheduler. */
  readonly requested: number;
  /** Access records skipped as unreadable or foreign. */
  readonly badRecords: { readonly corrupt: number; readonly foreign: number };
  readonly durationMs: number;
}

/** `totals`: the warm ledger's books over every run, read after each run. */
export interface WarmTotalsEventLike {
  readonly warmed: number;
  readonly used: number;
  readonly wasted: number;
  readonly calls: number;
  /** used / (used + wasted); undefined while nothing is settled. */
  readonly precision: number | undefined;
  /** Warmed entries neither read nor stale yet. */
  readonly pending: number;
}

export interface WarmCycleSource {
  on(event: 'run', listener: (event: WarmRunEventLike) => void): unknown;
  on(event: 'totals', listener: (event: WarmTotalsEventLike) => void): unknown;
  off?(event: 'run', listener: (event: WarmRunEventLike) => void): unknown;
  off?(event: 'totals', listener: (event: WarmTotalsEventLike) => void): unknown;
}

export interface WarmMetricsOptions {
  /** Modes to export at zero before their first run. */
  readonly modes?: readonly string[];
  readonly logger?: Logger;
}

/**
 * Warming effectiveness, for the warmer's registry:
 * - `fiml_warm_runs_total{mode,outcome}` (outcome `ran` or `idle`) and
 *   `fiml_warm_run_duration_seconds{mode}`;
 * - `fiml_warm_keys_requested_total{mode}`: keys handed to the batch-scheduler;
 * - `fiml_warm_access_records_skipped_total{reason}` (`corrupt`, `foreign`);
 * - from the warm ledger, shared by every warmer replica (gauges: they are
 *   totals kept in Redis, not counts of this process):
 *   `fiml_warm_entries{outcome}` (warmed, used, wasted, pending),
 *   `fiml_warm_upstream_calls` (calls spent on warming) and
 *   `fiml_warm_precision` (used / (used + wasted); NaN until one settles).
 */
export function registerWarmMetrics(
  registry: Registry,
  source: WarmCycleSource,
  options: WarmMetricsOptions = {},
): MetricsBridge {
  const runs = new Counter({
    name: 'fiml_warm_runs_total',
    help: 'Warming runs by mode and outcome (ran; idle: nothing to do then, e.g. refresh-ahead outside a session).',
    labelNames: ['mode', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'fiml_warm_run_duration_seconds',
    help: 'Time one warming run took, from reading the access history to the last request enqueued.',
    labelNames: ['mode'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const requested = new Counter({
    name: 'fiml_warm_keys_requested_total',
    help: 'Keys the warmer requested from the batch-scheduler, by mode.',
    labelNames: ['mode'],
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'fiml_warm_access_records_skipped_total',
    help: 'Access records a warming run skipped: corrupt (unreadable) or foreign (not a fiml key).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const entries = new Gauge({
    name: 'fiml_warm_entries',
    help: 'Entries written for warming, over all runs (from the shared warm ledger): warmed, used (read while fresh), wasted (stale or replaced unread), pending (neither yet).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const calls = new Gauge({
    name: 'fiml_warm_upstream_calls',
    help: 'Upstream calls spent on warming over all runs (a batch call shared over its keys), from the warm ledger.',
    registers: [registry],
  });
  const precision = new Gauge({
    name: 'fiml_warm_precision',
    help: 'Warmed entries read while fresh, as a fraction of warmed entries settled (used + wasted), over all runs.',
    registers: [registry],
  });
  for (const mode of options.modes ?? []) {
    for (const outcome of ['ran', 'idle']) runs.inc({ mode, outcome }, 0);
    requested.inc({ mode }, 0);
  }
  for (const reason of ['corrupt', 'foreign']) skipped.inc({ reason }, 0);
  // 0 / 0 until a warmed entry is settled: NaN, so "precision < x" alerts stay quiet.
  precision.set(Number.NaN);

  const guard = listenerGuard(options.logger?.child({ component: 'warm-metrics' }));
  const onRun = guard('run', (e: WarmRunEventLike) => {
    runs.inc({ mode: e.mode, outcome: e.ran ? 'ran' : 'idle' });
    if (!e.ran) return;
    duration.observe({ mode: e.mode }, seconds(e.durationMs));
    requested.inc({ mode: e.mode }, e.requested);
    if (e.badRecords.corrupt > 0) skipped.inc({ reason: 'corrupt' }, e.badRecords.corrupt);
    if (e.badRecords.foreign > 0) skipped.inc({ reason: 'foreign' }, e.badRecords.foreign);
  });
  const onTotals = guard('totals', (e: WarmTotalsEventLike) => {
    entries.set({ outcome: 'warmed' }, e.warmed);
    entries.set({ outcome: 'used' }, e.used);
    entries.set({ outcome: 'wasted' }, e.wasted);
    entries.set({ outcome: 'pending' }, e.pending);
    calls.set(e.calls);
    precision.set(e.precision ?? Number.NaN);
  });
  source.on('run', onRun);
  source.on('totals', onTotals);
  return {
    detach() {
      source.off?.('run', onRun);
      source.off?.('totals', onTotals);
    },
  };
}

/**
 * `recreated`: one of the warmer's Job Schedulers was found missing in the
 * queue Redis and upserted again (the warmer's ScheduleKeeper emits it).
 */
export interface WarmScheduleRecreatedEventLike {
  /** The scheduler id (`warm-cycle`, `warm-pre-open`, `warm-refresh-ahead`). */
  readonly scheduler: string;
  /** What found it missing: `reconnect` or `periodic`. */
  readonly trigger: string;
}

export interface WarmScheduleSource {
  on(event: 'recreated', listener: (event: WarmScheduleRecreatedEventLike) => void): unknown;
  off?(event: 'recreated', listener: (event: WarmScheduleRecreatedEventLike) => void): unknown;
}

export interface WarmScheduleMetricsOptions {
  /** The scheduler ids the warmer keeps; another id is counted as `"other"`. */
  readonly schedulers: readonly string[];
  /** The triggers it checks on; another is counted as `"other"`. */
  readonly triggers: readonly string[];
  readonly logger?: Logger;
}

/**
 * `fiml_warm_schedule_recreated_total{scheduler,trigger}`: Job Schedulers the
 * warmer found missing and re-created (a queue Redis that came back without
 * its data, a scheduler removed by hand). Every known series starts at 0.
 */
export function registerWarmScheduleMetrics(
  registry: Registry,
  source: WarmScheduleSource,
  options: WarmScheduleMetricsOptions,
): MetricsBridge {
  const recreated = new Counter({
    name: 'fiml_warm_schedule_recreated_total',
    help: 'Warming Job Schedulers found missing in the queue Redis and re-created, by scheduler and by what found them missing (reconnect, periodic).',
    labelNames: ['scheduler', 'trigger'],
    registers: [registry],
  });
  const schedulers = new Set(options.schedulers);
  const triggers = new Set(options.triggers);
  for (const scheduler of schedulers) {
    for (const trigger of triggers) recreated.inc({ scheduler, trigger }, 0);
  }
  const guard = listenerGuard(options.logger?.child({ component: 'warm-metrics' }));
  const onRecreated = guard('recreated', (e: WarmScheduleRecreatedEventLike) => {
    recreated.inc({
      scheduler: schedulers.has(e.scheduler) ? e.scheduler : 'other',
      trigger: triggers.has(e.trigger) ? e.trigger : 'other',
    });
  });
  source.on('recreated', onRecreated);
  return {
    detach() {
      source.off?.('recreated', onRecreated);
    },
  };
}
