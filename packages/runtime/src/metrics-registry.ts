import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Written as the `service` label on every series, so one Prometheus job can scrape all three apps. */
  readonly service: string;
  /** Process and Node.js runtime metrics (CPU, memory, event-loop lag, GC). @defaultValue true */
  readonly defaultMetrics?: boolean;
}

/**
 * The process's one Prometheus registry, created at the composition root and
 * passed down. Never use prom-client's global registry: tests build many apps
 * in one process and each must see only its own series.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters, which `promtool check metrics` rejects; each
    // is the sum of its per-type gauge (nodejs_active_handles{type}, ...), so
    // nothing is lost: sum by (service) (nodejs_active_handles).
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }
  return registry;
}

/** prom-client default metrics that break Prometheus naming rules. */
const MISNAMED_DEFAULT_GAUGES: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** The body and content type of a /metrics response. */
export async function renderMetrics(
  registry: Registry,
): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
