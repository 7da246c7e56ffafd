/**
 * End-to-end benchmark: a market open of the market-week workload replayed over HTTP against the
 * real processes (api, batch-scheduler, warmer, two redis-servers, the simulated provider with the
 * market-week provider model), baseline against optimized.
 *
 *   pnpm --filter @fiml/bench bench:e2e
 *   SLICE_FROM=2026-11-23T09:30:00-05:00 SLICE_MINUTES=6 WARMUP_MINUTES=3 SEED=1 CONFIGS=baseline,optimized
 *
 * Before the apps start, the cache Redis gets the access history a running deployment would have
 * (the previous week's reads and the same day's before the replay, through the api's own
 * recorder: history.ts), so the warmer plans as in production. The WARMUP_MINUTES before
 * SLICE_FROM are then replayed and not measured: they fill the caches as the minutes before a real
 * open would. The default slice is the open itself (09:30 New York), where the warmer's
 * refresh-ahead runs (every CACHE_WARMING_REFRESH_AHEAD_SECONDS in session) and its 5-minute cycle
 * run; the pre-open run (CACHE_WARMING_PREOPEN_MINUTES before the open) is inside the replay only
 * when the warm-up reaches back to it (WARMUP_MINUTES=31 or more: 30 min more of real time each).
 *
 * Real time, not compressed: the apps read the wall clock, and their timers, Redis expiry and the
 * rate limiter's Redis TIME run at the real rate, so a faster clock would disagree with them. The
 * processes' clocks are shifted (not sped up) to the slice's instant, and the slice is replayed at
 * its own rate. See bench/README.md, "End-to-end benchmark".
 */
import { DATA_TYPES, NyseCalendar, type AssetType, type DataType } from '@fiml/market';
import { DEFAULT_TTL_TABLE, TtlPolicy } from '@fiml/cache';
import { SIMULATED_PROFILES } from '@fiml/providers';
import { runInfo, runInfoLine, markdownTable, saveResults } from '../lib/report.js';
import { MarketWeek, workloadKey, type WorkloadRequest } from '../workload/market-week.js';
import { LowerBound, MAX_BATCH } from '../week/lower-bound.js';
import { CONFIGURATIONS, CONFIGURATION_NAMES, type ConfigurationName } from './configurations.js';
import {
  hitRate,
  READ_OUTCOMES,
  type LatencySummary,
  type ReadCounts,
  type ReadOutcome,
} from './replay.js';
import { acrossRunsTable, recordRun, runsLine } from './runs.js';
import { runSession, type SessionResult } from './session.js';
import { sourceLine, sourceState } from './source.js';
import { env, intEnv } from '../lib/env.js';

const SEED = intEnv('SEED', 1, 0);
const SLICE_FROM = env('SLICE_FROM', '2026-11-23T09:30:00-05:00');
const SLICE_MINUTES = intEnv('SLICE_MINUTES', 6, 1);
const WARMUP_MINUTES = intEnv('WARMUP_MINUTES', 3, 0);
const HISTORY = env('HISTORY', 'on') !== 'off';
const LEAD_SECONDS = intEnv('LEAD_SECONDS', 45, 5);
const CONNECTIONS = intEnv('CONNECTIONS', 256, 1);
const SAMPLE_SECONDS = intEnv('SAMPLE_SECONDS', 5, 1);
const RESULT_NAME = env('RESULT_NAME', 'e2e');
const CONFIGS = env('CONFIGS', CONFIGURATION_NAMES.join(','))
  .split(',')
  .map((c) => c.trim()) as ConfigurationName[];
for (const c of CONFIGS) {
  if (!CONFIGURATION_NAMES.includes(c)) {
    console.error(
      `CONFIGS: unknown configuration "${c}" (known: ${CONFIGURATION_NAMES.join(', ')})`,
    );
    process.exit(2);
  }
}
if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(SLICE_FROM) || !Number.isFinite(Date.parse(SLICE_FROM))) {
  console.error(`SLICE_FROM must be an ISO instant with an offset, got ${SLICE_FROM}`);
  process.exit(2);
}

