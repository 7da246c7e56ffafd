import type { WriteSource } from '@fiml/cache';
import type { Logger } from '@fiml/runtime';
import { Counter, type Registry } from 'prom-client';
import { listenerGuard, type MetricsBridge } from './metrics-bridge.js';

/** Who writes the cache: the `writer` label (the cache's WriteSource set). */
export const CACHE_WRITERS: readonly WriteSource[] = [
  'read-through',
  'warmer',
  'scheduler',
  'manual',
];

/** What became of one entry written: the `outcome` label of fiml_cache_writes_total. */
export const CACHE_WRITE_OUTCOMES = [
  'written',
  'skipped-newer',
  'skipped-expired',
  'failed',
] as const;
export type CacheWriteOutcomeLabel = (typeof CACHE_WRITE_OUTCOMES)[number];

/**
 * One batch of entries handed to a CacheWriter and the outcome of each
 * (CacheWriter.write's WriteOutcome[] fits). Declared here by shape because
 * the event's owner is an app (the batch-scheduler's refresh consumer), and a
 * package never imports an app.
 */
export interface CacheWriteEventLike {
  readonly writer: WriteSource;
  readonly outcomes: readonly {
    readonly status: 'written' | 'skipped' | 'failed';
    readonly reason?: 'newer' | 'expired';
  }[];
}

/** Anything that emits `write` events. */
export interface CacheWriteSource {
  on(event: 'write', listener: (event: CacheWriteEventLike) => void): unknown;
  off(event: 'write', listener: (event: CacheWriteEventLike) => void): unknown;
}

export interface CacheWriteMetricsOptions {
  /** Writers whose series start at 0 (the ones this process has). @defaultValue [] */
  readonly writers?: readonly WriteSource[];
  /** Where a failing listener is logged. @defaultValue no logging */
  readonly logger?: Logger;
}

function outcomeLabel(outcome: CacheWriteEventLike['outcomes'][number]): CacheWriteOutcomeLabel {
  if (outcome.status === 'skipped')
    return outcome.reason === 'expired' ? 'skipped-expired' : 'skipped-newer';
  return outcome.status;
}

/**
 * Registers fiml_cache_writes_total and counts every entry of every `write`
 * event by writer and outcome: how much the workers' fetching turned into
 * cache entries, and how much arrived after a newer value (a retried or slow
 * job) and was rightly dropped.
 */
export function registerCacheWriteMetrics(
  registry: Registry,
  source: CacheWriteSource,
  options: CacheWriteMetricsOptions = {},
): MetricsBridge {
  const writes = new Counter({
    name: 'fiml_cache_writes_total',
    help: 'Entries handed to a cache writer, by writer and outcome (written, skipped-newer, skipped-expired, failed).',
    labelNames: ['writer', 'outcome'],
    registers: [registry],
  });
  for (const writer of options.writers ?? []) {
    for (const outcome of CACHE_WRITE_OUTCOMES) writes.inc({ writer, outcome }, 0);
  }

  const guard = listenerGuard(options.logger?.child({ component: 'cache-write-metrics' }));
  const onWrite = guard('write', (e: CacheWriteEventLike) => {
    const writer = (CACHE_WRITERS as readonly string[]).includes(e.writer) ? e.writer : 'other';
    const counts = new Map<CacheWriteOutcomeLabel, number>();
    for (const outcome of e.outcomes) {
      const label = outcomeLabel(outcome);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    for (const [outcome, n] of counts) writes.inc({ writer, outcome }, n);
  });
  source.on('write', onWrite);
  return {
    detach() {
      source.off('write', onWrite);
    },
  };
}
