/**
 * Stress run (and optional soak) against the real processes in their optimized configuration,
 * with the market-week provider model behind them:
 *
 *   pnpm --filter @fiml/bench bench:stress
 *   STRESS_SECONDS=20 CONNECTIONS=1000 SOAK_MINUTES=0 SEED=1 SLICE_FROM=2026-11-23T09:35:00-05:00
 *
 * 1. Warm-up: WARMUP_MINUTES of the workload from SLICE_FROM, replayed at its rate (caches and
 *    access history filled as in the middle of a session).
 * 2. Burst: 1,000 requests (CONNECTIONS) sent at the same instant, each on its own connection:
 *    how many fail, and how long the last one takes.
 * 3. Sustained: CONNECTIONS concurrent connections for STRESS_SECONDS (autocannon, closed loop),
 *    each request's path the next of the workload's requests: errors, non-2xx, p50 / p97.5 / p99.
 * 4. Soak (SOAK_MINUTES > 0, 10 when asked): the workload replayed on from there at its own rate
 *    for that long, open loop, with errors and p99 per minute.
 * 5. Settle (SETTLE_SECONDS, 60 by default): no load, to see whether the heap comes back down.
 * Throughout, every process's resident memory, V8 heap (apps), Redis used_memory and CPU are
 * sampled every SAMPLE_SECONDS and saved with the results.
 *
 * HEAP_SNAPSHOTS (on unless =off) starts the api with --heapsnapshot-signal and takes a heap snapshot after the
 * warm-up, after the sustained phase (and the soak) and after the settle: a snapshot follows a full
 * GC, so its size is what the api really holds, and its largest groups say what holds it
 * (heap-summary.ts). The snapshots go to a temporary directory and are deleted unless
 * KEEP_HEAP_SNAPSHOTS=on.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { waitFor } from '@fiml/testing';
import { Pool } from 'undici';
import { runInfo, runInfoLine, markdownTable, saveResults } from '../lib/report.js';
import { MarketWeek, type WorkloadRequest } from '../workload/market-week.js';
import { CONFIGURATIONS } from './configurations.js';
import { parsePrometheus, sumBy } from './prometheus.js';
import { hitRate, replay, requestPath, type ReplayResult } from './replay.js';
import { StackSampler, type StackSample } from './sampler.js';
import type { SimCounters } from './session.js';
import { sourceLine, sourceState } from './source.js';
import { acrossRunsTable, recordRun, runsLine } from './runs.js';
import { seedAccessHistory, type HistorySeeded } from './history.js';
import { summarizeHeapSnapshot, type HeapSummary } from './heap-summary.js';
import { getText, startStack, type ShutdownReport, type Stack } from './stack.js';
import { env, intEnv } from '../lib/env.js';

const SEED = intEnv('SEED', 1, 0);
const SLICE_FROM = env('SLICE_FROM', '2026-11-23T09:35:00-05:00');
const WARMUP_MINUTES = intEnv('WARMUP_MINUTES', 2, 0);
const CONNECTIONS = intEnv('CONNECTIONS', 1_000, 1);
const STRESS_SECONDS = intEnv('STRESS_SECONDS', 20, 1);
const SOAK_MINUTES = intEnv('SOAK_MINUTES', 0, 0);
const SAMPLE_SECONDS = intEnv('SAMPLE_SECONDS', 5, 1);
const LEAD_SECONDS = intEnv('LEAD_SECONDS', 30, 5);
const SETTLE_SECONDS = intEnv('SETTLE_SECONDS', 60, 0);
const HEAP_SNAPSHOTS = env('HEAP_SNAPSHOTS', 'on') !== 'off';
const HISTORY = env('HISTORY', 'on') !== 'off';
const KEEP_HEAP_SNAPSHOTS = env('KEEP_HEAP_SNAPSHOTS', 'off') === 'on';
const RESULT_NAME = env('RESULT_NAME', SOAK_MINUTES > 0 ? 'stress-soak' : 'stress');
if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(SLICE_FROM) || !Number.isFinite(Date.parse(SLICE_FROM))) {
  console.error(`SLICE_FROM must be an ISO instant with an offset, got ${SLICE_FROM}`);
  process.exit(2);
}

const info = runInfo('bench:stress');
const source = sourceState();
const from = Date.parse(SLICE_FROM);
const warmupEnd = from + WARMUP_MINUTES * 60_000;
// The stress and burst paths: the workload's requests right after the warm-up, in order.
const pathWindowEnd = warmupEnd + 5 * 60_000;
const soakEnd = warmupEnd + SOAK_MINUTES * 60_000;
const week = new MarketWeek({
  seed: SEED,
  window: { from, to: Math.max(pathWindowEnd, soakEnd) },
});
console.error(`generating the workload from ${SLICE_FROM} (seed ${SEED})…`);
const all: WorkloadRequest[] = [...week];
const warmupRequests = all.filter((r) => r.at < warmupEnd);
const paths = all.filter((r) => r.at >= warmupEnd && r.at < pathWindowEnd).map(requestPath);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function simCounters(stack: Stack): Promise<number> {
  const counters = JSON.parse(await getText(stack.simCountersUrl)) as SimCounters;
  return Object.values(counters).reduce(
    (n, c) => n + c.calls.ok + c.calls['rate-limited'] + c.calls.failed + c.calls['bad-request'],
    0,
  );
}

interface Burst {
  readonly requests: number;
  readonly ok: number;
  readonly statusCodes: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly maxMs: number;
}

/** CONNECTIONS requests at the same instant, one connection each (opened beforehand). */
async function burst(stack: Stack): Promise<Burst> {
  const pool = new Pool(stack.apiUrl, {
    connections: CONNECTIONS,
    pipelining: 1,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  try {
    // Open the connections first, so the burst measures requests, not TCP handshakes.
    await Promise.all(
      Array.from({ length: CONNECTIONS }, () =>
        pool.request({ method: 'GET', path: '/healthz' }).then((r) => r.body.dump()),
      ),
    );
    const statusCodes: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const t0 = performance.now();
    const times = await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, i) => {
        try {
          const r = await pool.request({ method: 'GET', path: paths[i % paths.length]! });
          await r.body.dump();
          statusCodes[r.statusCode] = (statusCodes[r.statusCode] ?? 0) + 1;
        } catch (error) {
          const code = (error as { code?: string }).code ?? 'error';
          errors[code] = (errors[code] ?? 0) + 1;
        }
        return performance.now() - t0;
      }),
    );
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]! * 10) / 10;
    return {
      requests: CONNECTIONS,
      ok: Object.entries(statusCodes)
        .filter(([s]) => s.startsWith('2'))
        .reduce((n, [, c]) => n + c, 0),
      statusCodes,
      errors,
      p50: at(0.5),
      p99: at(0.99),
      maxMs: at(1),
    };
  } finally {
    await pool.close();
  }
}