const info = runInfo('bench:e2e');
const source = sourceState();
const from = Date.parse(SLICE_FROM);
const to = from + SLICE_MINUTES * 60_000;
const replayFrom = from - WARMUP_MINUTES * 60_000;
const week = new MarketWeek({ seed: SEED, window: { from: replayFrom, to } });
console.error(
  `generating the slice ${week.parameters.window.from} – ${week.parameters.window.to} (seed ${SEED})…`,
);
const requests: WorkloadRequest[] = [...week];

/**
 * What the measured slice asks for, before any cache: asset reads, keys first read in it (after the
 * warm-up), and the upstream-call lower bound of its reads given the warm-up's (fetches the measured
 * window needs: the bound's fetches over warm-up and slice, less those of the warm-up alone).
 */
function analyse(ttlTable: typeof DEFAULT_TTL_TABLE) {
  const policy = new TtlPolicy({ table: ttlTable, jitter: 0, calendar: new NyseCalendar() });
  const ttl = (dataType: DataType, assetType: AssetType, at: number) =>
    policy.ttl(dataType, assetType, at).ttlMs;
  const all = new LowerBound(week, ttl);
  const warm = new LowerBound(week, ttl);
  const reads: Record<string, number> = {};
  const seen = new Set<string>();
  const firstRead: Record<string, number> = {};
  for (const r of requests) {
    const measured = r.at >= from;
    for (const asset of r.assets) {
      const key = workloadKey(r.dataType, asset);
      all.read(dataTypeIndex(r.dataType), asset, r.at);
      if (!measured) warm.read(dataTypeIndex(r.dataType), asset, r.at);
      else {
        reads[r.dataType] = (reads[r.dataType] ?? 0) + 1;
        if (!seen.has(key)) firstRead[r.dataType] = (firstRead[r.dataType] ?? 0) + 1;
      }
      seen.add(key);
    }
  }
  const byProvider = Object.fromEntries(
    (Object.keys(MAX_BATCH) as (keyof typeof MAX_BATCH)[]).map((p) => [
      p,
      Math.ceil((all.fetches(p) - warm.fetches(p)) / MAX_BATCH[p]),
    ]),
  );
  return {
    reads,
    keysFirstReadInSlice: firstRead,
    lowerBound: { total: Object.values(byProvider).reduce((a, b) => a + b, 0), byProvider },
  };
}
/** LowerBound's data type order (price, fundamentals, news). */
function dataTypeIndex(dataType: DataType): number {
  return ({ price: 0, fundamentals: 1, news: 2 } as const)[dataType];
}
const marketHoursAlways = Object.fromEntries(
  DATA_TYPES.map((dt) => {
    const row = DEFAULT_TTL_TABLE[dt];
    return [dt, { ...row, afterHours: row.marketHours, weekendHoliday: row.marketHours }];
  }),
) as unknown as typeof DEFAULT_TTL_TABLE;
const slice = {
  optimized: analyse(DEFAULT_TTL_TABLE),
  baseline: analyse(marketHoursAlways),
};
const measuredRequests = requests.filter((r) => r.at >= from).length;
const totalReads = Object.values(slice.optimized.reads).reduce((a, b) => a + b, 0);
const totalKeys = Object.values(slice.optimized.keysFirstReadInSlice).reduce((a, b) => a + b, 0);
console.error(
  `${requests.length - measuredRequests} warm-up requests, then ${measuredRequests} measured requests ` +
    `(${totalReads} asset reads, ${totalKeys} keys first read in them); each configuration replays ` +
    `them in ${WARMUP_MINUTES + SLICE_MINUTES} min of real time`,
);

