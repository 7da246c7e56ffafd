/**
 * One configuration's session: the stack started with its clocks shortly before the slice's
 * start, the slice replayed at its real rate, and what the processes and the simulated provider
 * counted during it.
 */
import cliProgress from 'cli-progress';
import type { WorkloadRequest } from '../workload/market-week.js';
import type { Configuration } from './configurations.js';
import { parsePrometheus, sumBy, sumOf, type Sample } from './prometheus.js';
import { replay, type ReplayResult } from './replay.js';
import { StackSampler, type StackSample } from './sampler.js';
import type { SimProviderCounters } from './sim-provider.js';
import { seedAccessHistory, type HistoryPlan, type HistorySeeded } from './history.js';
import { getText, startStack, type ShutdownReport, type Stack } from './stack.js';

export interface SessionOptions {
  readonly configuration: Configuration;
  readonly seed: number;
  readonly requests: readonly WorkloadRequest[];
  /** Virtual start of the replay (the warm-up's start when there is one). */
  readonly from: number;
  /** Virtual start of what is measured; requests before it are a warm-up. @defaultValue from */
  readonly measureFrom?: number;
  /** Virtual ms before `from` at which the processes' clocks start (time for them to come up). */
  readonly leadMs: number;
  readonly connections: number;
  readonly sampleMs: number;
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The access history to write into the cache Redis before the apps start (what the api of a
   * running deployment recorded before the slice); none when absent.
   */
  readonly history?: HistoryPlan;
  /** Runs against the live stack after the replay (the stress run), before the counters are read. */
  readonly after?: (stack: Stack) => Promise<unknown>;
}

export type SimCounters = Record<string, SimProviderCounters>;

/** Upstream calls during the replay, from the simulated provider's own counters. */
export interface UpstreamCalls {
  readonly total: number;
  readonly byProvider: Record<
    string,
    { calls: number; ok: number; rateLimited: number; failed: number; symbolsServed: number }
  >;
  /** The same from the apps' fiml_provider_requests_total (api + batch-scheduler), by outcome. */
  readonly fromMetrics: Record<string, number>;
}

export interface SessionResult {
  readonly configuration: string;
  readonly clockOffsetMs: number;
  readonly replay: ReplayResult;
  readonly upstream: UpstreamCalls;
  /** Selected series of each app's /metrics at the end of the replay. */
  readonly metrics: Record<string, Record<string, number | Record<string, number>>>;
  readonly samples: readonly StackSample[];
  readonly shutdown: readonly ShutdownReport[];
  /** The access history seeded before the apps started. */
  readonly history?: HistorySeeded;
  /** GET /v1/cache/warming at the end of the replay (the warm ledger's totals and last runs). */
  readonly warming?: WarmingReport;
  readonly after?: unknown;
}

/** The api's GET /v1/cache/warming answer (the parts the report reads). */
export interface WarmingReport {
  readonly totals: {
    readonly warmed?: number;
    readonly used?: number;
    readonly wasted?: number;
    readonly pending?: number;
    readonly precision?: number | null;
    readonly [k: string]: unknown;
  };
  readonly runs: readonly Record<string, unknown>[];
}

function delta(after: SimCounters, before: SimCounters): UpstreamCalls['byProvider'] {
  const out: UpstreamCalls['byProvider'] = {};
  for (const [id, a] of Object.entries(after)) {
    const b = before[id];
    const d = (f: (c: SimProviderCounters) => number) => f(a) - (b ? f(b) : 0);
    const ok = d((c) => c.calls.ok);
    const rateLimited = d((c) => c.calls['rate-limited']);
    const failed = d((c) => c.calls.failed);
    const bad = d((c) => c.calls['bad-request']);
    out[id] = {
      calls: ok + rateLimited + failed + bad,
      ok,
      rateLimited,
      failed,
      symbolsServed: d((c) => c.symbolsServed),
    };
  }
  return out;
}

async function scrape(stack: Stack): Promise<Record<string, Sample[]>> {
  const out: Record<string, Sample[]> = {};
  await Promise.all(
    stack.processes
      .filter((p) => p.metricsUrl)
      .map(async (p) => {
        out[p.name] = parsePrometheus(await getText(p.metricsUrl!).catch(() => ''));
      }),
  );
  return out;
}

