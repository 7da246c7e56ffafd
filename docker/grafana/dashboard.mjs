// Generates docker/grafana/dashboards/fiml-cache.json, the dashboard Grafana provisions.
//
//   node docker/grafana/dashboard.mjs           prints the JSON
//   node docker/grafana/dashboard.mjs --write   writes it (pnpm --filter @fiml/deploy dashboard)
//
// The panels are written here as data, so a query reads as PromQL instead of as escaped JSON; a
// test keeps the committed JSON equal to this output, and the live test runs every query below
// against a real Prometheus scraping the real processes.
//
// Aggregation rules (docs/METRICS.md): counters are summed across instances; histograms are
// summed `by (le)` before histogram_quantile, so percentiles are of all instances together (never
// an average of per-instance percentiles); gauges that every replica reads from shared state
// (pending keys, queue counts, the warm ledger) are taken with max.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUTPUT = fileURLToPath(new URL('./dashboards/fiml-cache.json', import.meta.url));
const DATASOURCE = { type: 'prometheus', uid: 'prometheus' };
const R = '$__rate_interval';

/** reads (L1 lookups) of a grouping, as a PromQL expression */
const reads = (by) =>
  `sum${by}(rate(fiml_cache_hits_total{cache_level="l1"}[${R}])) + sum${by}(rate(fiml_cache_misses_total{cache_level="l1"}[${R}]))`;
const hitRate = (by) => `sum${by}(rate(fiml_cache_hits_total[${R}])) / (${reads(by)})`;
const quantile = (q, metric, by = '') =>
  `histogram_quantile(${q}, sum by (le${by}) (rate(${metric}_bucket[${R}])))`;

const t = (expr, legendFormat) => ({ expr, legendFormat });

/**
 * The dashboard, row by row. Each panel: title, description (what it shows and how to read it),
 * unit, targets; `stat` panels show the last value; `width` in grid columns (of 24).
 */
