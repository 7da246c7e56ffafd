// API benchmark (autocannon), two parts:
//  1. L1-hit GET throughput and latency of the api beside a bare Fastify route
//     returning the same JSON, interleaved in the same run (target: >= 0.8x).
//  2. 1,000 concurrent connections reading a mix of hot and cold keys: errors,
//     p50/p95/p99, and how many connections waited to be accepted.
// Servers run in their own processes (the real api composition root, from
// source); autocannon drives them from this one. Everything is on 127.0.0.1.
//
//   pnpm --filter @fiml/bench bench:api     (ROUNDS=3 SECONDS=8 by default; API_LOG_LEVEL=info;
//                                            API_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR")
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { simulatedUniverse } from '@fiml/simulator';
import { listenQueueLength } from '@fiml/runtime';
import { freePort, startRedisServer, waitFor } from '@fiml/testing';
import { pin } from '../lib/pin.js';
import { Prng } from '../lib/prng.js';
import { markdownTable, median, runInfo, runInfoLine, saveResults } from '../lib/report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 8);
const KEY = 'bench-client-key-0123456789';
/** The api's LOG_LEVEL (API_LOG_LEVEL=info for the figure with a request log line per request). */
const LOG_LEVEL = process.env.API_LOG_LEVEL ?? 'warn';

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startServer(args: string[], env: Record<string, string>, cpu = 1): Promise<Server> {
  const port = await freePort();
  // A server under test gets core 1 to itself; the load generator, Redis and the simulator share
  // core 0. Pinned from its first instruction, so it knows it has one CPU (the api then keeps
  // its scavenges on the main thread, see fitGcToCpus in @fiml/runtime).
  const command = pinnable ? ['taskset', '-c', String(cpu), process.execPath] : [process.execPath];
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), API_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  child.once('error', () => undefined);
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.status !== undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: `${args.at(-1)} to listen` },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { url, child };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

interface Run {
  readonly rps: number;
  readonly p50: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly requests: number;
}

async function cannon(options: autocannon.Options): Promise<Run> {
  const result = await autocannon({ ...options, headers: { 'x-api-key': KEY } });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p97_5: result.latency.p97_5,
    p99: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

/** What the server's accept queue held during a run: the most, and when it last held any. */
interface AcceptQueue {
  /** Most connections waiting to be accepted at one sample (undefined: not readable here). */
  readonly max: number | undefined;
  /** Seconds from the start until the last sample with a connection waiting (0: none seen). */
  readonly lastSeenS: number;
}

/**
 * Runs `run` while sampling the listen queue of `url`'s port every 100 ms
 * (Linux: /proc/net/tcp): connections the server has not accepted yet wait
 * there, outside every request timing (bench/README.md, "API throughput").
 */
async function withAcceptQueue<T>(url: string, run: () => Promise<T>): Promise<[T, AcceptQueue]> {
  const port = Number(new URL(url).port);
  const started = performance.now();
  let max: number | undefined;
  let lastSeenS = 0;
  let reading = false;
  const sample = async () => {
    const at = performance.now();
    const waiting = await listenQueueLength(port);
    if (waiting === undefined) return;
    max = Math.max(max ?? 0, waiting);
    if (waiting > 0) lastSeenS = (at - started) / 1_000;
  };
  // One reading at a time: a tick that finds the last one still reading is skipped.
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    void sample().finally(() => {
      reading = false;
    });
  }, 100);
  try {
    return [await run(), { max, lastSeenS }];
  } finally {
    clearInterval(timer);
  }
}