const results: Partial<Record<ConfigurationName, SessionResult>> = {};
for (const name of CONFIGS) {
  results[name] = await runSession({
    configuration: CONFIGURATIONS[name],
    seed: SEED,
    requests,
    from: replayFrom,
    measureFrom: from,
    leadMs: LEAD_SECONDS * 1000,
    connections: CONNECTIONS,
    sampleMs: SAMPLE_SECONDS * 1000,
    ...(HISTORY ? { history: { week, seed: SEED, until: replayFrom } } : {}),
  });
  const r = results[name].replay;
  console.error(
    `${name}: hit rate ${(100 * hitRate(r.reads)).toFixed(2)} %, upstream calls ${results[name].upstream.total}, ` +
      `p99 ${r.latency.p99} ms, failed requests ${r.failedRequests}`,
  );
}

// ---- report ----
const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;
const ms = (x: number | undefined): string => (x === undefined ? '–' : `${x.toFixed(1)}`);
const names = CONFIGS;
const both = names.includes('baseline') && names.includes('optimized');
const ratio = (f: (r: SessionResult) => number): string => {
  if (!both) return '';
  const b = f(results.baseline!);
  const o = f(results.optimized!);
  return b === 0 ? '–' : `${(o / b).toFixed(2)}x`;
};
const share = (reads: ReadCounts, ...outcomes: (keyof ReadCounts['outcomes'])[]) =>
  outcomes.reduce((n, o) => n + reads.outcomes[o], 0) / Math.max(1, reads.reads);
const row = (
  label: string,
  f: (r: SessionResult) => string,
  ratioOf?: (r: SessionResult) => number,
) => [label, ...names.map((n) => f(results[n]!)), ...(both ? [ratioOf ? ratio(ratioOf) : ''] : [])];
const lat = (l: LatencySummary) =>
  `${ms(l.mean)} / ${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} / ${ms(l.max)}`;
const peak = (r: SessionResult, proc: string, field: 'rss' | 'heapUsed') =>
  Math.max(0, ...r.samples.map((s) => s.processes[proc]?.[field] ?? 0));
const cpu = (r: SessionResult, proc: string) => {
  const s = r.samples
    .map((x) => x.processes[proc]?.cpuSeconds)
    .filter((x): x is number => x !== undefined);
  return s.length ? s[s.length - 1]! - s[0]! : 0;
};
const PROCS = ['api', 'batch-scheduler', 'warmer', 'sim-provider', 'redis-queue', 'redis-cache'];

