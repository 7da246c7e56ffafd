import { expect } from '@jest/globals';
import {
  createBatchScheduler,
  type BatchSchedulerApp,
  type BatchSchedulerOverrides,
} from '@fiml/batch-scheduler';
import { apiEnv, type ApiConfig } from '../src/config.js';
import { batchSchedulerEnv } from '@fiml/batch-scheduler/config';
import { ManualClock } from '@fiml/market';
import { createLogger, type Logger, type Registry } from '@fiml/runtime';
import { type ProviderCallEvent } from '@fiml/providers';
import { startSimulatedProviderServer } from '@fiml/simulator';
import { testRedisUrl, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import { createApi, type Api } from '../src/create-api.js';

export const logger: Logger = createLogger({ service: 'test', level: 'silent' });
export const CLIENT_KEY = 'client-key-0123456789';
export const ADMIN_KEY = 'admin-key-0123456789abc';
// Tuesday 2026-11-24 10:00 New York: regular session (price TTL 5 min).
export const T0 = Date.parse('2026-11-24T10:00:00-05:00');

export interface Harness extends Api {
  readonly clock: ManualClock;
  /** The deployment's QUEUE_PREFIX and (unless the test chose one) CACHE_KEY_PREFIX. */
  readonly prefix: string;
  /** The config the api was built from, parsed as main.ts parses the environment. */
  readonly config: ApiConfig;
  /** Every upstream call the provider registry made. */
  readonly calls: ProviderCallEvent[];
  /** Stops the simulated provider: every upstream call fails from then on. */
  stopUpstream(): Promise<void>;
}

export interface HarnessOptions {
  /** Environment variables over the harness's own (which name a unique prefix and the simulator). */
  readonly env?: Readonly<Record<string, string>>;
  /** @defaultValue a silent logger */
  readonly logger?: Logger;
  readonly registry?: Registry;
  readonly pressureSampleIntervalMs?: number;
  /** Wait for both Redis roles before answering (off for tests of an api whose Redis is down). @defaultValue true */
  readonly waitForReady?: boolean;
}

/**
 * The api as production builds it — `createApi` from a config parsed by the
 * api's own env definition: CacheManager over a real redis-server, the
 * provider registry over the simulated provider's HTTP server, a real refresh
 * queue — on a manual clock, with test keys and a unique prefix.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const prefix = options.env?.QUEUE_PREFIX ?? uniqueName('api');
  const clock = new ManualClock(T0);
  const sim = await startSimulatedProviderServer({ seed: 7, clock, failureRate: 0 });
  const config = apiEnv.parse({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_QUEUE_URL: testRedisUrl(),
    REDIS_CACHE_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    CACHE_KEY_PREFIX: prefix,
    API_KEYS: `client:${CLIENT_KEY}`,
    API_ADMIN_KEY: ADMIN_KEY,
    SIM_PROVIDER_URL: sim.url,
    PROVIDER_RATE_LIMIT_PREFIX: `${prefix}-rl`,
    // Exact TTLs, so tests can state expiry instants.
    CACHE_TTL_JITTER: '0',
    // No load shedding on a busy test machine; the overload test turns it on itself.
    API_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.env,
  });
  let api: Api;
  try {
    api = createApi(config, {
      clock,
      logger: options.logger ?? logger,
      ...(options.registry ? { registry: options.registry } : {}),
      ...(options.pressureSampleIntervalMs === undefined
        ? {}
        : { pressureSampleIntervalMs: options.pressureSampleIntervalMs }),
    });
  } catch (error) {
    await sim.close();
    throw error;
  }
  const calls: ProviderCallEvent[] = [];
  api.providers.on('call', (event: ProviderCallEvent) => calls.push(event));
  const close = async () => {
    await api.close().catch(() => undefined);
    // A connection whose server a test killed does not answer QUIT.
    api.queueRedis.disconnect();
    api.cacheRedis.disconnect();
    await sim.close().catch(() => undefined);
  };
  try {
    if (options.waitForReady ?? true) {
      // Fail-fast connections refuse commands until they are ready; the app gets
      // ready (and the dashboard discovers the deployment's queues) after them.
      for (const redis of [api.queueRedis, api.cacheRedis]) {
        if (redis.status !== 'ready') await waitForEvent(redis, 'ready');
      }
      await api.started;
      await api.app.ready();
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { ...api, clock, prefix, config, calls, stopUpstream: () => sim.close(), close };
}

/** Headers presenting the client key. */
export const asClient = { 'x-api-key': CLIENT_KEY };

/**
 * The batch-scheduler of a harness's deployment (same Redis, prefixes, simulator,
 * clock), built by its own composition function; `env` adds to its config.
 */
export function startSchedulerFor(
  h: Harness,
  env: Record<string, string> = {},
  overrides: Pick<BatchSchedulerOverrides, 'scheduler'> = {},
): BatchSchedulerApp {
  return createBatchScheduler(
    batchSchedulerEnv.parse({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      REDIS_QUEUE_URL: h.config.REDIS_QUEUE_URL,
      REDIS_CACHE_URL: h.config.REDIS_CACHE_URL,
      QUEUE_PREFIX: h.config.QUEUE_PREFIX,
      CACHE_KEY_PREFIX: h.config.CACHE_KEY_PREFIX,
      SIM_PROVIDER_URL: h.config.SIM_PROVIDER_URL,
      PROVIDER_RATE_LIMIT_PREFIX: h.config.PROVIDER_RATE_LIMIT_PREFIX,
      CACHE_TTL_JITTER: '0',
      ...env,
    }),
    { logger, clock: h.clock, ...overrides },
  );
}

/** Past the 5-minute market-hours price TTL, inside the stale-while-revalidate window. */
export const PAST_FRESHNESS_MS = 5 * 60_000 + 1_000;

/** The fields of a read's answer (or of one result of a batch read) the tests look at. */
export interface Datum {
  status?: string;
  cache: string;
  fetchedAt: string;
}

/** A price read through the api. */
export async function readPrice(h: Harness, symbol: string): Promise<Datum> {
  return (await h.app.inject(`/v1/data/price/${symbol}`)).json<Datum>();
}

/**
 * The stale-read path end to end, with a batch-scheduler built by its own
 * composition function: a read past freshness answers stale and asks for a
 * refresh; the scheduler writes a newer entry to L2 and publishes its
 * invalidation; the api drops its L1 copy and serves the new one. Only the
 * first read went upstream from the api: the refresh was the scheduler's.
 */
export async function expectStaleReadRefreshedByScheduler(h: Harness, symbol: string) {
  const first = await readPrice(h, symbol);
  const scheduler = startSchedulerFor(h);
  try {
    h.clock.advance(PAST_FRESHNESS_MS);
    expect((await readPrice(h, symbol)).cache).toBe('stale');
    const [entry] = await waitFor(
      async () => {
        const peeked = await scheduler.writer.peek([`price:equity:${symbol}`]);
        return peeked[0] && peeked[0].fetchedAt > Date.parse(first.fetchedAt) ? peeked : undefined;
      },
      { timeoutMs: 10_000, description: 'the L2 entry refreshed by the batch-scheduler' },
    );
    expect(entry?.fetchedAt).toBe(h.clock.now());
    const fresh = await waitFor(
      async () => {
        const now = await readPrice(h, symbol);
        return now.cache !== 'stale' ? now : undefined;
      },
      { description: 'the api serving the refreshed entry' },
    );
    expect(Date.parse(fresh.fetchedAt)).toBe(h.clock.now());
    expect(h.calls).toHaveLength(1);
  } finally {
    await scheduler.close();
  }
}
