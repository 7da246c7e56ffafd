import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock, type DataType } from '@fiml/market';
import { TtlPolicy } from '../src/index.js';
import {
  startRedisServer,
  testRedisUrl,
  uniqueName,
  waitForEvent,
  type RedisServer,
} from '@fiml/testing';
import type { CacheEvents } from '../src/cache-events.js';
import { CacheManager, type CacheManagerOptions } from '../src/manager/cache-manager.js';
import type { AssetKey, BatchLoader, Fetched, LoadResult } from '../src/manager/types.js';

// Shared by the CacheManager suites: real redis-server connections, managers
// on a manual clock with a unique key prefix each, and counting fake upstreams.
// Tuesday 2026-11-24 10:00 New York: regular session, price TTL 5 min.
export const T0 = Date.parse('2026-11-24T10:00:00-05:00');
export const AAPL: AssetKey = { symbol: 'AAPL', assetType: 'equity' };

export const open: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/**
 * A redis-server of the suite's own, for suites that pause it or read it
 * whole (CLIENT PAUSE, KEYS, encodings), and a plain connection to it; both
 * ready in the suite's beforeAll and gone after it.
 */
export function suiteRedisServer(): { readonly server: RedisServer; readonly redis: Redis } {
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('suiteRedisServer: used outside a test');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get redis() {
      return ready(redis);
    },
  };
}

/** A cache-role connection (fails fast, like the api's), ready before use. */
export async function connection(url = testRedisUrl()): Promise<Redis> {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
  });
  redis.on('error', () => undefined);
  open.push(() => redis.disconnect());
  if (redis.status !== 'ready') await waitForEvent(redis, 'ready');
  return redis;
}

export async function manager(
  options: Partial<CacheManagerOptions> & {
    clock?: ManualClock;
    prefix?: string;
    url?: string;
  } = {},
): Promise<CacheManager> {
  const clock = options.clock ?? new ManualClock(T0);
  const m = new CacheManager({
    ttlPolicy: new TtlPolicy({ clock, jitter: 0 }),
    clock,
    redis: await connection(options.url),
    keyPrefix: options.prefix ?? uniqueName('cm'),
    lockWaitMs: 2_000,
    ...options,
  });
  await m.start();
  open.push(() => m.close());
  return m;
}

/** A fetch function that counts its calls. */
export function counter<V>(answer: (n: number) => Fetched<V> | Promise<Fetched<V>>) {
  let calls = 0;
  const fn = async () => answer(++calls);
  return { fn, calls: () => calls };
}

/** A batch loader over a fake upstream that counts calls and symbols. */
export function loader(maxBatchSize = 100, known = (s: string) => s !== 'NOPE') {
  const calls: string[][] = [];
  const l: BatchLoader = {
    id: 'equity:price',
    maxBatchSize,
    load: (_dataType: DataType, assets) => {
      calls.push(assets.map((a) => a.symbol));
      const out = new Map<string, LoadResult>();
      for (const a of assets) {
        out.set(
          a.symbol,
          known(a.symbol)
            ? { value: { price: a.symbol.length }, source: 'sim' }
            : { notFound: true, source: 'sim' },
        );
      }
      return Promise.resolve(out);
    },
  };
  return { loader: l, calls };
}

export function recorder<E extends keyof CacheEvents>(m: CacheManager, event: E) {
  const seen: Parameters<CacheEvents[E]>[0][] = [];
  m.on(event, (e: Parameters<CacheEvents[E]>[0]) => seen.push(e));
  return seen;
}