const ROWS = [
  {
    title: 'Overview',
    panels: [
      {
        title: 'Hit rate',
        kind: 'stat',
        unit: 'percentunit',
        width: 6,
        description: 'Share of reads answered by L1 or L2, all instances and data types.',
        targets: [t(hitRate(' '), 'hit rate')],
        thresholds: [
          ['red', null],
          ['orange', 0.8],
          ['green', 0.9],
        ],
      },
      {
        title: 'Read p99',
        kind: 'stat',
        unit: 's',
        width: 6,
        description:
          'p99 of every read inside the cache, all instances (histograms summed by le). The FimlReadLatencyHigh alert fires above 500 ms.',
        targets: [t(quantile(0.99, 'fiml_cache_latency_seconds'), 'p99')],
        thresholds: [
          ['green', null],
          ['orange', 0.25],
          ['red', 0.5],
        ],
      },
      {
        title: 'Processes up',
        kind: 'stat',
        unit: 'short',
        width: 6,
        description: 'Targets Prometheus scrapes successfully, per service (replicas counted).',
        targets: [t('sum by (service) (up{job="fiml"})', '{{service}}')],
      },
      {
        title: 'Warming precision',
        kind: 'stat',
        unit: 'percentunit',
        width: 6,
        description:
          'Warmed entries read while fresh over all settled ones (used / (used + wasted)), over every run; empty until one settles.',
        targets: [t('max(fiml_warm_precision)', 'precision')],
        thresholds: [
          ['red', null],
          ['orange', 0.5],
          ['green', 0.75],
        ],
      },
    ],
  },
  {
    title: 'Cache',
    panels: [
      {
        title: 'Hit rate by data type',
        unit: 'percentunit',
        description: 'Reads answered by L1 or L2 over all reads, per data type.',
        targets: [t(hitRate(' by (data_type) '), '{{data_type}}')],
        max: 1,
      },
      {
        title: 'Hit ratio by level',
        unit: 'percentunit',
        description:
          'Per tier: lookups it answered over lookups made there. Every read looks in L1; only L1 misses reach L2.',
        targets: [
          t(
            `sum by (cache_level) (rate(fiml_cache_hits_total[${R}])) / (sum by (cache_level) (rate(fiml_cache_hits_total[${R}])) + sum by (cache_level) (rate(fiml_cache_misses_total[${R}])))`,
            '{{cache_level}}',
          ),
        ],
        max: 1,
      },
      {
        title: 'Reads by where they were answered',
        unit: 'reqps',
        description: 'L1 hits, L2 hits, and misses that went upstream (or failed), per second.',
        targets: [
          t(`sum(rate(fiml_cache_hits_total{cache_level="l1"}[${R}]))`, 'L1 hit'),
          t(`sum(rate(fiml_cache_hits_total{cache_level="l2"}[${R}]))`, 'L2 hit'),
          t(`sum(rate(fiml_cache_misses_total{cache_level="l2"}[${R}]))`, 'miss (upstream)'),
        ],
      },
      {
        title: 'Read latency percentiles (all instances)',
        unit: 's',
        description:
          'Time from the start of a read to its answer inside the CacheManager; misses include the upstream fetch. Histograms summed by le across instances.',
        targets: [
          t(quantile(0.5, 'fiml_cache_latency_seconds'), 'p50'),
          t(quantile(0.95, 'fiml_cache_latency_seconds'), 'p95'),
          t(quantile(0.99, 'fiml_cache_latency_seconds'), 'p99'),
        ],
      },
      {
        title: 'Read p99 by where answered',
        unit: 's',
        description: 'p99 of L1 hits, L2 hits and misses separately (all instances).',
        targets: [
          t(quantile(0.99, 'fiml_cache_latency_seconds', ', cache_level'), '{{cache_level}}'),
        ],
      },
      {
        title: 'L1 evictions by reason',
        unit: 'ops',
        description:
          'Entries leaving the L1s: capacity (pushed out for room), admission-rejected (refused room), expired, invalidated (a newer value was written).',
        targets: [t(`sum by (reason) (rate(fiml_cache_evictions_total[${R}]))`, '{{reason}}')],
      },
      {
        title: 'Cache sizes',
        unit: 'short',
        description:
          'Entries in each api instance’s L1. (The L2 lives in the cache Redis: watch its used_memory against maxmemory there.)',
        targets: [t('sum by (instance) (fiml_cache_entries{cache_level="l1"})', 'L1 {{instance}}')],
      },
      {
        title: 'Stale reads served',
        unit: 'ops',
        description:
          'Reads answered with a value past its freshness: revalidate (a refresh was asked for), fetch-error (the upstream failed), soft-timeout (the upstream was slow).',
        targets: [t(`sum by (reason) (rate(fiml_cache_stale_served_total[${R}]))`, '{{reason}}')],
      },
      {
        title: 'Cache Redis errors and circuit',
        unit: 'short',
        description:
          'Failed cache operations per second by process, component and operation; and the api instances whose breaker in front of the cache Redis is not closed.',
        targets: [
          t(
            `sum by (service, component, operation) (rate(fiml_cache_errors_total[${R}]))`,
            '{{service}} {{component}}/{{operation}}',
          ),
          t('sum by (state) (fiml_cache_circuit_state{state!="closed"})', 'instances {{state}}'),
        ],
      },
    ],
  },
  {
    title: 'Upstream providers',
    panels: [
      {
        title: 'Upstream calls by provider and outcome',
        unit: 'reqps',
        description:
          'Calls to each provider (a batch call counts once) by how they ended: ok, not-found, rate-limited (429), error. From the api and the batch-scheduler.',
        targets: [
          t(
            `sum by (provider, outcome) (rate(fiml_provider_requests_total[${R}]))`,
            '{{provider}} {{outcome}}',
          ),
        ],
      },
      {
        title: 'Upstream latency p95 by provider',
        unit: 's',
        description: 'Upstream call latency, body included, all processes.',
        targets: [t(quantile(0.95, 'fiml_provider_latency_seconds', ', provider'), '{{provider}}')],
      },
      {
        title: 'Upstream 429s and budget waits',
        unit: 'short',
        description:
          '429s answered by each provider, batches the scheduler backed off after a 429, and due flushes that waited for the provider’s rate budget.',
        targets: [
          t(
            `sum by (provider) (increase(fiml_provider_requests_total{outcome="rate-limited"}[${R}]))`,
            '429s {{provider}}',
          ),
          t(
            `sum by (provider) (increase(fiml_batch_rate_limited_total[${R}]))`,
            'batches backed off {{provider}}',
          ),
          t(
            `sum by (provider) (increase(fiml_batch_budget_waits_total[${R}]))`,
            'budget waits {{provider}}',
          ),
        ],
      },
    ],
  },
  {
    title: 'Batching',
    panels: [
      {
        title: 'Batch sizes',
        unit: 'short',
        description:
          'Mean keys per upstream batch: the batch-scheduler’s flushes per provider, and the api’s read-through fetches per loader after coalescing concurrent misses.',
        targets: [
          t(
            `sum by (provider) (rate(fiml_batch_size_sum{service="batch-scheduler"}[${R}])) / sum by (provider) (rate(fiml_batch_size_count{service="batch-scheduler"}[${R}]))`,
            'flush {{provider}}',
          ),
          t(
            `sum by (provider) (rate(fiml_batch_size_sum{service="api"}[${R}])) / sum by (provider) (rate(fiml_batch_size_count{service="api"}[${R}]))`,
            'read-through {{provider}}',
          ),
        ],
      },
      {
        title: 'Upstream calls saved by batching',
        unit: 'short',
        description:
          'Calls batching saved per second (keys flushed minus calls made), and the share of flushed keys that cost no call of their own.',
        targets: [
          t(
            `sum by (provider) (rate(fiml_batch_upstream_calls_saved_total[${R}]))`,
            'saved/s {{provider}}',
          ),
          t(
            `sum by (provider) (rate(fiml_batch_upstream_calls_saved_total[${R}])) / sum by (provider) (rate(fiml_batch_size_sum{service="batch-scheduler"}[${R}]))`,
            'share saved {{provider}}',
          ),
        ],
      },
      {
        title: 'Intake by outcome',
        unit: 'short',
        description:
          'Keys of refresh requests at intake per second: queued, merged with a pending key or answered by a fetch in flight (deduplicated), fresh (written lately: skipped), failed (not added after the job completed: FimlIntakeKeysLost).',
        targets: [
          t(
            `sum by (provider, outcome) (rate(fiml_batch_intake_keys_total[${R}]))`,
            '{{provider}} {{outcome}}',
          ),
        ],
      },
      {
        title: 'Batch keys by outcome',
        unit: 'short',
        description:
          'Keys of the batches run per second: written, not_found, skipped_newer (a newer entry was there), skipped_fresh (written lately: not fetched), retrying (after a backoff), waiting_for_budget (back to its group), failed (no attempt left: FimlRefreshKeysFailed).',
        targets: [
          t(
            `sum by (provider, outcome) (rate(fiml_batch_keys_total[${R}]))`,
            '{{provider}} {{outcome}}',
          ),
        ],
      },
      {
        title: 'Pending keys',
        unit: 'short',
        description:
          'Keys waiting in the batch-scheduler’s groups (shared by the replicas: max, not sum). Low-priority keys wait for CACHE_LOW_LOAD_HOURS or an idle budget.',
        targets: [
          t('max by (provider, data_type) (fiml_batch_pending_keys)', '{{provider}} {{data_type}}'),
        ],
      },
      {
        title: 'Key wait p95 by provider',
        unit: 's',
        description:
          'From a key’s first request to its flush. Urgent keys go at once; low-priority (warming) keys may wait hours for the low-load window.',
        targets: [t(quantile(0.95, 'fiml_batch_wait_seconds', ', provider'), '{{provider}}')],
      },
      {
        title: 'Cache writes by outcome',
        unit: 'ops',
        description:
          'Entries the workers wrote newer-wins: written, skipped-newer (a newer value was there: a retried job rightly dropped), skipped-expired, failed.',
        targets: [
          t(
            `sum by (writer, outcome) (rate(fiml_cache_writes_total[${R}]))`,
            '{{writer}} {{outcome}}',
          ),
        ],
      },
    ],
  },
  {
    title: 'Queues',
    panels: [
      {
        title: 'Queue depth',
        unit: 'short',
        description:
          'Jobs by queue and state, read from the queue Redis (every process reports the queues it touches: max, not sum).',
        targets: [
          t(
            'max by (queue, state) (fiml_queue_jobs{state=~"waiting|prioritized|delayed|active|waiting-children"})',
            '{{queue}} {{state}}',
          ),
        ],
      },
      {
        title: 'Job wait p95',
        unit: 's',
        description: 'From when a job was ready to the start of the attempt that finished it.',
        targets: [t(quantile(0.95, 'fiml_queue_job_wait_seconds', ', queue'), '{{queue}}')],
      },
      {
        title: 'Jobs completed, failed and stalled',
        unit: 'ops',
        description:
          'Jobs the workers finished, failed attempts (final: no retry left), and jobs found held by a worker that stopped renewing their lock (each runs again; FimlJobsStalling). Batch queues are refresh-batch-<provider>.',
        targets: [
          t(`sum by (queue) (rate(fiml_queue_jobs_completed_total[${R}]))`, 'completed {{queue}}'),
          t(
            `sum by (queue, final) (rate(fiml_queue_jobs_failed_total[${R}]))`,
            'failed {{queue}} final={{final}}',
          ),
          t(`sum by (queue) (rate(fiml_queue_jobs_stalled_total[${R}]))`, 'stalled {{queue}}'),
        ],
      },
    ],
  },
  {
    title: 'Warming',
    panels: [
      {
        title: 'Keys warmed',
        unit: 'short',
        description:
          'Keys each warming mode asked the batch-scheduler to refresh, and what became of every warmed entry so far (the warm ledger’s totals).',
        targets: [
          t(`sum by (mode) (increase(fiml_warm_keys_requested_total[${R}]))`, 'requested {{mode}}'),
          t('max by (outcome) (fiml_warm_entries)', 'entries {{outcome}}'),
        ],
      },
      {
        title: 'Warming precision and cost',
        unit: 'short',
        description:
          'Precision (used / (used + wasted)) and upstream calls spent per useful warm, over every run.',
        targets: [
          t('max(fiml_warm_precision)', 'precision'),
          t(
            'max(fiml_warm_upstream_calls) / max(fiml_warm_entries{outcome="used"})',
            'calls per used warm',
          ),
        ],
      },
      {
        title: 'Warming runs',
        unit: 'short',
        description: 'Runs by mode, and whether they ran or had nothing to do.',
        targets: [
          t(
            `sum by (mode, outcome) (increase(fiml_warm_runs_total[${R}]))`,
            '{{mode}} {{outcome}}',
          ),
        ],
      },
    ],
  },
  {
    title: 'HTTP',
    panels: [
      {
        title: 'HTTP status rates',
        unit: 'reqps',
        width: 8,
        description: 'Responses per second of the api instances by status code.',
        targets: [
          t(`sum by (status_code) (rate(fiml_http_requests_total[${R}]))`, '{{status_code}}'),
        ],
      },
      {
        title: 'HTTP p99 by route',
        unit: 's',
        width: 8,
        description: 'p99 response time per route template, all instances.',
        targets: [t(quantile(0.99, 'fiml_http_request_duration_seconds', ', route'), '{{route}}')],
      },
      {
        title: 'Connections waiting to be accepted',
        unit: 'short',
        width: 8,
        description:
          'Per api instance: connections the kernel has completed that the api has not taken yet. libuv accepts one per event-loop iteration, so a busy api admits new connections slowly; their wait is in no request timing.',
        targets: [t('max by (instance) (fiml_http_accept_queue_connections)', '{{instance}}')],
      },
    ],
  },
  {
    title: 'Processes',
    panels: [
      {
        title: 'Event-loop lag p99',
        unit: 's',
        description:
          'Per process. Above API_MAX_EVENT_LOOP_DELAY_MS the api answers 503 rather than queue work it cannot serve in time.',
        targets: [
          t(
            'max by (service, instance) (nodejs_eventloop_lag_p99_seconds)',
            '{{service}} {{instance}}',
          ),
        ],
      },
      {
        title: 'Resident memory',
        unit: 'bytes',
        description: 'Resident set size per process.',
        targets: [
          t(
            'sum by (service, instance) (process_resident_memory_bytes{job="fiml"})',
            '{{service}} {{instance}}',
          ),
        ],
      },
      {
        title: 'Reads not recorded for the warmer',
        unit: 'ops',
        description:
          'Reads the api could not record in the access history (buffer full, flush failed): the warmer does not see them.',
        targets: [t(`sum by (reason) (rate(fiml_access_dropped_total[${R}]))`, '{{reason}}')],
      },
    ],
  },
];

