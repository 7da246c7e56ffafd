// Shared by the batch-scheduler's integration suites: real redis-server
// connections, the simulated provider's HTTP server, and the process built by
// createBatchScheduler against its own key prefixes.
import { afterEach, expect } from '@jest/globals';
import { type CacheEntry, cacheKey, CacheWriter, TtlPolicy } from '@fiml/cache';
import { loadConfig } from '@fiml/config';
import { batchSchedulerEnv, type BatchSchedulerConfig } from '../src/config.js';
import { SeededRandom, type ManualClock } from '@fiml/market';
import { createLogger, createRedisConnection, type Logger } from '@fiml/runtime';
import {
  startSimulatedProviderServer,
  type SimulatedProviderServer,
  type SimulatedProviderServerOptions,
} from '@fiml/simulator';
import type { ProviderCallEvent } from '@fiml/providers';
import { RefreshProducer } from '@fiml/queue';
import { testRedisUrl, uniqueName, waitFor } from '@fiml/testing';
import {
  createBatchScheduler,
  type BatchSchedulerOverrides,
} from '../src/create-batch-scheduler.js';

export const logger: Logger = createLogger({ service: 'test', level: 'silent' });
export const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** A Tuesday during the NYSE session: equity prices get the market-hours TTL. */
export const T1 = Date.parse('2026-11-24T11:00:00-05:00');

/** A worker-role connection to this worker's redis-server, or to `url` (a Cluster's, say). */
export function redis(name: string, url = testRedisUrl()) {
  const connection = createRedisConnection(url, { role: 'worker', name, logger });
  open.push(() => Promise.resolve(connection.disconnect()));
  return connection;
}

export async function simServer(
  clock: ManualClock,
  port = 0,
  options: Partial<SimulatedProviderServerOptions> = {},
): Promise<SimulatedProviderServer> {
  const server = await startSimulatedProviderServer({
    seed: 'refresh',
    clock,
    failureRate: 0,
    port,
    ...options,
  });
  open.push(() => server.close());
  return server;
}

/** Fresh key prefixes for one deployment: every replica of it gets the same. */
export function deploymentNames() {
  return {
    QUEUE_PREFIX: uniqueName('bs'),
    CACHE_KEY_PREFIX: uniqueName('c'),
    PROVIDER_RATE_LIMIT_PREFIX: uniqueName('rl'),
  };
}

/** The batch-scheduler as the process builds it, against its own key prefixes. */
export function scheduler(
  env: Record<string, string>,
  clock: ManualClock,
  overrides: Omit<BatchSchedulerOverrides, 'logger' | 'clock'> = {},
) {
  const config: BatchSchedulerConfig = loadConfig(batchSchedulerEnv, {
    env: {
      REDIS_QUEUE_URL: testRedisUrl(),
      REDIS_CACHE_URL: testRedisUrl(),
      // Unique prefixes, unless the test shares them between replicas.
      ...deploymentNames(),
      ...env,
    },
    dotenvPath: false,
  });
  const app = createBatchScheduler(config, {
    logger,
    clock,
    random: new SeededRandom(7),
    ...overrides,
  });
  open.push(() => app.close());
  const producer = new RefreshProducer({
    connection: redis('test-p', config.REDIS_QUEUE_URL),
    prefix: config.QUEUE_PREFIX,
  });
  open.push(() => producer.close());
  return { app, producer, keyPrefix: config.CACHE_KEY_PREFIX };
}

/** Another writer of the same cache (an api reading through), with its own clock. */
export function otherWriter(
  keyPrefix: string,
  clock: ManualClock,
  url = testRedisUrl(),
): CacheWriter {
  return new CacheWriter({
    redis: redis('test-w', url),
    ttlPolicy: new TtlPolicy({ clock, random: new SeededRandom(1) }),
    keyPrefix,
    clock,
  });
}

export async function stored(writer: CacheWriter, key: string): Promise<CacheEntry | undefined> {
  return (await writer.peek([key]))[0];
}