const header = ['', ...names, ...(both ? ['optimized / baseline'] : [])];
const summary = markdownTable(header, [
  row(
    'warm-up, unmeasured: requests, hit rate',
    (r) => `${r.replay.warmup.requests}, ${pct(hitRate(r.replay.warmup.reads))}`,
  ),
  row('requests (asset reads)', (r) => `${r.replay.requests} (${r.replay.reads.reads})`),
  row('hit rate: fresh from L1 or L2', (r) => pct(hitRate(r.replay.reads))),
  row(
    '  of which L1 / L2',
    (r) => `${pct(share(r.replay.reads, 'l1'))} / ${pct(share(r.replay.reads, 'l2'))}`,
  ),
  row('stale served (inside the grace period)', (r) => pct(share(r.replay.reads, 'stale'))),
  row('misses (fetched upstream for the read)', (r) => pct(share(r.replay.reads, 'miss'))),
  row(
    'failed reads',
    (r) => `${r.replay.reads.outcomes.failed} (${pct(share(r.replay.reads, 'failed'))})`,
  ),
  row('  of which refused for budget (503, retry later)', (r) =>
    String(
      (r.replay.errorCodes.FIML_UPSTREAM_BUDGET_SPENT ?? 0) +
        (r.replay.errorCodes['batch item budget-spent'] ?? 0),
    ),
  ),
  row('failed requests (non-2xx or no answer)', (r) => String(r.replay.failedRequests)),
  row(
    "upstream calls (simulated provider's count)",
    (r) => String(r.upstream.total),
    (r) => r.upstream.total,
  ),
  row('  429s received', (r) =>
    String(Object.values(r.upstream.byProvider).reduce((n, p) => n + p.rateLimited, 0)),
  ),
  row('  5xx received', (r) =>
    String(Object.values(r.upstream.byProvider).reduce((n, p) => n + p.failed, 0)),
  ),
  row('  lower bound for the slice', (r) =>
    String(slice[r.configuration as ConfigurationName].lowerBound.total),
  ),
  row(
    'latency ms, mean / p50 / p95 / p99 / max',
    (r) => lat(r.replay.latency),
    (r) => r.replay.latency.mean,
  ),
  row(
    '  p99 only',
    (r) => ms(r.replay.latency.p99),
    (r) => r.replay.latency.p99,
  ),
  row(
    'latency ms of 2xx answers only, mean / p50 / p95 / p99 / max',
    (r) => lat(r.replay.latencyOk),
    (r) => r.replay.latencyOk.mean,
  ),
  row(
    'throughput, answers/s (asset reads/s)',
    (r) =>
      `${r.replay.throughput.requestsPerSecond.toFixed(1)} (${r.replay.throughput.readsPerSecond.toFixed(1)})`,
  ),
  row('batch-scheduler refresh jobs completed / failed (since start)', (r) => {
    const s = r.metrics['batch-scheduler'] as { jobsCompleted: number; jobsFailed: number };
    return `${s.jobsCompleted} / ${s.jobsFailed}`;
  }),
  row('warming runs (ran / idle), keys requested, precision (warmer metrics, since start)', (r) => {
    const w = r.metrics.warmer as {
      precision: number;
      keysRequested: number;
      runsByOutcome: Record<string, number>;
    };
    const runs = `${w.runsByOutcome.ran ?? 0} / ${w.runsByOutcome.idle ?? 0}`;
    if (
      CONFIGURATIONS[r.configuration as ConfigurationName].env.warmer.CACHE_WARMING_ENABLED ===
      'false'
    )
      return 'off';
    return `${runs}, ${w.keysRequested}, ${Number.isFinite(w.precision) && w.keysRequested > 0 ? pct(w.precision) : 'none yet'}`;
  }),
  row(
    "warm precision (api's GET /v1/cache/warming, since start): precision; warmed / used / wasted / pending",
    (r) => {
      if (
        CONFIGURATIONS[r.configuration as ConfigurationName].env.warmer.CACHE_WARMING_ENABLED ===
        'false'
      )
        return 'off';
      const t = r.warming?.totals;
      if (!t) return 'not answered';
      const p = typeof t.precision === 'number' ? pct(t.precision) : 'none settled';
      return `${p}; ${t.warmed ?? 0} / ${t.used ?? 0} / ${t.wasted ?? 0} / ${String(t.pending ?? 0)}`;
    },
  ),
  row('CPU s: api / scheduler / warmer / sim / redis q / redis c', (r) =>
    PROCS.map((p) => cpu(r, p).toFixed(1)).join(' / '),
  ),
  row('peak RSS MB: api / scheduler / warmer', (r) =>
    ['api', 'batch-scheduler', 'warmer']
      .map((p) => (peak(r, p, 'rss') / 1e6).toFixed(0))
      .join(' / '),
  ),
]);

const perType = markdownTable(
  [
    'data type',
    ...names.flatMap((n) => [
      `${n}: reads`,
      `${n}: hit rate`,
      `${n}: stale`,
      `${n}: mean / p99 ms`,
    ]),
  ],
  DATA_TYPES.map((dt) => [
    dt,
    ...names.flatMap((n) => {
      const r = results[n]!.replay;
      const reads = r.readsByDataType[dt];
      const l = r.latencyByDataType[dt];
      return reads
        ? [
            String(reads.reads),
            pct(hitRate(reads)),
            pct(share(reads, 'stale')),
            l ? `${ms(l.mean)} / ${ms(l.p99)}` : '–',
          ]
        : ['0', '–', '–', '–'];
    }),
  ]),
);