function thresholdSteps(thresholds) {
  return {
    mode: 'absolute',
    steps: (thresholds ?? [['green', null]]).map(([color, value]) => ({ color, value })),
  };
}

function panelJson(panel, id, gridPos) {
  const targets = panel.targets.map((target, i) => ({
    refId: String.fromCharCode(65 + i),
    datasource: DATASOURCE,
    expr: target.expr,
    legendFormat: target.legendFormat,
    range: true,
  }));
  const defaults = {
    unit: panel.unit,
    thresholds: thresholdSteps(panel.thresholds),
    ...(panel.max === undefined ? {} : { min: 0, max: panel.max }),
  };
  if (panel.kind === 'stat') {
    return {
      id,
      type: 'stat',
      title: panel.title,
      description: panel.description,
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: { defaults: { ...defaults, color: { mode: 'thresholds' } }, overrides: [] },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'value',
        graphMode: 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
      targets,
    };
  }
  return {
    id,
    type: 'timeseries',
    title: panel.title,
    description: panel.description,
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: {
        ...defaults,
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          lineWidth: 1,
          fillOpacity: 10,
          showPoints: 'never',
          spanNulls: true,
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets,
  };
}

export function dashboard() {
  const panels = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 8;
      const h = panel.kind === 'stat' ? 4 : 8;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push(panelJson(panel, id++, { h, w, x, y }));
      x += w;
    }
    y += row.panels[0]?.kind === 'stat' ? 4 : 8;
  }
  return {
    uid: 'fiml-cache',
    title: 'fiml-cache',
    description:
      'Cache hit rates and latency, upstream calls, batching, queues, warming and HTTP of fiml-cache. Generated by docker/grafana/dashboard.mjs.',
    tags: ['fiml-cache'],
    timezone: 'browser',
    editable: false,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-3h', to: 'now' },
    templating: { list: [] },
    annotations: {
      list: [
        {
          name: 'Firing alerts',
          datasource: DATASOURCE,
          enable: true,
          iconColor: 'red',
          expr: 'ALERTS{alertstate="firing", alertname=~"Fiml.*"}',
          titleFormat: '{{alertname}}',
          textFormat: '{{severity}}',
          step: '60s',
        },
      ],
    },
    panels,
  };
}

const json = `${JSON.stringify(dashboard(), null, 2)}\n`;
if (process.argv.includes('--write')) {
  writeFileSync(OUTPUT, json);
  process.stdout.write(`wrote ${OUTPUT}\n`);
} else {
  process.stdout.write(json);
}