export const price = (symbol: string) => cacheKey('price', 'equity', symbol);

/** Records every upstream call a batch-scheduler's registry makes, as it makes it. */
export function calls(app: {
  providers: { on(e: 'call', l: (e: ProviderCallEvent) => void): unknown };
}): ProviderCallEvent[] {
  const seen: ProviderCallEvent[] = [];
  app.providers.on('call', (e) => seen.push(e));
  return seen;
}

/**
 * The grouping scenario of issue 13: 1,000 one-symbol refresh requests over
 * 300 symbols (every symbol once, then 700 repeats spread over the same
 * symbols), enqueued `perRound` at a time. Resolves the 300 symbols.
 */
export async function enqueueThousandOver300(
  producer: RefreshProducer,
  perRound: number,
): Promise<string[]> {
  const symbols = Array.from({ length: 300 }, (_, i) => `S${i}`);
  const requests = [...symbols, ...Array.from({ length: 700 }, (_, i) => symbols[(i * 7) % 300]!)];
  for (let i = 0; i < requests.length; i += perRound) {
    await Promise.all(
      requests.slice(i, i + perRound).map((symbol) =>
        producer.enqueueRefresh({
          symbols: [symbol],
          assetType: 'equity',
          dataType: 'price',
          source: 'test',
        }),
      ),
    );
  }
  return symbols;
}

/**
 * Two replicas of one deployment (`env`: where Redis is, the provider's URL)
 * under a 30-a-minute crypto limit, one key per batch, asked for 40 symbols
 * by turns. Asserts what they must do together: share the budget (the fast
 * part of it, 14 to 30 calls between them), fetch no key twice, and lose no
 * request (each symbol written, or held by the scheduler). Resolves each
 * replica's calls.
 */
export async function twoReplicasShareABudget(
  env: Record<string, string>,
  clock: ManualClock,
): Promise<[ProviderCallEvent[], ProviderCallEvent[]]> {
  const deployment = {
    ...deploymentNames(),
    PROVIDER_RATE_LIMITS: 'sim-crypto=30/min',
    CACHE_BATCH_SIZE: '1',
    CACHE_BATCH_INTERVAL: '0',
    ...env,
  };
  const a = scheduler(deployment, clock);
  const b = scheduler(deployment, clock);
  const made: [ProviderCallEvent[], ProviderCallEvent[]] = [calls(a.app), calls(b.app)];
  const writes = new Map<string, number>();
  for (const { app } of [a, b]) {
    app.writer.on('set', (e) => writes.set(e.key, (writes.get(e.key) ?? 0) + 1));
  }
  const symbols = Array.from({ length: 40 }, (_, i) => `C${i}`);
  await Promise.all(
    symbols.map((symbol, i) =>
      (i % 2 ? a : b).producer.enqueueRefresh({
        symbols: [symbol],
        assetType: 'crypto',
        dataType: 'price',
        source: 'test',
      }),
    ),
  );
  const total = () => made[0].length + made[1].length;
  await waitFor(() => total() >= 14, { timeoutMs: 20_000, description: '14 calls' });
  expect(total()).toBeLessThanOrEqual(30);
  expect([...writes.values()].every((n) => n === 1)).toBe(true);
  // Nothing lost: once every request is accepted, each symbol is written, or held
  // (pending or in flight) by the scheduler.
  await waitFor(
    async () => (await a.app.refreshQueue.getJobCounts('completed')).completed === symbols.length,
    { timeoutMs: 10_000, description: 'every request accepted' },
  );
  const group = { provider: 'sim-crypto', assetType: 'crypto', dataType: 'price' } as const;
  const held = await a.app.scheduler!.store.holds(group, symbols);
  const written = new Set([...writes.keys()]);
  expect(symbols.filter((s, i) => !held[i] && !written.has(`price:crypto:${s}`))).toEqual([]);
  return made;
}