const info = runInfo('bench:api');
// The api is measured as it is deployed: its build (and its packages'), not tsx from source.
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@fiml/api...', '--output-logs=errors-only'],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) throw new Error(`building the api failed (exit ${String(build.status)})`);
let pinned = pin(process.pid, 0);
const pinnable = pinned;
const redis = await startRedisServer();
pinned = pin(redis.pid, 0) && pinned;
const servers: Server[] = [];
// The simulator runs in its own process: inside this one it would starve behind autocannon.
const sim = await startServer(
  [
    '--conditions=@fiml/source',
    '--import',
    'tsx',
    'packages/simulator/src/bin/sim-provider.ts',
    '--latency',
    'none',
    '--failure-rate',
    '0',
    '--seed',
    '42',
  ],
  { LOG_LEVEL: 'warn' },
  0,
);
servers.push(sim);
// The load generator yields to Redis and the simulator on their shared core: a starved
// upstream would measure this machine, not the api.
os.setPriority(process.pid, 10);
try {
  const api = await startServer(
    // The built api, as deployed (tsx from source adds its own per-call costs). API_NODE_ARGS
    // adds node flags: `--cpu-prof --cpu-prof-dir=/tmp/prof` profiles it (written on SIGTERM).
    [...(process.env.API_NODE_ARGS?.split(' ').filter(Boolean) ?? []), 'apps/api/dist/main.js'],
    {
      NODE_ENV: 'production',
      // Request logs at info cost a JSON line per request; API_LOG_LEVEL=info measures them.
      LOG_LEVEL: LOG_LEVEL,
      REDIS_QUEUE_URL: redis.url,
      REDIS_CACHE_URL: redis.url,
      SIM_PROVIDER_URL: sim.url,
      API_HOST: '127.0.0.1',
      API_KEYS: `bench:${KEY}`,
      // The default configuration: the shared per-key limit on (set high enough never to refuse
      // the benchmark's single key) and load shedding on at its default delay.
      API_RATE_LIMIT_PER_MINUTE: '10000000',
      L1_MAX_ENTRIES: '10000',
    },
  );
  servers.push(api);
  const hotPath = '/v1/data/price/AAPL';
  const sample = await (
    await fetch(`${api.url}${hotPath}`, { headers: { 'x-api-key': KEY } })
  ).json();
  const bare = await startServer(['--import', 'tsx', 'bench/api/bare-server.ts'], {
    BARE_BODY: JSON.stringify({ ...(sample as object), cache: 'l1' }),
  });
  servers.push(bare);

  // Part 1: one hot key, L1 hits, 100 connections; bare and api interleaved per round.
  const part1: { bare: Run[]; api: Run[] } = { bare: [], api: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, server] of [
      ['bare', bare],
      ['api', api],
    ] as const) {
      await cannon({ url: `${server.url}${hotPath}`, connections: 100, duration: 1 }); // warm-up
      const run = await cannon({
        url: `${server.url}${hotPath}`,
        connections: 100,
        duration: SECONDS,
      });
      part1[name].push(run);
      console.log(
        `round ${round} ${name}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99} ms, non-2xx ${run.non2xx}`,
      );
    }
  }

  // Part 2: 1,000 connections, 90 % of reads on 100 hot symbols, 10 % spread over 2,900 cold ones.
  const universe = simulatedUniverse(42).equity;
  const hot = universe.slice(0, 100);
  const cold = universe.slice(100);
  const random = new Prng(7);
  // One request template whose path is drawn per request (a long request array makes
  // autocannon build it for every connection, which slows the client into timeouts).
  const hotShare = Number(process.env.HOT_SHARE ?? 0.9);
  const requests: autocannon.Request[] = [
    {
      method: 'GET',
      setupRequest: (request) => {
        const symbol =
          random.next() < hotShare
            ? hot[random.nextInt(hot.length)]!
            : cold[random.nextInt(cold.length)]!;
        return { ...request, path: `/v1/data/price/${symbol}` };
      },
    },
  ];
  // 1,000 connections are more than one niced core of autocannon can serve: on its own core it
  // reports its own backlog as timeouts. This part measures the api under a crowd, so the load
  // generator gets both cores back (the api stays on core 1).
  pin(process.pid, '0,1');
  pin(api.child.pid, '0,1');
  os.setPriority(process.pid, 0);
  await cannon({
    url: api.url,
    connections: 100,
    duration: 2,
    requests: hot.map((s) => ({ method: 'GET', path: `/v1/data/price/${s}` })),
  });
  const upstreamCalls = async (): Promise<number> => {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('fiml_provider_requests_total{'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };
  const callsBefore = await upstreamCalls();
  const [mixed, mixedQueue] = await withAcceptQueue(api.url, () =>
    cannon({ url: api.url, connections: 1_000, duration: SECONDS * 2, requests }),
  );
  const callsDuring = (await upstreamCalls()) - callsBefore;
  console.log(
    `mixed: ${mixed.rps.toFixed(0)} req/s, p99 ${mixed.p99} ms, errors ${mixed.errors} (timeouts ${mixed.timeouts}), non-2xx ${mixed.non2xx}, most waiting to be accepted ${String(mixedQueue.max)} (last at ${mixedQueue.lastSeenS.toFixed(1)} s)`,
  );
  // The same crowd on the bare route (it answers every path with the hot JSON): what this
  // machine and load generator allow at 1,000 connections, for the api's figures to be read by.
  pin(bare.child.pid, '0,1');
  const [mixedBare, mixedBareQueue] = await withAcceptQueue(bare.url, () =>
    cannon({ url: bare.url, connections: 1_000, duration: SECONDS * 2, requests }),
  );
  console.log(
    `mixed, bare route: ${mixedBare.rps.toFixed(0)} req/s, p99 ${mixedBare.p99} ms, errors ${mixedBare.errors} (timeouts ${mixedBare.timeouts}), most waiting to be accepted ${String(mixedBareQueue.max)} (last at ${mixedBareQueue.lastSeenS.toFixed(1)} s)`,
  );

  const rows1 = (['bare', 'api'] as const).map((name) => [
    name === 'bare' ? 'bare Fastify route, same JSON' : 'api, L1 hit (GET /v1/data/price/AAPL)',
    median(part1[name].map((r) => r.rps)).toFixed(0),
    `${Math.min(...part1[name].map((r) => r.rps)).toFixed(0)}–${Math.max(...part1[name].map((r) => r.rps)).toFixed(0)}`,
    median(part1[name].map((r) => r.p50)).toFixed(1),
    median(part1[name].map((r) => r.p99)).toFixed(1),
    String(part1[name].reduce((n, r) => n + r.errors + r.non2xx, 0)),
  ]);
  // Taken within each round (the two ran back to back), so a machine whose speed drifts between
  // rounds moves both sides of a ratio alike.
  const ratios = part1.api.map((run, i) => run.rps / part1.bare[i]!.rps);
  const ratio = median(ratios);
  const markdown = [
    '# API benchmark',
    '',
    runInfoLine(info),
    '',
    `## L1-hit GET vs a bare Fastify route (100 connections, ${ROUNDS} interleaved rounds of ${SECONDS} s)`,
    '',
    markdownTable(
      ['server', 'req/s (median)', 'req/s (range)', 'p50 ms', 'p99 ms', 'errors + non-2xx'],
      rows1,
    ),
    '',
    `api / bare throughput, median of the rounds' ratios: **${ratio.toFixed(2)}x** (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}; target >= 0.8x, p99 <= 5 ms).`,
    '',
    `## 1,000 concurrent connections, 90 % hot / 10 % cold keys (${SECONDS * 2} s)`,
    '',
    markdownTable(
      [
        'server',
        'req/s',
        'requests',
        'p50 ms',
        'p97.5 ms',
        'p99 ms',
        'errors (timeouts)',
        'non-2xx',
        'waiting to be accepted: most (last seen)',
      ],
      (
        [
          ['api', mixed, mixedQueue],
          ['bare route (every path answered with the hot JSON)', mixedBare, mixedBareQueue],
        ] as const
      ).map(([name, run, queue]) => [
        name,
        run.rps.toFixed(0),
        String(run.requests),
        String(run.p50),
        String(run.p97_5),
        String(run.p99),
        `${run.errors} (${run.timeouts})`,
        String(run.non2xx),
        queue.max === undefined ? 'n/a' : `${queue.max} (${queue.lastSeenS.toFixed(1)} s)`,
      ]),
    ),
    '',
    "Waiting to be accepted: the listen queue of the server's port, sampled every 100 ms from /proc/net/tcp",
    '(connections the kernel completed that the server has not taken; libuv takes one per event-loop',
    'iteration), the most at one sample and when a connection was last seen waiting.',
    '',
    pinned
      ? 'Placement: each server pinned to core 1; autocannon (at nice 10), Redis and the simulator to core 0 (taskset).'
      : 'Placement: unpinned (taskset unavailable), so the kernel chose; expect run-to-run swings.',
    '',
    `Upstream calls during this part: ${callsDuring}, for ${cold.length} cold symbols first read in it`,
    '(misses coalesce into calls of up to 100 symbols; a fetched symbol is then cached).',
    '',
    `The api runs its build (apps/api/dist, as deployed) in its default configuration at LOG_LEVEL=${LOG_LEVEL}:`,
    'the shared per-key request limit on (API_RATE_LIMIT_PER_MINUTE=10,000,000, so it never refuses',
    "the benchmark's one key; leased from Redis in blocks) and the overload check on at its default;",
    'cold keys are fetched from the simulated provider over HTTP (no modeled latency). autocannon',
    'reports p97.5 rather than p95.',
  ].join('\n');
  saveResults(LOG_LEVEL === 'warn' ? 'api-load' : `api-load-${LOG_LEVEL}`, markdown, {
    info,
    pinned,
    part1,
    ratio,
    ratios,
    mixed,
    mixedQueue,
    mixedBare,
    mixedBareQueue,
    callsDuring,
  });
} finally {
  for (const server of servers.reverse()) await stop(server);
  await redis.stop();
}