interface Sustained {
  readonly requests: number;
  readonly rps: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly max: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodes: Record<string, number>;
}

async function sustained(stack: Stack): Promise<Sustained> {
  let next = 0;
  const result = await autocannon({
    url: stack.apiUrl,
    connections: CONNECTIONS,
    duration: STRESS_SECONDS,
    timeout: 30,
    // One template whose path is the next workload request's (autocannon builds a long request
    // array per connection, which would slow the client itself).
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({ ...request, path: paths[next++ % paths.length]! }),
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [k, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[k] = v.count ?? 0;
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
  };
}

interface HeapSnapshotTaken {
  readonly phase: string;
  /** V8 heap in use from /metrics right after the snapshot (so after a full GC). */
  readonly heapUsedAfterGc: number | undefined;
  readonly file?: string;
  readonly summary: HeapSummary;
}

const snapshotDir = HEAP_SNAPSHOTS ? mkdtempSync(path.join(os.tmpdir(), 'fiml-heap-')) : '';

async function apiHeapUsed(stack: Stack): Promise<number | undefined> {
  const samples = parsePrometheus(await getText(`${stack.apiUrl}/metrics`).catch(() => ''));
  return samples.find((s) => s.name === 'nodejs_heap_size_used_bytes')?.value;
}

/** SIGUSR2 to the api, then waits for its snapshot to be written and summarizes it. */
async function heapSnapshot(stack: Stack, phase: string): Promise<HeapSnapshotTaken> {
  const api = stack.processes.find((p) => p.name === 'api')!;
  const before = new Set(readdirSync(snapshotDir));
  process.kill(api.pid, 'SIGUSR2');
  let lastSize = -1;
  const file = await waitFor(
    async () => {
      const name = readdirSync(snapshotDir).find(
        (f) => !before.has(f) && f.endsWith('.heapsnapshot'),
      );
      if (!name) return undefined;
      const full = path.join(snapshotDir, name);
      // The api writes the snapshot on its main thread: once it answers and the file stopped
      // growing, the snapshot is complete.
      const answered = await fetch(`${stack.apiUrl}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      })
        .then((r) => r.ok)
        .catch(() => false);
      const size = statSync(full).size;
      const done = answered && size > 0 && size === lastSize;
      lastSize = size;
      return done ? full : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 1_000, description: `the api's heap snapshot (${phase})` },
  );
  const heapUsedAfterGc = await apiHeapUsed(stack);
  console.error(
    `heap snapshot ${phase}: ${file}, heap used after it ${((heapUsedAfterGc ?? 0) / 1e6).toFixed(0)} MB; summarizing…`,
  );
  const summary = summarizeHeapSnapshot(file, 20);
  if (!KEEP_HEAP_SNAPSHOTS) rmSync(file);
  return { phase, heapUsedAfterGc, ...(KEEP_HEAP_SNAPSHOTS ? { file } : {}), summary };
}

console.error('starting redis x2, sim-provider, api, batch-scheduler, warmer (optimized)…');
const stack = await startStack({
  configuration: CONFIGURATIONS.optimized,
  seed: SEED,
  // Taken when the processes launch, after the access history is written.
  clockOffsetMs: () => from - LEAD_SECONDS * 1000 - Date.now(),
  ...(HISTORY
    ? {
        prepareCache: (url: string) => {
          console.error('writing the access history into the cache Redis…');
          return seedAccessHistory(url, { week, seed: SEED, until: from });
        },
      }
    : {}),
  ...(HEAP_SNAPSHOTS
    ? { nodeOptions: { api: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` } }
    : {}),
});
const { clockOffsetMs } = stack;
const history = stack.prepared as HistorySeeded | undefined;
const snapshots: HeapSnapshotTaken[] = [];
const sampler = new StackSampler(stack, SAMPLE_SECONDS * 1000);
sampler.start();
const marks: { phase: string; t: number }[] = [];
const mark = (phase: string) => {
  marks.push({ phase, t: sampler.samples.at(-1)?.t ?? 0 });
  console.error(phase);
};
let shutdown: ShutdownReport[] = [];
let warm: ReplayResult | undefined;
let burstResult: Burst;
let sustainedResult: Sustained;
let soak: ReplayResult | undefined;
const calls: Record<string, number> = {};
let apiProviderOutcomes: Record<string, number> = {};
try {
  await sleep(from - (Date.now() + clockOffsetMs));
  mark(`warm-up: ${warmupRequests.length} requests over ${WARMUP_MINUTES} min`);
  if (warmupRequests.length > 0) {
    warm = await replay({
      apiUrl: stack.apiUrl,
      requests: warmupRequests,
      from,
      clockOffsetMs,
      connections: 256,
    });
  }
  if (HEAP_SNAPSHOTS) snapshots.push(await heapSnapshot(stack, 'after the warm-up'));
  let before = await simCounters(stack);
  mark(`burst: ${CONNECTIONS} requests at once`);
  burstResult = await burst(stack);
  calls.burst = (await simCounters(stack)) - before;
  before = await simCounters(stack);
  mark(`sustained: ${CONNECTIONS} connections for ${STRESS_SECONDS} s`);
  sustainedResult = await sustained(stack);
  calls.sustained = (await simCounters(stack)) - before;
  if (SOAK_MINUTES > 0) {
    // The soak picks the workload up where the processes' clock now is.
    const now = Date.now() + clockOffsetMs;
    const soakRequests = all
      .filter((r) => r.at >= warmupEnd)
      .map((r) => ({ ...r, at: r.at - warmupEnd + now }));
    const end = now + SOAK_MINUTES * 60_000;
    before = await simCounters(stack);
    mark(`soak: the workload at its own rate for ${SOAK_MINUTES} min`);
    soak = await replay({
      apiUrl: stack.apiUrl,
      requests: soakRequests.filter((r) => r.at < end),
      from: now,
      clockOffsetMs,
      connections: 256,
    });
    calls.soak = (await simCounters(stack)) - before;
  }
  if (HEAP_SNAPSHOTS)
    snapshots.push(await heapSnapshot(stack, `after the ${soak ? 'soak' : 'sustained phase'}`));
  if (SETTLE_SECONDS > 0) {
    mark(`settle: no load for ${SETTLE_SECONDS} s`);
    await sleep(SETTLE_SECONDS * 1000);
    if (HEAP_SNAPSHOTS) snapshots.push(await heapSnapshot(stack, 'after the settle'));
  }
  mark('done');
  apiProviderOutcomes = sumBy(
    parsePrometheus(await getText(`${stack.apiUrl}/metrics`)),
    'fiml_provider_requests_total',
    'outcome',
  );
} finally {
  await sampler.stop();
  shutdown = await stack.stop();
  if (HEAP_SNAPSHOTS && !KEEP_HEAP_SNAPSHOTS) rmSync(snapshotDir, { recursive: true, force: true });
}
const samples: StackSample[] = sampler.samples;

// ---- report ----
const PROCS = ['api', 'batch-scheduler', 'warmer', 'sim-provider', 'redis-queue', 'redis-cache'];
const mb = (b: number | undefined) => (b === undefined ? '–' : (b / 1e6).toFixed(0));
const sampleAt = (t: number) =>
  samples.reduce((best, s) => (Math.abs(s.t - t) < Math.abs(best.t - t) ? s : best), samples[0]!);
const memoryTable = markdownTable(
  [
    'process',
    ...marks.map((m) => `RSS MB at ${m.phase.split(':')[0]}`),
    'peak RSS MB',
    'heap MB: first / last / peak',
  ],
  PROCS.map((p) => {
    const heaps = samples
      .map((s) => s.processes[p]?.heapUsed ?? s.processes[p]?.redisUsedMemory)
      .filter((x): x is number => x !== undefined);
    return [
      p,
      ...marks.map((m) => mb(sampleAt(m.t).processes[p]?.rss)),
      mb(Math.max(0, ...samples.map((s) => s.processes[p]?.rss ?? 0))),
      heaps.length ? `${mb(heaps[0])} / ${mb(heaps.at(-1))} / ${mb(Math.max(...heaps))}` : '–',
    ];
  }),
);

/** Least-squares slope of RSS over the soak's second half, MB per minute (growth that does not level off). */
function soakSlope(p: string): string {
  const start = marks.find((m) => m.phase.startsWith('soak'));
  const end =
    marks.find((m) => m.phase.startsWith('settle')) ?? marks.find((m) => m.phase === 'done');
  if (!start || !end) return '–';
  const half = (start.t + end.t) / 2;
  const pts = samples.filter(
    (s) => s.t >= half && s.t <= end.t && s.processes[p]?.rss !== undefined,
  );
  if (pts.length < 3) return '–';
  const xs = pts.map((s) => s.t / 60);
  const ys = pts.map((s) => s.processes[p]!.rss! / 1e6);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope =
    xs.reduce((n, x, i) => n + (x - mx) * (ys[i]! - my), 0) /
    xs.reduce((n, x) => n + (x - mx) ** 2, 0);
  return slope.toFixed(2);
}

const soakMinutes = soak
  ? markdownTable(
      [
        'minute',
        'requests',
        'hit rate',
        'failed reads',
        'p99 ms',
        ...PROCS.slice(0, 3).map((p) => `${p} RSS / heap MB`),
      ],
      soak.timeline.map((b, i) => {
        const start = marks.find((m) => m.phase.startsWith('soak'))!.t;
        const s = sampleAt(start + (i + 1) * 60);
        return [
          String(i + 1),
          String(b.requests),
          `${(100 * hitRate(b.reads)).toFixed(2)} %`,
          String(b.reads.outcomes.failed),
          String(b.latency?.p99 ?? '–'),
          ...PROCS.slice(0, 3).map(
            (p) => `${mb(s.processes[p]?.rss)} / ${mb(s.processes[p]?.heapUsed)}`,
          ),
        ];
      }),
    )
  : '';

const heapSection = snapshots.length
  ? [
      '## What the api holds (heap snapshots)',
      '',
      markdownTable(
        [
          'snapshot',
          'V8 heap used after it (full GC), MB',
          'live objects',
          'largest groups (shallow MB, count)',
        ],
        snapshots.map((x) => [
          x.phase,
          mb(x.heapUsedAfterGc),
          String(x.summary.nodes),
          x.summary.top
            .slice(0, 6)
            .map(
              (g) =>
                `${g.type}${g.name ? ` ${g.name}` : ''}: ${(g.bytes / 1e6).toFixed(1)} (${g.count})`,
            )
            .join('; '),
        ]),
      ),
      '',
      'A heap snapshot is taken after a full garbage collection: what it holds is reachable. The ' +
        'sampled heap above (nodejs_heap_size_used_bytes between collections) includes garbage not ' +
        'yet collected. Groups: node type and constructor (heap-summary.ts); the top 20 of each ' +
        'snapshot are in the JSON.',
      '',
    ]
  : [];

const b = burstResult!;
const st = sustainedResult!;
const apiHeaps = samples
  .map((x) => x.processes.api?.heapUsed)
  .filter((x): x is number => x !== undefined);
const apiRss = samples.map((x) => x.processes.api?.rss ?? 0);
const runFigures: Record<string, number> = {
  'burst: 2xx of 1,000': b.ok,
  'burst: p99 ms': b.p99,
  'sustained: req/s': st.rps,
  'sustained: p99 ms': st.p99,
  'sustained: non-2xx %': (100 * st.non2xx) / Math.max(1, st.requests),
  'sustained: errors (transport)': st.errors,
  'api: peak RSS MB': Math.max(0, ...apiRss) / 1e6,
  'api: peak sampled heap MB': Math.max(0, ...apiHeaps) / 1e6,
  'api: last sampled heap MB': (apiHeaps.at(-1) ?? Number.NaN) / 1e6,
};
for (const x of snapshots) {
  runFigures[`api heap after GC, ${x.phase}, MB`] = (x.heapUsedAfterGc ?? Number.NaN) / 1e6;
}
if (soak) {
  runFigures['soak: p99 ms'] = soak.latency.p99;
  runFigures['soak: failed requests'] = soak.failedRequests;
}
const runs = recordRun(RESULT_NAME, {
  date: info.date,
  key: JSON.stringify({
    SEED,
    SLICE_FROM,
    WARMUP_MINUTES,
    CONNECTIONS,
    STRESS_SECONDS,
    SOAK_MINUTES,
  }),
  commit: source.commit,
  loadAverageAtStart: info.loadAverageAtStart,
  figures: runFigures,
});
const fmt = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ') || 'none';
const markdown = [
  `# Stress run${soak ? ` and ${SOAK_MINUTES}-minute soak` : ''}: the optimized processes under 1,000 concurrent requests`,
  '',
  runInfoLine(info),
  '',
  `Processor: **${info.cpu}** (${info.cores} cores). ${sourceLine(source)}`,
  '',
  `The real processes (api, batch-scheduler, warmer, a queue and a cache redis-server, the simulated ` +
    `provider with the market-week provider model) in the optimized configuration (documented defaults; ` +
    `API_RATE_LIMIT_PER_MINUTE=0 and API_CLIENT_UPSTREAM_SHARE=1 as one load generator stands for many clients, the api at LOG_LEVEL=warn), their clocks shifted to ${SLICE_FROM}. ` +
    `Workload: market-week, seed ${SEED}; ${WARMUP_MINUTES} min of it replayed first at its own rate ` +
    `(${warmupRequests.length} requests${warm ? `, hit rate ${(100 * hitRate(warm.reads)).toFixed(2)} %` : ''}), ` +
    `then the stress requests take the paths of the ${paths.length} requests that follow, in order ` +
    `(single reads and 10–50-symbol batches; price, news, fundamentals). The load generator runs in ` +
    `this process on the same two cores as everything else. ` +
    (history
      ? `Before the apps start, the cache Redis receives the access history a running deployment has ` +
        `(${history.reads.toLocaleString('en-US')} reads of ${history.keys} keys: the previous week and ` +
        `this day until the warm-up, through the api's own recorder; see e2e.md), so the warmer works as in production.`
      : 'No access history (HISTORY=off): the warmer plans from the warm-up alone.'),
  '',
  `## Across runs (${runs.length} with these parameters)`,
  '',
  acrossRunsTable(runs, (f, v) => (f.includes('%') ? v.toFixed(2) : v.toFixed(0))),
  '',
  `Runs: ${runsLine(runs)}. Every run is kept in bench/results/${RESULT_NAME}-runs.json.`,
  '',
  `## Burst: ${CONNECTIONS} requests at the same instant`,
  '',
  markdownTable(
    [
      'requests',
      '2xx',
      'HTTP statuses',
      'transport errors',
      'p50 ms',
      'p99 ms',
      'last answer ms',
      'upstream calls',
    ],
    [
      [
        String(b.requests),
        String(b.ok),
        fmt(b.statusCodes),
        fmt(b.errors),
        String(b.p50),
        String(b.p99),
        String(b.maxMs),
        String(calls.burst),
      ],
    ],
  ),
  '',
  `## Sustained: ${CONNECTIONS} concurrent connections for ${STRESS_SECONDS} s (autocannon)`,
  '',
  markdownTable(
    [
      'requests',
      'req/s',
      'p50 ms',
      'p97.5 ms',
      'p99 ms',
      'max ms',
      'errors (timeouts)',
      'non-2xx',
      'HTTP statuses',
      'upstream calls',
    ],
    [
      [
        String(st.requests),
        st.rps.toFixed(0),
        String(st.p50),
        String(st.p97_5),
        String(st.p99),
        String(st.max),
        `${st.errors} (${st.timeouts})`,
        String(st.non2xx),
        fmt(st.statusCodes),
        String(calls.sustained),
      ],
    ],
  ),
  '',
  'A non-2xx here is mostly the api refusing a miss whose provider budget is spent (503 with ' +
    'Retry-After, FIML_UPSTREAM_BUDGET_SPENT) or shedding load (503 past API_MAX_EVENT_LOOP_DELAY_MS); ' +
    `the api's own provider calls ended: ${fmt(apiProviderOutcomes)}.`,
  '',
  ...(soak
    ? [
        `## Soak: ${SOAK_MINUTES} min of the workload at its own rate`,
        '',
        markdownTable(
          [
            'requests',
            'hit rate',
            'failed requests',
            'failed reads',
            'p50 ms',
            'p99 ms',
            'max ms',
            'upstream calls',
            'RSS slope, 2nd half, MB/min: api / scheduler / warmer',
          ],
          [
            [
              String(soak.requests),
              `${(100 * hitRate(soak.reads)).toFixed(2)} %`,
              String(soak.failedRequests),
              String(soak.reads.outcomes.failed),
              String(soak.latency.p50),
              String(soak.latency.p99),
              String(soak.latency.max),
              String(calls.soak),
              ['api', 'batch-scheduler', 'warmer'].map(soakSlope).join(' / '),
            ],
          ],
        ),
        '',
        soakMinutes,
        '',
      ]
    : ['Soak: off (SOAK_MINUTES=10 runs one).', '']),
  `## Memory (sampled every ${SAMPLE_SECONDS} s)`,
  '',
  memoryTable,
  '',
  "RSS from /proc (VmRSS); heap is V8 heap in use from each app's /metrics (nodejs_heap_size_used_bytes), " +
    'or used_memory for the redis-servers; the simulator has no metrics. Every sample is in the JSON.',
  '',
  ...heapSection,
  '## Shutdown',
  '',
  shutdown
    .map(
      (s) =>
        `${s.name}: ${s.killed ? 'killed after 30 s' : `exit ${s.code ?? s.signal}`} in ${s.ms.toFixed(0)} ms`,
    )
    .join('; '),
  '',
  '_Indicative figures: the machine is shared and busy; the lead runs citable figures on a quiet machine._',
].join('\n');

saveResults(RESULT_NAME, markdown, {
  benchmark: 'stress',
  ...info,
  source,
  parameters: {
    seed: SEED,
    sliceFrom: SLICE_FROM,
    warmupMinutes: WARMUP_MINUTES,
    connections: CONNECTIONS,
    stressSeconds: STRESS_SECONDS,
    soakMinutes: SOAK_MINUTES,
    sampleSeconds: SAMPLE_SECONDS,
    configuration: CONFIGURATIONS.optimized,
    workload: week.parameters,
  },
  history,
  warmup: warm,
  burst: burstResult!,
  sustained: sustainedResult!,
  soak,
  upstreamCalls: calls,
  apiProviderOutcomes,
  marks,
  samples,
  heapSnapshots: snapshots,
  acrossRuns: runs,
  shutdown,
});
