import type { DataType } from '@fiml/market';
import { listenQueueLength, type Logger } from '@fiml/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  cellCounter,
  cellHistogram,
  type CounterCell,
  type HistogramCell,
} from './cell-metrics.js';
import { listenerGuard, type MetricsBridge } from './metrics-bridge.js';

/** The `route` label of a request no route matched (a 404) or the HTTP parser refused. */
export const HTTP_UNMATCHED_ROUTE = 'unmatched';

/** The `method` label of a request the HTTP parser refused before it had a method. */
export const HTTP_UNKNOWN_METHOD = 'unknown';

/** Request duration buckets (seconds): an L1 hit takes well under a millisecond, a cold read an upstream call. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Counts the responses of one route template; built once per route, called once per response. */
export interface HttpRouteRecorder {
  /**
   * One response: its method, status code and duration in seconds (undefined
   * when there is no meaningful duration, e.g. a request the parser refused:
   * then only the request counter moves). Allocates only at the first
   * response of a (method, status code) pair.
   */
  record(method: string, statusCode: number, seconds: number | undefined): void;
}

export interface HttpMetrics {
  /** The recorder of a route template (`/v1/data/:dataType/:symbol`), the same object for the same template. */
  route(template: string): HttpRouteRecorder;
}

export interface HttpMetricsOptions {
  /** Buckets of fiml_http_request_duration_seconds. @defaultValue HTTP_DURATION_BUCKETS */
  readonly buckets?: readonly number[];
}

/**
 * Registers fiml_http_requests_total{method,route,status_code} and
 * fiml_http_request_duration_seconds{method,route}. The route label is the
 * route's template, never the raw URL, and {@link HTTP_UNMATCHED_ROUTE} when
 * no route matched, so the label set is bounded by the routes the app has.
 *
 * Hot path on purpose: the app asks for one recorder per route when the
 * route is registered and calls it once per response; a call finds its
 * cells with a Map lookup or two and adds to typed arrays and numbers. The
 * counts are turned into prom-client series only when /metrics is scraped
 * (prom-client's own `inc`/`observe` build a label object and hash string
 * on every call).
 */
export function registerHttpMetrics(
  registry: Registry,
  options: HttpMetricsOptions = {},
): HttpMetrics {
  const recorders = new Map<string, HttpRouteRecorder>();
  const requests = cellCounter(registry, {
    name: 'fiml_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'],
  });
  const durations = cellHistogram(registry, {
    name: 'fiml_http_request_duration_seconds',
    help: 'HTTP request duration until the response was sent, by method and route template.',
    labelNames: ['method', 'route'],
    buckets: options.buckets ?? HTTP_DURATION_BUCKETS,
  });

  /** The cells of one (route, method): its durations and its requests per status code. */
  interface MethodCells {
    readonly method: string;
    readonly duration: HistogramCell;
    readonly statuses: Map<number, CounterCell>;
  }

  function recorderFor(route: string): HttpRouteRecorder {
    // Most routes answer one method: the last one used is checked first, without a Map lookup.
    let last: MethodCells | undefined;
    const byMethod = new Map<string, MethodCells>();
    return {
      record(method, statusCode, seconds) {
        let cell = last;
        if (cell === undefined || cell.method !== method) {
          cell = byMethod.get(method);
          if (cell === undefined) {
            cell = { method, duration: durations({ method, route }), statuses: new Map() };
            byMethod.set(method, cell);
          }
          last = cell;
        }
        let status = cell.statuses.get(statusCode);
        if (status === undefined) {
          status = requests({ method, route, status_code: String(statusCode) });
          cell.statuses.set(statusCode, status);
        }
        status.inc();
        if (seconds !== undefined) cell.duration.observe(seconds);
      },
    };
  }

  return {
    route(template) {
      let recorder = recorders.get(template);
      if (recorder === undefined) {
        recorder = recorderFor(template);
        recorders.set(template, recorder);
      }
      return recorder;
    },
  };
}

/** Why the api did not call a provider for a read: our own limiter, not the upstream's answer. */
export type UpstreamRefusalReason = 'client-share' | 'provider-budget';
export const UPSTREAM_REFUSAL_REASONS: readonly UpstreamRefusalReason[] = [
  'client-share',
  'provider-budget',
];

/** One read (or a batch read's symbols) the api answered without calling the provider. */
export interface UpstreamRefusalEventLike {
  readonly provider: string;
  readonly dataType: DataType;
  readonly reason: UpstreamRefusalReason;
  /** Symbols refused. */
  readonly symbols: number;
}

/** What emits the api's refusals (its upstream gate). */
export interface UpstreamRefusalSource {
  on(event: 'refused', listener: (event: UpstreamRefusalEventLike) => void): unknown;
  off(event: 'refused', listener: (event: UpstreamRefusalEventLike) => void): unknown;
}

export interface UpstreamRefusalMetricsOptions {
  /**
   * (provider, data type) pairs whose series start at 0 for every reason (the
   * configured routes' providers), so increase() sees the first refusal. @defaultValue []
   */
  readonly series?: readonly { readonly provider: string; readonly dataType: DataType }[];
  /** Where a failing listener is logged. @defaultValue no logging */
  readonly logger?: Logger;
}

/**
 * Registers fiml_upstream_refusals_total{provider,data_type,reason}: symbols
 * a client asked for that were not cached and that the api did not fetch
 * because its own limiter said no: `client-share` (the client's share of the
 * provider's window is spent: 429 or a `rate-limited` item) or
 * `provider-budget` (the api's share of the window is spent or the provider
 * asked every process to wait: 503 or a `budget-spent` item, queued for the
 * batch-scheduler).
 */
export function registerUpstreamRefusalMetrics(
  registry: Registry,
  source: UpstreamRefusalSource,
  options: UpstreamRefusalMetricsOptions = {},
): MetricsBridge {
  const refusals = new Counter({
    name: 'fiml_upstream_refusals_total',
    help: 'Uncached symbols the api did not fetch because its own limiter refused the call, by provider, data type and reason (client-share, provider-budget).',
    labelNames: ['provider', 'data_type', 'reason'],
    registers: [registry],
  });
  for (const { provider, dataType } of options.series ?? []) {
    for (const reason of UPSTREAM_REFUSAL_REASONS) {
      refusals.inc({ provider, data_type: dataType, reason }, 0);
    }
  }
  const guard = listenerGuard(options.logger?.child({ component: 'upstream-refusal-metrics' }));
  const onRefused = guard('refused', (e: UpstreamRefusalEventLike) => {
    refusals.inc({ provider: e.provider, data_type: e.dataType, reason: e.reason }, e.symbols);
  });
  source.on('refused', onRefused);
  return {
    detach() {
      source.off('refused', onRefused);
    },
  };
}

/**
 * Registers fiml_http_accept_queue_connections: connections waiting for the
 * server to accept them (the kernel's accept queue of its listening socket,
 * read at scrape time; Linux only, NaN elsewhere or before it listens).
 * `port` names the listening port when asked (it may be chosen at listen).
 */
export function registerAcceptQueueMetric(
  registry: Registry,
  port: () => number | undefined,
): void {
  new Gauge({
    name: 'fiml_http_accept_queue_connections',
    help: "Connections the kernel has completed for the HTTP server that it has not accepted yet (its listen socket's accept queue; NaN where unreadable).",
    registers: [registry],
    async collect() {
      const listening = port();
      const waiting = listening === undefined ? undefined : await listenQueueLength(listening);
      this.set(waiting ?? Number.NaN);
    },
  });
}
