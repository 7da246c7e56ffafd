import { DATA_TYPES } from '@fiml/market';
import { CALL_OUTCOMES, type ProviderCallEvent } from '@fiml/providers';
import type { Logger } from '@fiml/runtime';
import { Counter, Histogram, type Registry } from 'prom-client';
import { listenerGuard, seconds, type MetricsBridge } from './metrics-bridge.js';

/** What emits provider calls: a ProviderRegistry (which re-emits every call it makes). */
export interface ProviderCallSource {
  on(event: 'call', listener: (event: ProviderCallEvent) => void): unknown;
  off(event: 'call', listener: (event: ProviderCallEvent) => void): unknown;
}

/** Upstream call latency buckets (seconds): 10 ms to the 5 s timeout and beyond. */
export const PROVIDER_LATENCY_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface ProviderMetricsOptions {
  /**
   * Provider ids whose series start at 0 (the configured ones, from
   * `registry.providers()`), so rate() works before their first call.
   * @defaultValue []
   */
  readonly providers?: readonly string[];
  /** Buckets of fiml_provider_latency_seconds. @defaultValue PROVIDER_LATENCY_BUCKETS */
  readonly latencyBuckets?: readonly number[];
  /** Where a failing listener is logged. @defaultValue no logging */
  readonly logger?: Logger;
}

/**
 * Registers fiml_provider_requests_total and fiml_provider_latency_seconds and
 * feeds them from `call` events: one per upstream call (a batch counts once).
 * Provider ids come from configuration, so the `provider` label is bounded.
 */
export function registerProviderMetrics(
  registry: Registry,
  source: ProviderCallSource,
  options: ProviderMetricsOptions = {},
): MetricsBridge {
  const requests = new Counter({
    name: 'fiml_provider_requests_total',
    help: 'Upstream provider calls, by provider, data type and outcome (ok, not-found, rate-limited, error).',
    labelNames: ['provider', 'data_type', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'fiml_provider_latency_seconds',
    help: 'Upstream provider call latency, by provider and data type.',
    labelNames: ['provider', 'data_type'],
    buckets: [...(options.latencyBuckets ?? PROVIDER_LATENCY_BUCKETS)],
    registers: [registry],
  });
  for (const provider of options.providers ?? []) {
    for (const data_type of DATA_TYPES) {
      for (const outcome of CALL_OUTCOMES) requests.inc({ provider, data_type, outcome }, 0);
    }
  }

  // Guarded: a failing listener must not throw into the registry's fetch.
  const onCall = listenerGuard(options.logger?.child({ component: 'provider-metrics' }))(
    'call',
    (e: ProviderCallEvent): void => {
      requests.inc({ provider: e.provider, data_type: e.dataType, outcome: e.outcome });
      latency.observe({ provider: e.provider, data_type: e.dataType }, seconds(e.latencyMs));
    },
  );
  source.on('call', onCall);
  return {
    detach() {
      source.off('call', onCall);
    },
  };
}