const outcomeLabel: Record<ReadOutcome, string> = {
  l1: 'all from L1',
  l2: 'L2 (no miss, none stale)',
  'not-found': 'a not-found',
  stale: 'a stale read (no miss)',
  miss: 'a miss fetched upstream',
  failed: 'a failed read (refusal included)',
};
const byOutcome = markdownTable(
  [
    'slowest read in the request',
    ...names.flatMap((n) => [`${n}: requests`, `${n}: mean / p50 / p99 ms`]),
  ],
  READ_OUTCOMES.map((o) => [
    outcomeLabel[o],
    ...names.flatMap((n) => {
      const l = results[n]!.replay.latencyByOutcome[o];
      return l ? [String(l.count), `${ms(l.mean)} / ${ms(l.p50)} / ${ms(l.p99)}`] : ['0', '–'];
    }),
  ]),
);

const upstreamTable = markdownTable(
  [
    'provider',
    ...names.flatMap((n) => [`${n}: calls (ok / 429 / 5xx)`, `${n}: symbols per ok call`]),
    'lower bound (optimized TTLs)',
  ],
  Object.keys(MAX_BATCH).map((p) => [
    p,
    ...names.flatMap((n) => {
      const c = results[n]!.upstream.byProvider[p];
      return c
        ? [
            `${c.calls} (${c.ok} / ${c.rateLimited} / ${c.failed})`,
            c.ok ? (c.symbolsServed / c.ok).toFixed(1) : '–',
          ]
        : ['–', '–'];
    }),
    String(slice.optimized.lowerBound.byProvider[p] ?? '–'),
  ]),
);

const timeline = (n: ConfigurationName) =>
  markdownTable(
    ['minute (New York)', 'requests', 'hit rate', 'stale', 'failed reads', 'p50 ms', 'p99 ms'],
    results[n]!.replay.timeline.map((b) => [
      new Date(b.from).toLocaleTimeString('en-US', {
        timeZone: 'America/New_York',
        hour12: false,
        hour: '2-digit',
        minute: '2-digit',
      }),
      String(b.requests),
      pct(hitRate(b.reads)),
      pct(share(b.reads, 'stale')),
      String(b.reads.outcomes.failed),
      ms(b.latency?.p50),
      ms(b.latency?.p99),
    ]),
  );

const errors = markdownTable(
  ['configuration', 'HTTP statuses', 'error codes'],
  names.map((n) => {
    const r = results[n]!.replay;
    const fmt = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || 'none';
    return [n, fmt(r.statusCodes), fmt(r.errorCodes)];
  }),
);

const shutdown = markdownTable(
  ['configuration', 'process: exit code on SIGTERM (ms to exit)'],
  names.map((n) => [
    n,
    results[n]!.shutdown.map(
      (s) =>
        `${s.name}: ${s.killed ? 'killed after 30 s' : (s.code ?? s.signal)} (${s.ms.toFixed(0)})`,
    ).join('; '),
  ]),
);

/** Where the lower bound alone needs more calls than a provider's rate limit allows in the window. */
function feasibility(): string {
  const notes = Object.entries(SIMULATED_PROFILES)
    .map(([, profile]) => {
      const perMinute = Math.min(...profile.rateLimits.map((w) => (w.limit * 60_000) / w.windowMs));
      const allowed = Math.floor(perMinute * SLICE_MINUTES);
      const bound = slice.optimized.lowerBound.byProvider[profile.id] ?? 0;
      return bound > allowed
        ? `${profile.id} (lower bound ${bound} calls, its limit allows ${allowed} in ${SLICE_MINUTES} min)`
        : undefined;
    })
    .filter(Boolean);
  return notes.length === 0
    ? ''
    : ` **No cache can serve every read of this window fresh within the limits of ${notes.join(', ')}**: ` +
        'reads of those keys beyond the budget fail (503, retry later) or are served stale in both configurations.';
}

