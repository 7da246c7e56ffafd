import type { Redis } from 'ioredis';
import { CacheAnalytics, CacheManager } from '@fiml/cache';
import { ManualClock, TtlPolicy } from '@fiml/market';
import { createLogger, createMetricsRegistry, type Logger } from '@fiml/observability';
import {
  DEFAULT_PROVIDER_SETTINGS,
  buildProviderRegistry,
  startSimulatedProviderServer,
  type ProviderCallEvent,
} from '@fiml/providers';
import { RefreshProducer, createRedisConnection } from '@fiml/queue';
import { testRedisUrl, uniqueName, waitForEvent } from '@fiml/testing';
import { buildApp, type App, type AppDeps } from '../src/app.js';
import { registryLoaders } from '../src/upstream.js';

export const logger: Logger = createLogger({ service: 'test', level: 'silent' });
export const CLIENT_KEY = 'client-key-0123456789';
export const ADMIN_KEY = 'admin-key-0123456789abc';
// Tuesday 2026-11-24 10:00 New York: regular session (price TTL 5 min).
export const T0 = Date.parse('2026-11-24T10:00:00-05:00');

export interface Harness {
  readonly app: App;
  readonly clock: ManualClock;
  readonly cache: CacheManager;
  readonly prefix: string;
  readonly queueRedis: Redis;
  /** Every upstream call the provider registry made. */
  readonly calls: ProviderCallEvent[];
  /** Stops the simulated provider: every upstream call fails from then on. */
  stopUpstream(): Promise<void>;
  close(): Promise<void>;
}

/** A connection that is ready before it is used (fail-fast connections refuse commands until then). */
async function ready(redis: Redis): Promise<Redis> {
  if (redis.status !== 'ready') await waitForEvent(redis, 'ready');
  return redis;
}

/**
 * The api wired as in production — CacheManager over a real redis-server, the
 * provider registry over the simulated provider's HTTP server, a real refresh
 * queue — but on a manual clock and with test keys.
 */
export async function startHarness(
  overrides: Partial<AppDeps> = {},
  options: { readonly rateLimit?: { readonly perMinute: number; readonly keyPrefix: string } } = {},
): Promise<Harness> {
  const closers: (() => Promise<unknown>)[] = [];
  const prefix = uniqueName('api');
  const clock = new ManualClock(T0);
  const sim = await startSimulatedProviderServer({ seed: 7, clock, failureRate: 0 });
  closers.push(() => sim.close());
  const queueRedis = await ready(
    createRedisConnection(testRedisUrl(), { role: 'producer', name: 'test-queue', logger }),
  );
  const cacheRedis = await ready(
    createRedisConnection(testRedisUrl(), { role: 'cache', name: 'test-cache', logger }),
  );
  closers.push(
    async () => queueRedis.disconnect(),
    async () => cacheRedis.disconnect(),
  );

  const providers = buildProviderRegistry(
    {
      ...DEFAULT_PROVIDER_SETTINGS,
      SIM_PROVIDER_URL: sim.url,
      PROVIDER_RATE_LIMIT_PREFIX: `${prefix}-rl`,
    },
    { redis: cacheRedis, clock, logger },
  );
  const calls: ProviderCallEvent[] = [];
  providers.on('call', (event: ProviderCallEvent) => calls.push(event));

  const refresh = new RefreshProducer({ connection: queueRedis, prefix });
  closers.push(() => refresh.close());
  const cache = new CacheManager({
    ttlPolicy: new TtlPolicy({ clock, jitter: 0 }),
    redis: cacheRedis,
    keyPrefix: prefix,
    clock,
    loaderFor: registryLoaders(providers),
  });
  await cache.start();
  closers.push(() => cache.close());
  const analytics = new CacheAnalytics({ clock });
  analytics.attach(cache);

  const app = buildApp({
    logger,
    registry: createMetricsRegistry({ service: 'api' }),
    clock,
    readiness: { queueRedis: () => Promise.resolve({ ok: true }) },
    refresh,
    cache,
    auth: {
      keys: [{ name: 'client', key: CLIENT_KEY }],
      adminKey: ADMIN_KEY,
      readsRequireKey: false,
    },
    queueBoard: { connection: queueRedis, prefix },
    report: () => analytics.getComprehensiveReport(),
    bodyLimitBytes: 4096,
    ...(options.rateLimit ? { rateLimit: { ...options.rateLimit, redis: cacheRedis } } : {}),
    ...overrides,
  });
  closers.push(() => app.close());
  return {
    app,
    clock,
    cache,
    prefix,
    queueRedis,
    calls,
    stopUpstream: () => sim.close(),
    close: async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}

/** Dependencies for tests that do not read data: an L1-only cache, open auth, a refresh port. */
export function minimalDeps(overrides: Partial<AppDeps> & Pick<AppDeps, 'refresh'>): AppDeps {
  const clock = new ManualClock(T0);
  return {
    logger,
    registry: createMetricsRegistry({ service: 'api' }),
    clock,
    readiness: { queueRedis: () => Promise.resolve({ ok: true }) },
    cache: new CacheManager({ ttlPolicy: new TtlPolicy({ clock, jitter: 0 }), clock }),
    auth: {
      keys: [{ name: 'client', key: CLIENT_KEY }],
      adminKey: ADMIN_KEY,
      readsRequireKey: false,
    },
    bodyLimitBytes: 4096,
    ...overrides,
  };
}

/** Headers presenting the client key. */
export const asClient = { 'x-api-key': CLIENT_KEY };
