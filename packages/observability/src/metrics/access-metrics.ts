import { ACCESS_DROP_REASONS, type AccessDropEvent } from '@fiml/cache';
import type { Logger } from '@fiml/runtime';
import { Counter, type Registry } from 'prom-client';
import { listenerGuard, type MetricsBridge } from './metrics-bridge.js';

/** Anything that emits the access recorder's `drop` events (an AccessRecorder). */
export interface AccessDropSource {
  on(event: 'drop', listener: (event: AccessDropEvent) => void): unknown;
  off(event: 'drop', listener: (event: AccessDropEvent) => void): unknown;
}

export interface AccessMetricsOptions {
  /** Where a failing listener is logged. @defaultValue no logging */
  readonly logger?: Logger;
}

/**
 * Registers fiml_access_dropped_total and counts the reads an access
 * recorder could not record, by reason: `buffer-full` (its buffer was full
 * while a flush was in flight: Redis slow or reads too many), `flush-failed`
 * (Redis refused a flush) and `invalid-key`. Every reason's series starts at
 * 0, so `increase()` sees the first drop.
 */
export function registerAccessMetrics(
  registry: Registry,
  source: AccessDropSource,
  options: AccessMetricsOptions = {},
): MetricsBridge {
  const dropped = new Counter({
    name: 'fiml_access_dropped_total',
    help: 'Successful reads not recorded for the warmer, by reason (buffer-full, flush-failed, invalid-key).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of ACCESS_DROP_REASONS) dropped.inc({ reason }, 0);
  const guard = listenerGuard(options.logger?.child({ component: 'access-metrics' }));
  const onDrop = guard('drop', (e: AccessDropEvent) => {
    const reason = (ACCESS_DROP_REASONS as readonly string[]).includes(e.reason)
      ? e.reason
      : 'other';
    dropped.inc({ reason }, e.reads);
  });
  source.on('drop', onDrop);
  return {
    detach() {
      source.off('drop', onDrop);
    },
  };
}