function historyLine(): string {
  const h = names.map((n) => results[n]!.history).find((x) => x !== undefined);
  if (!h) {
    return '**Access history: none** (HISTORY=off): the warmer plans from the replayed minutes alone.';
  }
  return (
    `**Access history.** Before the apps start, the cache Redis receives what the api of a running ` +
    `deployment would have recorded: ${h.reads.toLocaleString('en-US')} reads of ${h.keys} keys, the ` +
    `previous week (${h.previousWeek.from}, the same generator with seed ${h.previousWeek.seed}, assets ` +
    `mapped onto this week's universe, as bench:week does) and this day until ${h.sameDayUntil}, ` +
    "written through the api's own recorder (@fiml/cache AccessRecorder) at their own instants " +
    `(${(h.ms / 1000).toFixed(0)} s per configuration, before the processes start). The warmer plans ` +
    'from it as in production; the baseline gets the same history and never reads it.'
  );
}

// ---- across runs ----
const figures: Record<string, number> = {};
for (const n of names) {
  const r = results[n]!;
  const t = r.warming?.totals;
  Object.assign(figures, {
    [`${n}: hit rate %`]: 100 * hitRate(r.replay.reads),
    [`${n}: stale %`]: 100 * share(r.replay.reads, 'stale'),
    [`${n}: failed reads %`]: 100 * share(r.replay.reads, 'failed'),
    [`${n}: upstream calls`]: r.upstream.total,
    [`${n}: mean ms`]: r.replay.latency.mean,
    [`${n}: p99 ms`]: r.replay.latency.p99,
    [`${n}: mean ms, 2xx only`]: r.replay.latencyOk.mean,
    [`${n}: p99 ms, 2xx only`]: r.replay.latencyOk.p99,
  });
  if (typeof t?.precision === 'number') figures[`${n}: warm precision %`] = 100 * t.precision;
}
const runKey = JSON.stringify({
  SEED,
  SLICE_FROM,
  SLICE_MINUTES,
  WARMUP_MINUTES,
  HISTORY,
  CONFIGS,
});
const runs = recordRun(RESULT_NAME, {
  date: info.date,
  key: runKey,
  commit: source.commit,
  loadAverageAtStart: info.loadAverageAtStart,
  figures,
});
const acrossRuns = acrossRunsTable(runs, (f, v) =>
  f.endsWith('calls') ? v.toFixed(0) : v.toFixed(f.endsWith('%') ? 2 : 1),
);

