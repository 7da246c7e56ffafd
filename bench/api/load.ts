// API benchmark (autocannon), two parts:
//  1. L1-hit GET throughput and latency of the api beside a bare Fastify route
//     returning the same JSON, interleaved in the same run (target: >= 0.7x).
//  2. 1,000 concurrent connections reading a mix of hot and cold keys: errors,
//     p50/p95/p99.
// Servers run in their own processes (the real api composition root, from
// source); autocannon drives them from this one. Everything is on 127.0.0.1.
//
//   pnpm --filter @fiml/bench bench:api     (ROUNDS=3 SECONDS=8 by default)
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { simulatedUniverse, startSimulatedProviderServer } from '@fiml/providers';
import { freePort, startRedisServer, waitFor } from '@fiml/testing';
import { Prng } from '../lib/prng.js';
import { markdownTable, median, runInfo, runInfoLine, saveResults } from '../lib/report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 8);
const KEY = 'bench-client-key-0123456789';

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startServer(args: string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), API_PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      return (await fetch(`${url}/healthz`).catch(() => undefined))?.status !== undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: `${args.at(-1)} to listen` },
  );
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
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

const info = runInfo('bench:api');
const redis = await startRedisServer();
const sim = await startSimulatedProviderServer({ seed: 42, failureRate: 0 });
const servers: Server[] = [];
try {
  const api = await startServer(
    ['--conditions=@fiml/source', '--import', 'tsx', 'apps/api/src/main.ts'],
    {
      NODE_ENV: 'production',
      // Request logs at info cost a JSON line per request; these figures are the serving path.
      LOG_LEVEL: 'warn',
      REDIS_QUEUE_URL: redis.url,
      REDIS_CACHE_URL: redis.url,
      SIM_PROVIDER_URL: sim.url,
      API_HOST: '127.0.0.1',
      API_KEYS: `bench:${KEY}`,
      API_RATE_LIMIT_PER_MINUTE: '0',
      API_MAX_EVENT_LOOP_DELAY_MS: '0',
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
  const requests = Array.from({ length: 5_000 }, () => {
    const symbol =
      random.next() < 0.9 ? hot[random.nextInt(hot.length)]! : cold[random.nextInt(cold.length)]!;
    return { method: 'GET' as const, path: `/v1/data/price/${symbol}` };
  });
  await cannon({
    url: api.url,
    connections: 100,
    duration: 2,
    requests: hot.map((s) => ({ method: 'GET', path: `/v1/data/price/${s}` })),
  });
  const mixed = await cannon({ url: api.url, connections: 1_000, duration: SECONDS * 2, requests });
  console.log(
    `mixed: ${mixed.rps.toFixed(0)} req/s, p99 ${mixed.p99} ms, errors ${mixed.errors}, non-2xx ${mixed.non2xx}`,
  );

  const rows1 = (['bare', 'api'] as const).map((name) => [
    name === 'bare' ? 'bare Fastify route, same JSON' : 'api, L1 hit (GET /v1/data/price/AAPL)',
    median(part1[name].map((r) => r.rps)).toFixed(0),
    `${Math.min(...part1[name].map((r) => r.rps)).toFixed(0)}–${Math.max(...part1[name].map((r) => r.rps)).toFixed(0)}`,
    median(part1[name].map((r) => r.p50)).toFixed(1),
    median(part1[name].map((r) => r.p99)).toFixed(1),
    String(part1[name].reduce((n, r) => n + r.errors + r.non2xx, 0)),
  ]);
  const ratio = median(part1.api.map((r) => r.rps)) / median(part1.bare.map((r) => r.rps));
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
    `api / bare throughput: **${ratio.toFixed(2)}x** (target >= 0.7x).`,
    '',
    `## 1,000 concurrent connections, 90 % hot / 10 % cold keys (${SECONDS * 2} s)`,
    '',
    markdownTable(
      ['req/s', 'requests', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors', 'non-2xx'],
      [
        [
          mixed.rps.toFixed(0),
          String(mixed.requests),
          String(mixed.p50),
          String(mixed.p97_5),
          String(mixed.p99),
          String(mixed.errors),
          String(mixed.non2xx),
        ],
      ],
    ),
    '',
    'The api runs its real composition root with LOG_LEVEL=warn, the rate limit off and the',
    'overload check off; cold keys are fetched from the simulated provider over HTTP (no modeled',
    'latency). autocannon reports p97.5 rather than p95.',
  ].join('\n');
  saveResults('api-load', markdown, { info, part1, ratio, mixed });
} finally {
  for (const server of servers.reverse()) await stop(server);
  await sim.close();
  await redis.stop();
}
