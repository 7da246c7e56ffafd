/**
 * Batch-scheduler throughput: refresh requests through the batch-scheduler as
 * its process builds it (`createBatchScheduler(config)`, config parsed from
 * `batchSchedulerEnv`), against the simulated provider with zero latency and
 * no failures (in this process for the targets, and once more over its HTTP
 * server), beside raw BullMQ no-op job throughput measured in the same run, on
 * the same redis-server, with the same worker concurrency, job options and
 * payloads.
 *
 *   pnpm --filter @fiml/bench bench:scheduler   (ROUNDS=3 REQUESTS=20000 by default)
 *
 * One round runs three candidates, in an order that rotates per round so
 * machine noise hits them alike:
 * - raw: a BullMQ Queue + Worker with an empty processor; `addBulk` of
 *   REQUESTS refresh-shaped jobs; time until the worker completed them all.
 * - 1 symbol: REQUESTS refresh requests of one distinct symbol each; time from
 *   the first `addBulk` until every symbol's entry is in L2.
 * - 10 symbols: REQUESTS requests of ten distinct symbols each (10 x REQUESTS
 *   distinct symbols); same clock.
 * - 10 symbols over HTTP: the same, the provider behind the simulator's HTTP
 *   server (what a real upstream adds: transport, JSON, response validation).
 * Each scheduler candidate gets a freshly built scheduler with its own queue,
 * cache and rate-limit prefixes, so no key is already pending, in flight or
 * cached, and deduplication saves nothing: every symbol costs its share of a
 * call and one L2 write. Not a test: nothing here passes or fails.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { Queue, Worker, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { createBatchScheduler, type BatchSchedulerApp } from '@fiml/batch-scheduler';
import { cacheKey } from '@fiml/cache';
import { loadConfig } from '@fiml/config';
import { batchSchedulerEnv } from '@fiml/batch-scheduler/config';
import {
  SIMULATED_PROFILES,
  type AssetRef,
  type PriceQuote,
  type SimulatedProfile,
} from '@fiml/providers';
import { SimulatedMarket, SimulatedProvider, startSimulatedProviderServer } from '@fiml/simulator';
import {
  BULLMQ_PRIORITY,
  QueueName,
  REFRESH_JOB_NAME,
  REFRESH_JOB_OPTIONS,
  parseRefreshRequest,
  queuePrefix,
  type RefreshRequest,
} from '@fiml/queue';
import { connectionOptionsFor } from '@fiml/runtime';
import { startRedisServer } from '@fiml/testing';
import {
  fixed,
  markdownTable,
  median,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const REQUESTS = Number(process.env.REQUESTS ?? 20_000);
/** Requests per warm-up candidate (JIT, Lua script loading, connection set-up); not reported. */
const WARMUP_REQUESTS = Number(process.env.WARMUP_REQUESTS ?? 2_000);
const CONCURRENCY = 8;
const BATCH_SIZE = 100;
const INTERVAL_S = 1;
/** Jobs per addBulk: one round trip each, for the raw queue and the refresh queue alike. */
const BULK = 1_000;
const SYMBOLS_PER_WIDE_REQUEST = 10;
/** Longest one candidate may take before the run gives up on it. */
const CANDIDATE_TIMEOUT_MS = Number(process.env.CANDIDATE_TIMEOUT_MS ?? 600_000);
/**
 * ONLY=ten (or raw,ten, ...): a development run of those candidates, one round
 * after the warm-up, printed and not saved. With CPU_PROF_DIR=<dir> as well,
 * each measured candidate's run (and only it: no set-up, no warm-up) is
 * profiled to <dir>/<candidate>.cpuprofile.
 */
const ONLY = process.env.ONLY?.split(',').filter(Boolean);
const CPU_PROF_DIR = ONLY ? process.env.CPU_PROF_DIR : undefined;

const TARGETS = { oneSymbol: 0.5, tenSymbols: 3, callsPerSymbol: 1.05 / BATCH_SIZE } as const;

const info = runInfo('bench:scheduler');