const ceiling = 1 - totalKeys / Math.max(1, totalReads);
const markdown = [
  '# End-to-end benchmark: a market open, baseline against optimized',
  '',
  runInfoLine(info),
  '',
  `Processor: **${info.cpu}** (${info.cores} cores). ${sourceLine(source)}`,
  '',
  `Workload: market-week, seed ${SEED}. Measured: ${new Date(from).toISOString()} – ${new Date(to).toISOString()} ` +
    `(${SLICE_FROM} for ${SLICE_MINUTES} min): ${measuredRequests} requests, ${totalReads} asset reads ` +
    `(${Object.entries(slice.optimized.reads)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}). Before it, ` +
    `${WARMUP_MINUTES} min of the workload (${requests.length - measuredRequests} requests) are replayed ` +
    'unmeasured, so the caches and the access history are not empty when measuring starts; every ' +
    'configuration starts from empty Redis servers and fresh processes at the warm-up. ' +
    `${totalKeys} keys are first read inside the measured window (${Object.entries(
      slice.optimized.keysFirstReadInSlice,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}): ` +
    `a cache that fetches only on reads can hit at most ${pct(ceiling)} of the measured reads. ` +
    "Every other workload parameter at the workload file's default.",
  '',
  historyLine(),
  '',
  '**Replayed in real time, not compressed.** The processes read the wall clock (systemClock) and ' +
    'have no setting for another one; their timers, Redis key expiry and the rate limiter (Redis TIME) ' +
    'run at the real rate, so a sped-up clock would disagree with them. Every Node process ' +
    `(apps and simulator) runs with its wall clock shifted to the replayed instant (timekeeper, preloaded), starting ` +
    `${LEAD_SECONDS} s before the warm-up; the load generator sends each request at its own instant (open loop, ` +
    `undici, ${CONNECTIONS} connections) and measures latency from that instant to the end of the answer.`,
  '',
  `Configurations: **baseline**: ${CONFIGURATIONS.baseline.description}; **optimized**: ` +
    `${CONFIGURATIONS.optimized.description}. Both: API_RATE_LIMIT_PER_MINUTE=0 and API_CLIENT_UPSTREAM_SHARE=1 ` +
    "(one load generator stands for many clients), the api at LOG_LEVEL=warn. Provider model: the simulated provider's " +
    'default profiles (market-week.md): equities-batch 100 symbols/call at 300 calls/min, crypto-batch ' +
    '250 at 30/min, reference-single 1 at 60/min, lognormal latency waited out, 429 with Retry-After, ' +
    '0.5 % of calls 503.',
  '',
  '## Summary',
  '',
  summary,
  '',
  "Hit rate counts asset reads answered fresh from L1 or L2 (the api's `cache` field); stale reads " +
    '(served inside the grace period while a refresh is queued) are counted apart; a failed read is one ' +
    'in a non-2xx answer or a batch item without data. Latency is per HTTP request (a batch is one).',
  '',
  `## Across runs (${runs.length} with these parameters)`,
  '',
  acrossRuns,
  '',
  `Runs: ${runsLine(runs)}. Every run is kept in bench/results/${RESULT_NAME}-runs.json.`,
  '',
  '## Latency by what the request held',
  '',
  byOutcome,
  '',
  'Each request is classed by the slowest kind of read it held (a batch of 40 hits and one miss is a ' +
    '`miss` request), from the `cache` field of each answer. Where the mean or p99 of a configuration ' +
    'comes from is read here: a miss waits for the coalescing window and the upstream call (the ' +
    "simulated provider's lognormal latency), a refusal answers at once.",
  '',
  '## By data type',
  '',
  perType,
  '',
  '## Upstream calls by provider',
  '',
  upstreamTable,
  '',
  'Counted by the simulated provider itself (every call that reached it). Lower bound: per key, a fetch ' +
    "at the first read after the previous value expired (TTL without jitter), divided by the provider's " +
    "batch size (bench/week/lower-bound.ts), for the measured window given the warm-up's reads." +
    feasibility(),
  '',
  ...names.flatMap((n) => [`## Minute by minute: ${n}`, '', timeline(n), '']),
  '## Errors',
  '',
  errors,
  '',
  '## Shutdown',
  '',
  shutdown,
  '',
  '## What the baseline cannot express',
  '',
  ...CONFIGURATIONS.baseline.notExpressible.map((x) => `- ${x}`),
  '',
  '_Indicative figures: the machine is shared and busy; the lead runs citable figures on a quiet machine._',
].join('\n');

saveResults(RESULT_NAME, markdown, {
  benchmark: 'e2e-market-open',
  ...info,
  source,
  parameters: {
    seed: SEED,
    sliceFrom: SLICE_FROM,
    sliceMinutes: SLICE_MINUTES,
    warmupMinutes: WARMUP_MINUTES,
    leadSeconds: LEAD_SECONDS,
    connections: CONNECTIONS,
    sampleSeconds: SAMPLE_SECONDS,
    configurations: CONFIGS,
    workload: week.parameters,
  },
  slice: {
    warmupRequests: requests.length - measuredRequests,
    requests: measuredRequests,
    reads: totalReads,
    keysFirstReadInSlice: totalKeys,
    ceiling,
    ...slice,
  },
  configurations: Object.fromEntries(CONFIGS.map((n) => [n, CONFIGURATIONS[n]])),
  acrossRuns: runs,
  results,
});