/** What the report shows of each app's metrics. */
function selectMetrics(scraped: Record<string, Sample[]>): SessionResult['metrics'] {
  const api = scraped.api ?? [];
  const scheduler = scraped['batch-scheduler'] ?? [];
  const warmer = scraped.warmer ?? [];
  return {
    api: {
      cacheHitsByLevel: sumBy(api, 'fiml_cache_hits_total', 'cache_level'),
      cacheMisses: sumOf(api, 'fiml_cache_misses_total'),
      staleServed: sumOf(api, 'fiml_cache_stale_served_total'),
      providerCallsByOutcome: sumBy(api, 'fiml_provider_requests_total', 'outcome'),
      accessDropped: sumOf(api, 'fiml_access_dropped_total'),
    },
    'batch-scheduler': {
      providerCallsByOutcome: sumBy(scheduler, 'fiml_provider_requests_total', 'outcome'),
      callsSaved: sumOf(scheduler, 'fiml_batch_upstream_calls_saved_total'),
      rateLimited: sumOf(scheduler, 'fiml_batch_rate_limited_total'),
      jobsCompleted: sumOf(scheduler, 'fiml_queue_jobs_completed_total'),
      jobsFailed: sumOf(scheduler, 'fiml_queue_jobs_failed_total'),
    },
    warmer: {
      runsByOutcome: sumBy(warmer, 'fiml_warm_runs_total', 'outcome'),
      keysRequested: sumOf(warmer, 'fiml_warm_keys_requested_total'),
      precision: sumOf(warmer, 'fiml_warm_precision'),
      entries: sumBy(warmer, 'fiml_warm_entries', 'outcome'),
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const name = options.configuration.name;
  // The processes' clocks start `leadMs` before the slice: their start-up happens then.
  console.error(`${name}: starting redis x2, sim-provider, api, batch-scheduler, warmer…`);
  const history = options.history;
  const stack = await startStack({
    configuration: options.configuration,
    seed: options.seed,
    // Taken when the processes launch, after the history is written.
    clockOffsetMs: () => options.from - options.leadMs - Date.now(),
    ...(history
      ? {
          prepareCache: async (url: string) => {
            console.error(`${name}: writing the access history into the cache Redis…`);
            return seedAccessHistory(url, history);
          },
        }
      : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const { clockOffsetMs } = stack;
  const sampler = new StackSampler(stack, options.sampleMs);
  sampler.start();
  try {
    const untilStart = options.from - (Date.now() + clockOffsetMs);
    if (untilStart > 0) {
      console.error(
        `${name}: up; the slice starts in ${(untilStart / 1000).toFixed(0)} s (processes' clock)`,
      );
      await sleep(untilStart);
    }
    // Counters are read when the first measured request is due: the warm-up's calls are not counted.
    let snapshot: Promise<{ sim: SimCounters; metrics: Record<string, Sample[]> }> | undefined;
    const takeSnapshot = () => {
      snapshot = Promise.all([
        getText(stack.simCountersUrl).then((text) => JSON.parse(text) as SimCounters),
        scrape(stack),
      ]).then(([sim, metrics]) => ({ sim, metrics }));
    };

    const bar = new cliProgress.SingleBar(
      {
        format: `${name.padEnd(9)} |{bar}| {value}/{total} requests sent | {answered} answered | {duration_formatted}`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(options.requests.length, 0, { answered: 0 });
    const result = await replay({
      apiUrl: stack.apiUrl,
      requests: options.requests,
      from: options.from,
      clockOffsetMs,
      ...(options.measureFrom === undefined ? {} : { measureFrom: options.measureFrom }),
      onMeasureStart: takeSnapshot,
      connections: options.connections,
      onProgress: (sent, answered) => bar.update(sent, { answered }),
    });
    bar.stop();
    if (!snapshot)
      throw new Error('the replay measured nothing: no request at or after the measured start');
    const { sim: before, metrics: beforeMetrics } = await snapshot;
    const after = JSON.parse(await getText(stack.simCountersUrl)) as SimCounters;
    const scraped = await scrape(stack);
    const warming = await getText(`${stack.apiUrl}/v1/cache/warming?limit=50`)
      .then((text) => JSON.parse(text) as WarmingReport)
      .catch((error: unknown) => {
        console.error(`${name}: GET /v1/cache/warming failed: ${String(error)}`);
        return undefined;
      });
    const providerCalls = (s: Record<string, Sample[]>) => {
      const out: Record<string, number> = {};
      for (const app of ['api', 'batch-scheduler']) {
        for (const [k, v] of Object.entries(
          sumBy(s[app] ?? [], 'fiml_provider_requests_total', 'outcome'),
        )) {
          out[k] = (out[k] ?? 0) + v;
        }
      }
      return out;
    };
    const metricsBefore = providerCalls(beforeMetrics);
    const fromMetrics = Object.fromEntries(
      Object.entries(providerCalls(scraped)).map(([k, v]) => [k, v - (metricsBefore[k] ?? 0)]),
    );
    const byProvider = delta(after, before);
    const upstream: UpstreamCalls = {
      total: Object.values(byProvider).reduce((n, p) => n + p.calls, 0),
      byProvider,
      fromMetrics,
    };
    const extra = options.after ? await options.after(stack) : undefined;
    const samples = await sampler.stop();
    const shutdown = await stack.stop();
    return {
      configuration: name,
      clockOffsetMs,
      replay: result,
      upstream,
      metrics: selectMetrics(scraped),
      samples,
      shutdown,
      ...(stack.prepared ? { history: stack.prepared as HistorySeeded } : {}),
      ...(warming ? { warming } : {}),
      ...(extra === undefined ? {} : { after: extra }),
    };
  } catch (error) {
    await sampler.stop().catch(() => undefined);
    await stack.stop().catch(() => undefined);
    throw error;
  }
}