/** The commit measured, and whether the scheduler's sources differed from it (tsx runs the working tree). */
function sourceState(): { commit: string; dirty: readonly string[] } {
  const git = (...args: string[]): string =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', '--', '../apps/batch-scheduler/src', '../packages')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}
const source = sourceState();
const redisServer = await startRedisServer();
// Zero latency (delay off), no failures, and the equities upstream's own limit far above the run's calls.
const equities: SimulatedProfile = {
  ...SIMULATED_PROFILES['equities-batch'],
  rateLimits: [{ limit: 10_000_000, windowMs: 60_000 }],
  failureRate: 0,
};
const sim = await startSimulatedProviderServer({
  seed: 'bench-scheduler',
  failureRate: 0,
  market: { equities: SYMBOLS_PER_WIDE_REQUEST * REQUESTS, crypto: 10 },
  profiles: [equities, 'crypto-batch', 'reference-single'],
});
const universe = sim.market.universe.equity;

/**
 * The in-process rows' upstream: the simulator's market with every quote the
 * run asks for computed before any clock starts, so the zero-latency provider
 * also costs no CPU and rows 1 and 2 measure the scheduler alone (the price
 * model's work, about 12 µs a quote, would be the upstream's, on its own
 * machine). Row 2b keeps the whole simulator behind its HTTP server.
 */
class PrecomputedMarket extends SimulatedMarket {
  readonly #quotes = new Map<string, PriceQuote>();

  prepare(symbols: readonly string[], at: number, provider: string): void {
    for (const symbol of symbols) {
      const quote = super.quote({ symbol, assetType: 'equity' }, at, provider);
      if (quote) this.#quotes.set(symbol, quote);
    }
  }

  override quote(asset: AssetRef, now: number, provider: string): PriceQuote | undefined {
    return (
      (asset.assetType === 'equity' ? this.#quotes.get(asset.symbol) : undefined) ??
      super.quote(asset, now, provider)
    );
  }
}
const precomputed = new PrecomputedMarket({
  seed: 'bench-scheduler',
  universe: { equity: universe, crypto: sim.market.universe.crypto },
});
precomputed.prepare(
  universe.slice(0, SYMBOLS_PER_WIDE_REQUEST * Math.max(REQUESTS, WARMUP_REQUESTS)),
  performance.timeOrigin + performance.now(),
  equities.id,
);
const admin = new Redis(redisServer.url, connectionOptionsFor('worker'));

/** The refresh requests of one candidate: `perRequest` distinct symbols each, none shared. */
function requests(count: number, perRequest: number): RefreshRequest[] {
  return Array.from({ length: count }, (_, i) =>
    parseRefreshRequest({
      symbols: universe.slice(i * perRequest, (i + 1) * perRequest),
      assetType: 'equity',
      dataType: 'price',
      source: 'bench',
    }),
  );
}

/** Exactly what `enqueueRefresh` gives a normal-priority request, for both queues. */
const JOB_OPTIONS: JobsOptions = { ...REFRESH_JOB_OPTIONS, priority: BULLMQ_PRIORITY.normal };

async function producer(
  prefix: string,
): Promise<{ readonly queue: Queue; readonly close: () => Promise<void> }> {
  // A producer-role connection, as the api enqueues with.
  const connection = new Redis(redisServer.url, {
    ...connectionOptionsFor('producer'),
    lazyConnect: true,
  });
  await connection.connect();
  const queue = new Queue(QueueName.REFRESH, { connection, prefix: queuePrefix(prefix) });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

async function enqueue(queue: Queue, batch: readonly RefreshRequest[]): Promise<void> {
  for (let i = 0; i < batch.length; i += BULK) {
    await queue.addBulk(
      batch.slice(i, i + BULK).map((data) => ({ name: REFRESH_JOB_NAME, data, opts: JOB_OPTIONS })),
    );
  }
}

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not done after ${CANDIDATE_TIMEOUT_MS} ms`)),
      CANDIDATE_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface RawRun {
  readonly jobs: number;
  readonly ms: number;
  readonly jobsPerSecond: number;
}

/** Raw BullMQ: an empty processor at the same concurrency, the same jobs. */
async function runRaw(batch: readonly RefreshRequest[]): Promise<RawRun> {
  const prefix = `bench-raw-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(redisServer.url, connectionOptionsFor('worker'));
  // The no-op processor: BullMQ's own cost of fetching, locking and completing a job.
  const worker = new Worker(QueueName.REFRESH, () => Promise.resolve(), {
    connection,
    prefix: queuePrefix(prefix),
    concurrency: CONCURRENCY,
  });
  await worker.waitUntilReady();
  const { queue, close } = await producer(prefix);
  try {
    let completed = 0;
    let finished = 0;
    const done = new Promise<void>((resolve) => {
      worker.on('completed', () => {
        completed += 1;
        if (completed === batch.length) {
          finished = performance.now();
          resolve();
        }
      });
    });
    const started = performance.now();
    await enqueue(queue, batch);
    await deadline(done, 'raw BullMQ');
    const ms = finished - started;
    return { jobs: batch.length, ms, jobsPerSecond: (batch.length / ms) * 1_000 };
  } finally {
    await worker.close();
    connection.disconnect();
    await close();
  }
}

interface SchedulerRun {
  readonly requests: number;
  readonly symbols: number;
  readonly ms: number;
  readonly requestsPerSecond: number;
  readonly symbolsPerSecond: number;
  /** When the last intake job completed (all keys pending or claimed), ms from the first add. */
  readonly intakeMs: number;
  readonly upstreamCalls: number;
  readonly callsPerSymbol: number;
  readonly flushes: number;
  readonly meanKeysPerFlush: number;
}

/**
 * How the scheduler reaches the simulated provider: in this process (the
 * zero-latency provider the targets are measured with: what is left is the
 * scheduler's own cost), or over HTTP (the same market behind the simulator's
 * server: adds the transport, JSON and response validation of a real upstream).
 */
type Transport = 'in-process' | 'http';

function schedulerApp(transport: Transport): { app: BatchSchedulerApp; prefix: string } {
  const run = randomUUID().slice(0, 8);
  const config = loadConfig(batchSchedulerEnv, {
    dotenvPath: false,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // Queue (pending sets, batch queues) and cache (L2, rate limits) in separate databases of one server.
      REDIS_QUEUE_URL: `${redisServer.url}/0`,
      REDIS_CACHE_URL: `${redisServer.url}/1`,
      QUEUE_PREFIX: `bench-q-${run}`,
      CACHE_KEY_PREFIX: `bench-c-${run}`,
      PROVIDER_RATE_LIMIT_PREFIX: `bench-rl-${run}`,
      SIM_PROVIDER_URL: sim.url,
      // Far above the run's calls: the limiter is consulted on every call but never binds.
      PROVIDER_RATE_LIMITS:
        'sim-equities=10000000/min;sim-crypto=10000000/min;sim-reference=10000000/min',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      CACHE_BATCH_ENABLED: 'true',
      CACHE_BATCH_SIZE: String(BATCH_SIZE),
      CACHE_BATCH_INTERVAL: String(INTERVAL_S),
      METRICS_PORT: '0',
    },
  });
  const upstream =
    transport === 'in-process'
      ? [new SimulatedProvider({ profile: equities, market: precomputed, failureRate: 0 })]
      : undefined;
  return {
    app: createBatchScheduler(config, upstream ? { upstream } : {}),
    prefix: config.QUEUE_PREFIX,
  };
}

/** The batch-scheduler, from the first add until every symbol's entry is in L2. */
async function runScheduler(
  batch: readonly RefreshRequest[],
  transport: Transport,
): Promise<SchedulerRun> {
  const { app, prefix } = schedulerApp(transport);
  const scheduler = app.scheduler;
  if (!scheduler) throw new Error('CACHE_BATCH_ENABLED=true built no scheduler');
  const { queue, close } = await producer(prefix);
  try {
    await app.worker.worker.waitUntilReady();
    const keys = batch.flatMap((r) => r.symbols.map((s) => cacheKey(r.dataType, r.assetType, s)));
    let calls = 0;
    app.providers.on('call', () => {
      calls += 1;
    });
    let flushes = 0;
    scheduler.on('flush', () => {
      flushes += 1;
    });
    // The write event fires once the batch's L2 write has resolved: every entry counted is in L2.
    let stored = 0;
    let failedWrites = 0;
    let finished = 0;
    const allStored = new Promise<void>((resolve) => {
      scheduler.on('write', ({ outcomes }) => {
        for (const outcome of outcomes) {
          if (outcome.status === 'failed') failedWrites += 1;
          else stored += 1;
        }
        if (stored === keys.length) {
          finished = performance.now();
          resolve();
        }
      });
    });
    let intake = 0;
    let intakeDone = 0;
    app.worker.worker.on('completed', () => {
      intake += 1;
      if (intake === batch.length) intakeDone = performance.now();
    });

    const started = performance.now();
    await enqueue(queue, batch);
    await deadline(allStored, 'batch-scheduler');
    const ms = finished - started;

    // Check, untimed: every symbol's entry is in L2, read back through the writer.
    let missing = 0;
    for (let i = 0; i < keys.length; i += 1_000) {
      for (const entry of await app.writer.peek(keys.slice(i, i + 1_000))) if (!entry) missing += 1;
    }
    if (missing > 0 || failedWrites > 0) {
      throw new Error(`${missing} entries missing from L2, ${failedWrites} writes failed`);
    }
    return {
      requests: batch.length,
      symbols: keys.length,
      ms,
      requestsPerSecond: (batch.length / ms) * 1_000,
      symbolsPerSecond: (keys.length / ms) * 1_000,
      intakeMs: intakeDone - started,
      upstreamCalls: calls,
      callsPerSymbol: calls / keys.length,
      flushes,
      meanKeysPerFlush: keys.length / Math.max(1, flushes),
    };
  } finally {
    await close();
    await app.close();
  }
}

type Candidate = 'raw' | 'one' | 'ten' | 'tenHttp';
const CANDIDATES: readonly Candidate[] = ['raw', 'one', 'ten', 'tenHttp'];
const LABEL: Readonly<Record<Candidate, string>> = {
  raw: 'raw BullMQ',
  one: '1-symbol requests',
  ten: '10-symbol requests',
  tenHttp: '10-symbol requests, provider over HTTP',
};

interface Round {
  readonly order: readonly Candidate[];
  readonly raw: RawRun;
  readonly one: SchedulerRun;
  readonly ten: SchedulerRun;
  readonly tenHttp: SchedulerRun;
  readonly costs: Readonly<Record<Candidate, Cost>>;
}

/** What one candidate cost: CPU of this process and of redis-server, and Redis's busiest commands. */
interface Cost {
  /** CPU time of this process (scheduler or raw worker, producer and simulator alike), ms. */
  readonly nodeCpuMs: number;
  /** CPU time of redis-server, ms. */
  readonly redisCpuMs: number;
  /** Redis commands by total time spent in them (scripts appear as evalsha or fcall). */
  readonly redisCommands: readonly {
    command: string;
    calls: number;
    usec: number;
    usecPerCall: number;
  }[];
}

async function redisCpuMs(): Promise<number> {
  const text = await admin.info('cpu');
  const field = (name: string): number =>
    Number(text.match(new RegExp(`${name}:([\\d.]+)`))?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1_000;
}

/** Runs `run` under the CPU profiler, saving the profile to `file`. */
async function profiled<T>(file: string, run: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await run();
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}

/**
 * SLOWLOG=1 (with ONLY): every Redis command of the run through the slow log,
 * summed per command and script (a script named by its first key's last
 * segment), so Redis time splits by script as commandstats cannot.
 */
const SLOWLOG = ONLY !== undefined && process.env.SLOWLOG === '1';

async function printSlowlog(): Promise<void> {
  await admin.config('SET', 'slowlog-log-slower-than', '10000');
  const entries = (await admin.slowlog('GET', '-1')) as [number, number, number, string[]][];
  const by = new Map<string, { calls: number; usec: number; firstKey: string }>();
  for (const [, , usec, args] of entries) {
    const command = args[0]?.toLowerCase() ?? '?';
    // A script by its sha; the first key's last segment says which (BullMQ's `wait`, a group, a symbol).
    const name = command.startsWith('eval') ? `${command} ${args[1]?.slice(0, 8)}` : command;
    const firstKey = command.startsWith('eval') ? ((args[3] ?? '').split(':').at(-1) ?? '') : '';
    const row = by.get(name) ?? { calls: 0, usec: 0, firstKey };
    row.calls += 1;
    row.usec += usec;
    by.set(name, row);
  }
  for (const [name, { calls, usec, firstKey }] of [...by]
    .sort((a, b) => b[1].usec - a[1].usec)
    .slice(0, 25)) {
    console.log(
      `  ${name}${firstKey ? ` (${firstKey}, ...)` : ''}: ${calls} calls, ${(usec / 1e3).toFixed(0)} ms, ${(usec / calls).toFixed(1)} µs each`,
    );
  }
  await admin.slowlog('RESET');
}

async function costOf<T>(
  run: () => Promise<T>,
  profileTo?: string,
): Promise<{ result: T; cost: Cost }> {
  await admin.config('RESETSTAT');
  if (SLOWLOG) {
    await admin.config('SET', 'slowlog-log-slower-than', '0');
    await admin.config('SET', 'slowlog-max-len', '2000000');
    await admin.slowlog('RESET');
  }
  const redisBefore = await redisCpuMs();
  const nodeBefore = process.cpuUsage();
  const result = profileTo === undefined ? await run() : await profiled(profileTo, run);
  const node = process.cpuUsage(nodeBefore);
  const redisAfter = await redisCpuMs();
  if (SLOWLOG) await printSlowlog();
  const stats = await admin.info('commandstats');
  const redisCommands = [
    ...stats.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/g),
  ]
    .map((m) => ({
      command: m[1]!,
      calls: Number(m[2]),
      usec: Number(m[3]),
      usecPerCall: Number(m[4]),
    }))
    .sort((a, b) => b.usec - a.usec)
    .slice(0, ONLY ? 40 : 8);
  return {
    result,
    cost: {
      nodeCpuMs: (node.user + node.system) / 1_000,
      redisCpuMs: redisAfter - redisBefore,
      redisCommands,
    },
  };
}

async function round(
  index: number,
  count: number,
  candidates: readonly Candidate[] = CANDIDATES,
  profileDir?: string,
): Promise<Round> {
  const prof = (c: Candidate): string | undefined =>
    profileDir === undefined ? undefined : path.join(profileDir, `${c}.cpuprofile`);
  const order = candidates.map((_, k) => candidates[(k + index) % candidates.length]!);
  const narrow = requests(count, 1);
  const wide = requests(count, SYMBOLS_PER_WIDE_REQUEST);
  let raw: RawRun | undefined;
  let one: SchedulerRun | undefined;
  let ten: SchedulerRun | undefined;
  let tenHttp: SchedulerRun | undefined;
  const costs: Partial<Record<Candidate, Cost>> = {};
  for (const candidate of order) {
    // Each candidate starts on an empty Redis: no queue, pending set or cache entry of another.
    await admin.flushall();
    if (candidate === 'raw')
      ({ result: raw, cost: costs.raw } = await costOf(() => runRaw(narrow), prof(candidate)));
    else if (candidate === 'one')
      ({ result: one, cost: costs.one } = await costOf(
        () => runScheduler(narrow, 'in-process'),
        prof(candidate),
      ));
    else if (candidate === 'ten')
      ({ result: ten, cost: costs.ten } = await costOf(
        () => runScheduler(wide, 'in-process'),
        prof(candidate),
      ));
    else
      ({ result: tenHttp, cost: costs.tenHttp } = await costOf(
        () => runScheduler(wide, 'http'),
        prof(candidate),
      ));
  }
  return {
    order,
    raw: raw!,
    one: one!,
    ten: ten!,
    tenHttp: tenHttp!,
    costs: costs as Record<Candidate, Cost>,
  };
}

const range = (values: readonly number[], digits: number, unit = ''): string =>
  `${fixed(Math.min(...values), digits)}${unit}–${fixed(Math.max(...values), digits)}${unit}`;

if (ONLY) {
  const only = ONLY.filter((c): c is Candidate => (CANDIDATES as readonly string[]).includes(c));
  await round(0, WARMUP_REQUESTS, only);
  const r = await round(0, REQUESTS, only, CPU_PROF_DIR);
  for (const c of only) {
    const run = r[c];
    const rate = 'jobsPerSecond' in run ? run.jobsPerSecond : run.symbolsPerSecond;
    const cost = r.costs[c];
    const times =
      'intakeMs' in run
        ? ` (intake done ${fixed(run.intakeMs / 1_000, 2)} s, all in L2 ${fixed(run.ms / 1_000, 2)} s)`
        : '';
    console.log(
      `${c}: ${fixed(rate, 0)}/s${times}, node CPU ${fixed(cost.nodeCpuMs / 1_000, 1)} s, ` +
        `redis CPU ${fixed(cost.redisCpuMs / 1_000, 1)} s; ` +
        cost.redisCommands
          .map((x) => `${x.command} ${x.calls}x${fixed(x.usecPerCall, 1)}µs`)
          .join(', '),
    );
  }
  await admin.quit();
  await sim.close();
  await redisServer.stop();
  process.exit(0);
}

try {
  console.error(`warm-up round (${WARMUP_REQUESTS} requests per candidate)…`);
  await round(0, WARMUP_REQUESTS);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(i, REQUESTS);
    rounds.push(r);
    console.error(
      `round ${i + 1}/${ROUNDS} (${r.order.join(', ')}): raw ${fixed(r.raw.jobsPerSecond, 0)} jobs/s; ` +
        `1 symbol ${fixed(r.one.requestsPerSecond, 0)} req/s; ` +
        `10 symbols ${fixed(r.ten.symbolsPerSecond, 0)} symbols/s ` +
        `(over HTTP ${fixed(r.tenHttp.symbolsPerSecond, 0)})`,
    );
  }

  const rawRate = rounds.map((r) => r.raw.jobsPerSecond);
  const oneRate = rounds.map((r) => r.one.requestsPerSecond);
  const tenRate = rounds.map((r) => r.ten.symbolsPerSecond);
  const oneRatio = rounds.map((r) => r.one.requestsPerSecond / r.raw.jobsPerSecond);
  const tenRatio = rounds.map((r) => r.ten.symbolsPerSecond / r.raw.jobsPerSecond);
  const httpRate = rounds.map((r) => r.tenHttp.symbolsPerSecond);
  const httpRatio = rounds.map((r) => r.tenHttp.symbolsPerSecond / r.raw.jobsPerSecond);
  const calls = rounds.flatMap((r) => [
    r.one.callsPerSymbol,
    r.ten.callsPerSymbol,
    r.tenHttp.callsPerSymbol,
  ]);
  const oneCalls = rounds.map((r) => r.one.callsPerSymbol);
  const tenCalls = rounds.map((r) => r.ten.callsPerSymbol);
  const met = (ok: boolean): string => (ok ? 'met' : '**missed**');
  const summary = {
    rawJobsPerSecond: {
      median: median(rawRate),
      min: Math.min(...rawRate),
      max: Math.max(...rawRate),
    },
    oneSymbol: {
      requestsPerSecond: {
        median: median(oneRate),
        min: Math.min(...oneRate),
        max: Math.max(...oneRate),
      },
      ratioToRaw: {
        median: median(oneRatio),
        min: Math.min(...oneRatio),
        max: Math.max(...oneRatio),
      },
      target: TARGETS.oneSymbol,
      met: median(oneRatio) >= TARGETS.oneSymbol,
    },
    tenSymbols: {
      symbolsPerSecond: {
        median: median(tenRate),
        min: Math.min(...tenRate),
        max: Math.max(...tenRate),
      },
      ratioToRaw: {
        median: median(tenRatio),
        min: Math.min(...tenRatio),
        max: Math.max(...tenRatio),
      },
      target: TARGETS.tenSymbols,
      met: median(tenRatio) >= TARGETS.tenSymbols,
    },
    tenSymbolsOverHttp: {
      symbolsPerSecond: {
        median: median(httpRate),
        min: Math.min(...httpRate),
        max: Math.max(...httpRate),
      },
      ratioToRaw: {
        median: median(httpRatio),
        min: Math.min(...httpRatio),
        max: Math.max(...httpRatio),
      },
    },
    callsPerSymbol: {
      max: Math.max(...calls),
      target: TARGETS.callsPerSymbol,
      met: Math.max(...calls) <= TARGETS.callsPerSymbol,
    },
  };

  const version = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '';
  const markdown = [
    '## Batch-scheduler throughput beside raw BullMQ',
    '',
    runInfoLine(info),
    '',
    `Processor: **${info.cpu}** (${info.cores} cores). One private redis-server ${version} (queue in db 0, ` +
      'cache in db 1), the simulated provider (zero latency, no failures, its own limit far above the ' +
      'run; in this process for rows 1 and 2, behind its HTTP server for row 2b) and the batch-scheduler ' +
      'built by `createBatchScheduler(config)` (rows 1 and 2 with the in-process provider as its ' +
      '`upstream` override, under the same routes and limiter) all in this process, unpinned. ' +
      `Config from \`batchSchedulerEnv\`: CACHE_BATCH_SIZE=${BATCH_SIZE}, ` +
      `CACHE_BATCH_INTERVAL=${INTERVAL_S} (seconds, the shortest above 0), WORKER_CONCURRENCY=${CONCURRENCY} ` +
      '(so 8 batch jobs at once too), PROVIDER_RATE_LIMITS 10,000,000/min per provider (checked on every ' +
      'call, never binding), default tick (200 ms) and everything else at its default. Raw BullMQ: a ' +
      `Queue + Worker with an empty processor at concurrency ${CONCURRENCY}, fed the same refresh jobs ` +
      '(same payloads, `REFRESH_JOB_OPTIONS`, normal priority) by the same `addBulk` of ' +
      `${BULK} jobs at a time.`,
    '',
    `Sources: commit ${source.commit}` +
      (source.dirty.length > 0
        ? `, with uncommitted changes in ${source.dirty.join(', ')} (tsx runs the working tree).`
        : ', clean.') +
      ' Rows 1 and 2: the in-process provider answers from quotes the simulated market computed ' +
      'before any clock started (a zero-latency upstream costs the scheduler nothing; the price ' +
      "model's walk would run on the upstream's machine). Row 2b: the whole simulator (price walk, " +
      'HTTP server, JSON both ways, the adapter validating every quote) runs in this process and is ' +
      'charged to that row; the raw rows never call it.',
    '',
    `${REQUESTS.toLocaleString('en-US')} requests per candidate: one symbol each over ` +
      `${REQUESTS.toLocaleString('en-US')} distinct symbols, or ten each over ` +
      `${(SYMBOLS_PER_WIDE_REQUEST * REQUESTS).toLocaleString('en-US')} distinct symbols (the simulated ` +
      'market knows them all), so deduplication saves nothing: every symbol is a pending key, a share ' +
      'of a call and an L2 write. Each candidate starts on an empty Redis with a freshly built scheduler. ' +
      "Scheduler time runs from the first `addBulk` until the scheduler's write events have accounted " +
      'for every symbol (the event fires after the L2 write resolved); afterwards, untimed, ' +
      '`CacheWriter.peek` confirms every entry is in L2. Raw time runs from the first `addBulk` until the ' +
      `worker completed every job. A warm-up round of ${WARMUP_REQUESTS.toLocaleString('en-US')} requests, ` +
      `then ${ROUNDS} rounds, the four candidates in an order rotating per round; median and range over ` +
      'rounds, ratios taken within each round.',
    '',
    markdownTable(
      ['row', 'median', 'range', 'ratio to raw (median, range)', 'target', ''],
      [
        [
          'raw BullMQ no-op jobs / s',
          fixed(summary.rawJobsPerSecond.median, 0),
          range(rawRate, 0),
          '1x',
          '',
          '',
        ],
        [
          '(1) 1-symbol requests / s',
          fixed(summary.oneSymbol.requestsPerSecond.median, 0),
          range(oneRate, 0),
          `${ratio(summary.oneSymbol.ratioToRaw.median)} (${range(oneRatio, 2, 'x')})`,
          `>= ${TARGETS.oneSymbol}x`,
          met(summary.oneSymbol.met),
        ],
        [
          '(2) symbols / s, 10-symbol requests',
          fixed(summary.tenSymbols.symbolsPerSecond.median, 0),
          range(tenRate, 0),
          `${ratio(summary.tenSymbols.ratioToRaw.median)} (${range(tenRatio, 2, 'x')})`,
          `>= ${TARGETS.tenSymbols}x`,
          met(summary.tenSymbols.met),
        ],
        [
          '(2b) the same, provider over HTTP',
          fixed(summary.tenSymbolsOverHttp.symbolsPerSecond.median, 0),
          range(httpRate, 0),
          `${ratio(summary.tenSymbolsOverHttp.ratioToRaw.median)} (${range(httpRatio, 2, 'x')})`,
          '',
          '',
        ],
        [
          '(3) upstream calls / symbol (worst of all runs)',
          fixed(summary.callsPerSymbol.max, 4),
          `1 symbol ${range(oneCalls, 4)}; 10 symbols ${range(tenCalls, 4)}; over HTTP ${range(
            rounds.map((r) => r.tenHttp.callsPerSymbol),
            4,
          )}`,
          '',
          `<= ${fixed(TARGETS.callsPerSymbol, 4)} (1.05 / ${BATCH_SIZE})`,
          met(summary.callsPerSymbol.met),
        ],
      ],
    ),
    '',
    '### Rounds',
    '',
    markdownTable(
      [
        'round',
        'order',
        'raw jobs/s',
        '1-sym req/s (intake done s / all in L2 s)',
        '10-sym symbols/s (intake done s / all in L2 s)',
        '10-sym over HTTP',
        'calls (1-sym / 10-sym / HTTP)',
        'keys per flush (1-sym / 10-sym / HTTP)',
      ],
      rounds.map((r, i) => [
        String(i + 1),
        r.order.join(', '),
        fixed(r.raw.jobsPerSecond, 0),
        `${fixed(r.one.requestsPerSecond, 0)} (${fixed(r.one.intakeMs / 1000, 2)} / ${fixed(r.one.ms / 1000, 2)})`,
        `${fixed(r.ten.symbolsPerSecond, 0)} (${fixed(r.ten.intakeMs / 1000, 2)} / ${fixed(r.ten.ms / 1000, 2)})`,
        `${fixed(r.tenHttp.symbolsPerSecond, 0)} (${fixed(r.tenHttp.intakeMs / 1000, 2)} / ${fixed(r.tenHttp.ms / 1000, 2)})`,
        `${r.one.upstreamCalls} / ${r.ten.upstreamCalls} / ${r.tenHttp.upstreamCalls}`,
        `${fixed(r.one.meanKeysPerFlush, 1)} / ${fixed(r.ten.meanKeysPerFlush, 1)} / ${fixed(r.tenHttp.meanKeysPerFlush, 1)}`,
      ]),
    ),
    '',
    '### Where the time goes',
    '',
    'CPU of this process (`process.cpuUsage`: scheduler or raw worker, producer and simulator alike) and of ' +
      'redis-server (`INFO cpu`) per candidate, median over rounds; on 2 cores a candidate can use at most ' +
      '2 s of CPU per wall second, less what other jobs on the machine take.',
    '',
    markdownTable(
      [
        'candidate',
        'wall s',
        'node CPU s',
        'redis CPU s',
        'node CPU µs / job',
        'redis CPU µs / job',
        'redis CPU µs / symbol',
      ],
      CANDIDATES.map((c) => {
        const wall = rounds.map((r) => (c === 'raw' ? r.raw.ms : r[c].ms) / 1_000);
        const node = rounds.map((r) => r.costs[c].nodeCpuMs / 1_000);
        const redis = rounds.map((r) => r.costs[c].redisCpuMs / 1_000);
        const symbols =
          c === 'ten' || c === 'tenHttp' ? SYMBOLS_PER_WIDE_REQUEST * REQUESTS : REQUESTS;
        return [
          LABEL[c],
          fixed(median(wall), 1),
          fixed(median(node), 1),
          fixed(median(redis), 1),
          fixed((median(node) / REQUESTS) * 1e6, 0),
          fixed((median(redis) / REQUESTS) * 1e6, 0),
          fixed((median(redis) / symbols) * 1e6, 1),
        ];
      }),
    ),
    '',
    `Redis commands by time spent, last round (scripts show as evalsha):`,
    '',
    markdownTable(
      ['candidate', 'command: calls, µs per call, share of redis command time'],
      CANDIDATES.map((c) => {
        const commands = rounds.at(-1)!.costs[c].redisCommands;
        const total = commands.reduce((sum, x) => sum + x.usec, 0);
        return [
          LABEL[c],
          commands
            .slice(0, 5)
            .map(
              (x) =>
                `${x.command}: ${x.calls}, ${fixed(x.usecPerCall, 1)} µs, ${fixed((100 * x.usec) / total, 0)}%`,
            )
            .join('; '),
        ];
      }),
    ),
    '',
    "### Beside BullMQ Pro's batches",
    '',
    'BullMQ Pro (the commercial edition) lets a worker take up to `size` jobs of one queue at once ' +
      '(`batches: { size, minSize, timeout }`: wait up to `timeout` for at least `minSize`). Ours groups ' +
      'across requests by (provider, asset type, data type) with deduplication of pending and in-flight ' +
      'keys, a budget-aware flush policy and low-load windows for warming, at the cost of a share of ' +
      'one add script per burst of intake jobs (the pending-set script, one call for the jobs of one ' +
      'microtask drain, sent without waiting for its reply) and a batch job per flush. ' +
      "Pro's batches are per queue and know nothing of providers, " +
      'symbols or budgets: a batch of 100 one-symbol jobs would still need its own grouping and ' +
      'deduplication before one upstream call. We did not run BullMQ Pro (it is paid), so the ' +
      'comparison of speed stops at the raw open-source BullMQ rate measured here.',
  ].join('\n');

  saveResults('scheduler-throughput', markdown, {
    benchmark: 'scheduler-throughput',
    ...info,
    parameters: {
      rounds: ROUNDS,
      requests: REQUESTS,
      warmupRequests: WARMUP_REQUESTS,
      concurrency: CONCURRENCY,
      batchSize: BATCH_SIZE,
      batchIntervalSeconds: INTERVAL_S,
      bulk: BULK,
      symbolsPerWideRequest: SYMBOLS_PER_WIDE_REQUEST,
      distinctSymbols: { oneSymbol: REQUESTS, tenSymbols: SYMBOLS_PER_WIDE_REQUEST * REQUESTS },
      redisVersion: version,
      placement: 'unpinned',
      source,
    },
    targets: TARGETS,
    summary,
    rounds,
  });
} finally {
  admin.disconnect();
  await sim.close();
  await redisServer.stop();
}
