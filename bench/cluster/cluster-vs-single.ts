/**
 * What a Redis Cluster costs: L2 getMany(100) and the batch-scheduler's
 * refresh rate on a 3-master cluster (each master with REPLICAS replicas,
 * 1 by default: replication is part of the price) beside a single
 * redis-server, in the same run, on the same machine.
 *
 *   pnpm --filter @fiml/bench bench:cluster   (ROUNDS=300 REFRESH_ROUNDS=2 REQUESTS=2000 by default)
 *
 * - getMany: L2Store.getMany of 100 stored price entries, timed per call;
 *   rounds alternate the targets (single, cluster, and on the cluster the
 *   reference of one GET per key sent at once, which is what one command per
 *   slot comes to for 100 keys: the grouping L2Store had before it grouped
 *   by node). Median and p95 per call.
 * - refresh rate: the batch-scheduler as its process builds it
 *   (`createBatchScheduler(config)`, both Redis roles on the target), the
 *   simulated provider in process with no latency and no limits, REQUESTS
 *   refresh requests of 10 distinct symbols each added by `addBulk`; time
 *   until every symbol's entry is in L2. Targets alternate per round; each
 *   run gets fresh prefixes.
 *
 * All processes share this machine's cores: the cluster's seven servers
 * compete with this process and with each other, where in production each
 * master has its own machine. Read the ratios as the client-side and
 * round-trip cost of a cluster, not as a capacity figure. Not a test.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { createBatchScheduler } from '@fiml/batch-scheduler';
import { batchSchedulerEnv } from '@fiml/batch-scheduler/config';
import { L2Store, cacheKey, type CacheEntry } from '@fiml/cache';
import { loadConfig } from '@fiml/config';
import { ManualClock } from '@fiml/market';
import { SIMULATED_PROFILES, type SimulatedProfile } from '@fiml/providers';
import {
  BULLMQ_PRIORITY,
  QueueName,
  REFRESH_JOB_NAME,
  REFRESH_JOB_OPTIONS,
  parseRefreshRequest,
  queuePrefix,
  type RefreshRequest,
} from '@fiml/queue';
import { closeRedis, createLogger, createRedisConnection, type RedisClient } from '@fiml/runtime';
import { SimulatedMarket, SimulatedProvider, simulatedUniverse } from '@fiml/simulator';
import { startRedisCluster, startRedisServer, waitForEvent } from '@fiml/testing';
import {
  fixed,
  markdownTable,
  median,
  quantile,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 300);
const WARMUP_ROUNDS = 30;
const REFRESH_ROUNDS = Number(process.env.REFRESH_ROUNDS ?? 2);
const REQUESTS = Number(process.env.REQUESTS ?? 2_000);
const REPLICAS = Number(process.env.REPLICAS ?? 1);
const SYMBOLS_PER_REQUEST = 10;
const T0 = Date.UTC(2026, 10, 24, 15, 0);

const info = runInfo('bench:cluster');
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const logger = createLogger({ service: 'bench', level: 'warn' });

const single = await startRedisServer();
const cluster = await startRedisCluster({ replicasPerMaster: REPLICAS });
const TARGETS = [
  { name: 'single redis-server', url: single.url },
  { name: `cluster, 3 masters + ${3 * REPLICAS} replicas`, url: cluster.url },
] as const;

async function connect(url: string, role: 'cache' | 'worker' | 'producer'): Promise<RedisClient> {
  const client = createRedisConnection(url, { role, name: `bench-${role}`, logger });
  if (client.status !== 'ready') await waitForEvent(client, 'ready', { timeoutMs: 10_000 });
  return client;
}

function entry(symbol: string): CacheEntry {
  return {
    kind: 'value',
    value: { symbol, price: 100 + symbol.length, currency: 'USD', volume: 1_000_000 },
    dataType: 'price',
    fetchedAt: T0,
    source: 'sim-equities',
    writer: 'read-through',
    ttlMs: 300_000,
    softExpiresAt: T0 + 300_000,
    hardExpiresAt: T0 + 3_600_000,
  };
}

// ------------------------------------------------------------- getMany(100)
const universe = simulatedUniverse('bench-cluster', {
  equities: SYMBOLS_PER_REQUEST * REQUESTS * (REFRESH_ROUNDS + 1) + 100,
}).equity;
const readSymbols = universe.slice(0, 100);
const keys = readSymbols.map((s) => cacheKey('price', 'equity', s));
const clock = new ManualClock(T0);
interface ReadCandidate {
  readonly name: string;
  readonly run: () => Promise<number>;
  readonly close: () => Promise<void>;
  readonly samples: number[];
}
const candidates: ReadCandidate[] = [];
for (const target of TARGETS) {
  const redis = await connect(target.url, 'cache');
  const l2 = new L2Store({ redis, keyPrefix: `bench-${randomUUID().slice(0, 8)}`, clock });
  await l2.setMany(keys.map((k) => [k, entry(k)]));
  const check = await l2.getMany(keys);
  if (check.some((r) => r.status !== 'hit')) throw new Error(`${target.name}: entries missing`);
  const redisKeys = keys.map((k) => l2.redisKey(k));
  candidates.push({
    name: `L2Store.getMany(100), ${target.name}`,
    run: async () => (await l2.getMany(keys)).filter((r) => r.status === 'hit').length,
    close: () => closeRedis(redis),
    samples: [],
  });
  if (target.url === cluster.url) {
    candidates.push({
      name: `ref: 100 GETs at once (one command per slot), ${target.name}`,
      run: async () =>
        (await Promise.all(redisKeys.map((k) => redis.getBuffer(k)))).filter(Boolean).length,
      close: () => Promise.resolve(),
      samples: [],
    });
  }
}
for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
  for (let c = 0; c < candidates.length; c++) {
    const candidate = candidates[(c + round) % candidates.length]!;
    const started = performance.now();
    const hits = await candidate.run();
    const ms = performance.now() - started;
    if (hits !== 100) throw new Error(`${candidate.name}: ${hits} hits of 100`);
    if (round >= WARMUP_ROUNDS) candidate.samples.push(ms);
  }
}
for (const c of candidates) await c.close();
const singleRead = median(candidates[0]!.samples);

// ------------------------------------------------------------- refresh rate
const equities: SimulatedProfile = {
  ...SIMULATED_PROFILES['equities-batch'],
  rateLimits: [{ limit: 10_000_000, windowMs: 60_000 }],
  failureRate: 0,
};
const market = new SimulatedMarket({
  seed: 'bench-cluster',
  universe: { equity: universe, crypto: ['BTC'] },
});
let nextSymbol = 100;
function requests(): RefreshRequest[] {
  return Array.from({ length: REQUESTS }, () => {
    const symbols = universe.slice(nextSymbol, nextSymbol + SYMBOLS_PER_REQUEST);
    nextSymbol += SYMBOLS_PER_REQUEST;
    return parseRefreshRequest({
      symbols,
      assetType: 'equity',
      dataType: 'price',
      source: 'bench',
    });
  });
}

async function refreshRun(url: string, batch: readonly RefreshRequest[]): Promise<number> {
  const run = randomUUID().slice(0, 8);
  const config = loadConfig(batchSchedulerEnv, {
    dotenvPath: false,
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_QUEUE_URL: url,
      REDIS_CACHE_URL: url,
      QUEUE_PREFIX: `bq-${run}`,
      CACHE_KEY_PREFIX: `bc-${run}`,
      PROVIDER_RATE_LIMIT_PREFIX: `brl-${run}`,
      PROVIDER_RATE_LIMITS: 'sim-equities=10000000/min',
      WORKER_CONCURRENCY: '8',
      CACHE_BATCH_ENABLED: 'true',
      CACHE_BATCH_SIZE: '100',
      CACHE_BATCH_INTERVAL: '1',
      METRICS_PORT: '0',
    },
  });
  const app = createBatchScheduler(config, {
    upstream: [new SimulatedProvider({ profile: equities, market, failureRate: 0 })],
  });
  const producer = await connect(url, 'producer');
  const queue = new Queue(QueueName.REFRESH, {
    connection: producer,
    prefix: queuePrefix(config.QUEUE_PREFIX),
  });
  try {
    await app.worker.worker.waitUntilReady();
    const symbols = batch.length * SYMBOLS_PER_REQUEST;
    let stored = 0;
    let finished = 0;
    const done = new Promise<void>((resolve) => {
      app.scheduler!.on('write', ({ outcomes }) => {
        for (const o of outcomes) if (o.status !== 'failed') stored += 1;
        if (stored >= symbols) {
          finished = performance.now();
          resolve();
        }
      });
    });
    const started = performance.now();
    for (let i = 0; i < batch.length; i += 1_000) {
      await queue.addBulk(
        batch.slice(i, i + 1_000).map((data) => ({
          name: REFRESH_JOB_NAME,
          data,
          opts: { ...REFRESH_JOB_OPTIONS, priority: BULLMQ_PRIORITY.normal },
        })),
      );
    }
    await done;
    return (symbols / (finished - started)) * 1_000;
  } finally {
    await queue.close();
    await closeRedis(producer);
    await app.close();
  }
}

// One warm-up run per target (JIT, script loading), not reported.
for (const target of TARGETS) await refreshRun(target.url, requests().slice(0, 200));
nextSymbol = 100;
const rates: number[][] = TARGETS.map(() => []);
for (let round = 0; round < REFRESH_ROUNDS; round++) {
  for (let t = 0; t < TARGETS.length; t++) {
    const index = (t + round) % TARGETS.length;
    rates[index]!.push(await refreshRun(TARGETS[index]!.url, requests()));
    if (nextSymbol + SYMBOLS_PER_REQUEST * REQUESTS > universe.length) nextSymbol = 100;
  }
}

await cluster.stop();
await single.stop();

// ------------------------------------------------------------- report
const readRows = candidates.map((c) => [
  c.name,
  fixed(median(c.samples), 3),
  fixed(quantile(c.samples, 0.95), 3),
  ratio(median(c.samples) / singleRead),
]);
const singleRate = median(rates[0]!);
const rateRows = TARGETS.map((t, i) => [
  t.name,
  fixed(median(rates[i]!), 0),
  `${fixed(Math.min(...rates[i]!), 0)}–${fixed(Math.max(...rates[i]!), 0)}`,
  ratio(median(rates[i]!) / singleRate),
]);
const markdown = [
  '# Redis Cluster beside a single Redis',
  '',
  `${runInfoLine(info)} Commit ${commit}. ${ROUNDS} getMany rounds after ${WARMUP_ROUNDS} warm-up; ` +
    `${REFRESH_ROUNDS} refresh rounds of ${REQUESTS} requests x ${SYMBOLS_PER_REQUEST} symbols per target.`,
  '',
  '## L2 getMany(100), ms per call',
  '',
  markdownTable(['candidate', 'median ms', 'p95 ms', 'vs single'], readRows),
  '',
  '## Batch-scheduler refresh rate, symbols written to L2 per second',
  '',
  markdownTable(['target', 'median', 'range', 'vs single'], rateRows),
  '',
].join('\n');
saveResults('cluster-vs-single', markdown, {
  info,
  commit,
  rounds: ROUNDS,
  refreshRounds: REFRESH_ROUNDS,
  requests: REQUESTS,
  replicasPerMaster: REPLICAS,
  getMany: candidates.map((c) => ({ name: c.name, samplesMs: c.samples })),
  refreshRate: TARGETS.map((t, i) => ({ target: t.name, symbolsPerSecond: rates[i] })),
});
