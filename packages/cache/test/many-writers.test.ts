// The cache with several writers (api instances, the batch-scheduler, the
// warmer, BullMQ retries), against a real redis-server: each test is one
// defect of the single-writer read path, and failed on it.
import { describe, expect, it } from '@jest/globals';
import { ManualClock, type DataType } from '@fiml/market';
import { TtlPolicy } from '../src/index.js';
import { startRedisServer, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import type { CacheErrorEvent, CacheSetEvent } from '../src/cache-events.js';
import type { CacheEntry } from '../src/l2/cache-entry.js';
import {
  CacheUnavailableError,
  FetchFailedError,
  FetchTimeoutError,
} from '../src/manager/cache-errors.js';
import { CacheWriter } from '../src/manager/cache-writer.js';
import type { BatchLoader, LoadResult } from '../src/manager/types.js';
import { L1Cache } from '../src/l1/l1-cache.js';
import { L2Store } from '../src/l2/l2-store.js';
import { CacheEmitter } from '../src/manager/cache-emitter.js';
import { RedisGuard } from '../src/manager/redis-guard.js';
import { TierStore, type L1Value } from '../src/manager/tier-store.js';
import { AAPL, T0, connection, counter, loader, manager, open, recorder } from './support.js';

async function writer(prefix: string, clock: ManualClock, url?: string): Promise<CacheWriter> {
  return new CacheWriter({
    redis: await connection(url),
    keyPrefix: prefix,
    clock,
    ttlPolicy: new TtlPolicy({ clock, jitter: 0 }),
  });
}

const silent = { warn: () => undefined, error: () => undefined };

/** Writes an entry straight to L2 and returns it. */
async function stored(
  l2: L2Store,
  key: string,
  value: unknown,
  fetchedAt: number,
): Promise<CacheEntry> {
  const entry: CacheEntry = {
    kind: 'value',
    value,
    dataType: 'price',
    fetchedAt,
    source: 'sim',
    writer: 'scheduler',
    ttlMs: 300_000,
    softExpiresAt: fetchedAt + 300_000,
    hardExpiresAt: fetchedAt + 600_000,
  };
  await l2.set(key, entry);
  return entry;
}

/** A loader whose calls wait until the test releases them (or never, if it does not). */
function gatedLoader(maxBatchSize = 100) {
  const calls: { symbols: string[]; signal: AbortSignal }[] = [];
  let open = false;
  const waiting: (() => void)[] = [];
  const l: BatchLoader = {
    id: 'equity:price',
    maxBatchSize,
    load: async (_dataType: DataType, assets, { signal }) => {
      calls.push({ symbols: assets.map((a) => a.symbol), signal });
      if (!open) await new Promise<void>((resolve) => waiting.push(resolve));
      return new Map<string, LoadResult>(
        assets.map((a) => [a.symbol, { value: { price: calls.length }, source: 'sim' }]),
      );
    },
  };
  return {
    loader: l,
    calls,
    release: () => {
      open = true;
      waiting.splice(0).forEach((go) => go());
    },
  };
}

describe('cross-instance single flight', () => {
  it('an instance that takes the lock just after another released it re-reads L2 instead of fetching again', async () => {
    const prefix = uniqueName('sf');
    const upstream = loader(100);
    const a = await manager({ prefix, loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    // b's miss waits in its coalescing window while a fetches, writes and releases.
    const b = await manager({ prefix, loaderFor: () => upstream.loader, coalesceWindowMs: 150 });
    const slow = b.read('price', 'equity', 'AAPL');
    const first = await a.read('price', 'equity', 'AAPL');
    const second = await slow;
    expect(upstream.calls).toHaveLength(1);
    expect(second.entry.fetchedAt).toBe(first.entry.fetchedAt);
  });

  it('keeps its lease while a fetch outlives the lock TTL, so another instance waits instead of fetching', async () => {
    const prefix = uniqueName('sf');
    const upstream = gatedLoader();
    const opts = { prefix, loaderFor: () => upstream.loader, lockTtlMs: 150, lockWaitMs: 5_000 };
    const a = await manager(opts);
    const b = await manager(opts);
    const redis = await connection();
    const lockKey = `${prefix}:v2:lock:price:equity:AAPL`;
    const readA = a.read('price', 'equity', 'AAPL');
    await waitFor(() => upstream.calls.length === 1, { timeoutMs: 2_000 });
    const readB = b.read('price', 'equity', 'AAPL');
    // Three lock TTLs later the holder's lock is still there (renewed), and b has not fetched.
    const since = performance.now();
    await waitFor(
      async () => performance.now() - since > 450 && (await redis.exists(lockKey)) === 1,
      {
        timeoutMs: 3_000,
        description: 'the lock to outlive three of its TTLs',
      },
    );
    expect(upstream.calls).toHaveLength(1);
    upstream.release();
    const [ra, rb] = await Promise.all([readA, readB]);
    expect(rb.entry.fetchedAt).toBe(ra.entry.fetchedAt);
    expect(upstream.calls).toHaveLength(1);
    expect(await redis.exists(lockKey)).toBe(0);
  });
});

describe('newer wins', () => {
  it('an older entry written after a newer one, by another writer, changes nothing in L2 or any L1', async () => {
    const prefix = uniqueName('nw');
    const clock = new ManualClock(T0);
    const api = await manager({ prefix, clock });
    const w1 = await writer(prefix, clock);
    const w2 = await writer(prefix, clock);
    const newer = w1.buildEntry(
      'price',
      'equity',
      { value: 'new', source: 'sim', fetchedAt: T0 + 2_000 },
      'scheduler',
    );
    const older = w2.buildEntry(
      'price',
      'equity',
      { value: 'old', source: 'sim', fetchedAt: T0 + 1_000 },
      'warmer',
    );

    expect(await w1.write([['price:equity:AAPL', newer]])).toEqual([
      { key: 'price:equity:AAPL', status: 'written' },
    ]);
    expect((await api.get('price:equity:AAPL'))?.value).toBe('new');
    // A retried job or a slow worker delivers older data afterwards.
    expect(await w2.write([['price:equity:AAPL', older]])).toEqual([
      { key: 'price:equity:AAPL', status: 'skipped', reason: 'newer' },
    ]);
    expect((await api.get('price:equity:AAPL'))?.value).toBe('new');
    expect(api.l1.peek('price:equity:AAPL')?.entry).toMatchObject({ value: 'new' });
    expect(await w2.peek(['price:equity:AAPL'])).toEqual([newer]);
    // The read path's own writes obey the same rule.
    const outcomes = await api.storeEntries([['price:equity:AAPL', older]]);
    expect(outcomes).toEqual([{ key: 'price:equity:AAPL', status: 'skipped', reason: 'newer' }]);
    expect((await api.get('price:equity:AAPL'))?.value).toBe('new');
  });

  it('an L2 reply that left Redis before a local write does not replace the newer value in L1', async () => {
    const prefix = uniqueName('nw');
    const clock = new ManualClock(T0);
    const api = await manager({ prefix, clock });
    await api.set('price:equity:AAPL', 'old', { dataType: 'price', source: 'sim' });
    api.l1.clear();
    clock.advance(1_000);
    const reading = api.get('price:equity:AAPL'); // its L2 read goes out with 'old'
    const writing = api.set('price:equity:AAPL', 'new', { dataType: 'price', source: 'sim' });
    await Promise.all([reading, writing]);
    expect(api.l1.peek('price:equity:AAPL')?.entry).toMatchObject({ value: 'new' });
    expect((await api.get('price:equity:AAPL'))?.value).toBe('new');
  });

  it('an L2 reply that crossed an invalidation of its key stays out of L1, unless the write it announced is no newer', async () => {
    const prefix = uniqueName('nw');
    const clock = new ManualClock(T0);
    const events = new CacheEmitter();
    const redis = await connection();
    const guard = new RedisGuard({ clock, events, logger: silent, enabled: true });
    const l2 = new L2Store({ redis, keyPrefix: prefix, clock });
    const tiers = new TierStore({
      l1: new L1Cache<L1Value>({ maxEntries: 10, clock }),
      l2,
      bus: undefined,
      guard,
      events,
      clock,
    });
    const old = { ...(await stored(l2, 'price:equity:AAPL', 'old', T0)) };
    await stored(l2, 'price:equity:MSFT', 'old', T0);
    // Both reads leave before the invalidations arrive; their replies come after.
    const reading = tiers.readL2(['price:equity:AAPL', 'price:equity:MSFT']);
    tiers.dropLocal(['price:equity:AAPL'], [T0 + 1_000]); // a newer write elsewhere
    tiers.dropLocal(['price:equity:MSFT'], [T0]); // a write of what the reply holds
    const { reads, since } = await reading;
    expect(reads[0]).toEqual({ status: 'hit', entry: old });
    tiers.fillL1('price:equity:AAPL', old, clock.now(), since);
    tiers.fillL1('price:equity:MSFT', old, clock.now(), since);
    expect(tiers.l1.has('price:equity:AAPL')).toBe(false);
    expect(tiers.l1.has('price:equity:MSFT')).toBe(true);
  });
});

describe('bounded fetches', () => {
  it('a loader that never settles fails the read at the hard timeout, aborts its signal, and frees the key', async () => {
    const upstream = gatedLoader(); // never released
    const m = await manager({
      loaderFor: () => upstream.loader,
      // Long enough for the second read (L2, lock, the released loader, the write) on a
      // loaded CI machine: at 200 ms it timed out there too.
      fetchTimeoutMs: 1_000,
      coalesceWindowMs: 0,
    });
    const errors = recorder(m, 'error');
    const failed = await m.read('price', 'equity', 'AAPL').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(FetchFailedError);
    expect((failed as FetchFailedError).cause).toBeInstanceOf(FetchTimeoutError);
    // The loader's signal aborts with the bound, so its upstream call is cancelled too.
    const { signal } = upstream.calls[0]!;
    await waitFor(() => signal.aborted, { timeoutMs: 2_000, description: 'the signal to abort' });
    expect(errors.some((e) => e.operation === 'timeout')).toBe(true);
    // The next read is not stuck behind the dead flight: it fetches again.
    upstream.release();
    const next = await m.read('price', 'equity', 'AAPL');
    expect(next.from).toBe('upstream');
    expect(upstream.calls).toHaveLength(2);
  });

  it('serves stale data at the soft timeout while the slow fetch goes on and lands', async () => {
    const clock = new ManualClock(T0);
    const upstream = gatedLoader();
    const m = await manager({
      clock,
      loaderFor: () => upstream.loader,
      softFetchTimeoutMs: 50,
      fetchTimeoutMs: 5_000,
      staleWhileRevalidateFactor: 0,
    });
    await m.set('price:equity:AAPL', 'stale', { dataType: 'price', source: 'sim' });
    clock.advance(6 * 60_000); // past freshness and past the (zero) revalidation window
    const served = recorder(m, 'stale-served');
    const read = await m.read('price', 'equity', 'AAPL');
    expect(read).toMatchObject({ value: 'stale', stale: true });
    expect(served.map((e) => e.reason)).toEqual(['soft-timeout']);
    const landed = waitForEvent(m, 'set', { timeoutMs: 2_000 });
    upstream.release();
    await landed;
    expect((await m.read('price', 'equity', 'AAPL')).stale).toBe(false);
  });
});

describe('errors surface', () => {
  it('a DELETE while the cache Redis is down rejects (the value is still in L2), and so does a set', async () => {
    // Persisted on every write, so what L2 held survives the kill.
    const server = await startRedisServer({ config: { appendonly: 'yes', appendfsync: 'always' } });
    open.push(() => server.stop());
    const prefix = uniqueName('err');
    const m = await manager({ prefix, url: server.url, breakerFailureThreshold: 1 });
    await m.set('price:equity:AAPL', 1, { dataType: 'price', source: 'sim' });
    await server.kill();
    const failed = await m.invalidate('price:equity:AAPL').catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CacheUnavailableError);
    expect((failed as CacheUnavailableError).retryAfterMs).toBeGreaterThanOrEqual(1_000);
    await expect(
      m.set('price:equity:MSFT', 1, { dataType: 'price', source: 'sim' }),
    ).rejects.toThrow(CacheUnavailableError);
    await server.start();
    const check = await connection(server.url);
    // A restarted server can drop a first command while it loads its append-only file: retry it.
    const exists = await waitFor(
      () => check.exists(`${prefix}:v2:e:price:equity:AAPL`).catch(() => undefined),
      { timeoutMs: 10_000, description: 'the entry still in L2 after the restart' },
    );
    expect(exists).toBe(1);
  });

  it('a throwing event listener never fails a read; its error is reported', async () => {
    const m = await manager();
    const errors: CacheErrorEvent[] = [];
    m.on('error', (e) => errors.push(e));
    m.on('hit', () => {
      throw new Error('listener bug');
    });
    const fetch = counter(() => ({ value: 1, source: 'sim' }));
    await m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);
    expect((await m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL)).from).toBe(
      'l1',
    );
    expect(errors).toContainEqual(
      expect.objectContaining({ component: 'listener', operation: 'emit' }),
    );
  });

  it('a stale key whose refresh request fails is refreshed in-process', async () => {
    const clock = new ManualClock(T0);
    const upstream = loader(100);
    const m = await manager({
      clock,
      loaderFor: () => upstream.loader,
      onStale: () => Promise.reject(new Error('queue Redis down')),
    });
    await m.read('price', 'equity', 'AAPL');
    clock.advance(6 * 60_000);
    const refreshed = waitForEvent(m, 'set', { timeoutMs: 2_000 });
    expect((await m.read('price', 'equity', 'AAPL')).stale).toBe(true);
    await refreshed;
    expect(upstream.calls).toHaveLength(2);
    expect((await m.read('price', 'equity', 'AAPL')).stale).toBe(false);
  });
});

describe('key spaces', () => {
  it('set() refuses keys outside the entry grammar, such as a lock key', async () => {
    const m = await manager();
    await expect(
      m.set('lock:price:equity:AAPL', 1, { dataType: 'price', source: 'sim' }),
    ).rejects.toThrow('is not dataType:assetType:SYMBOL');
  });
});

describe('batch answers', () => {
  it('a symbol the loader leaves out is an error for that symbol, and nothing is negative-cached', async () => {
    const calls: string[][] = [];
    const partial: BatchLoader = {
      id: 'equity:price',
      maxBatchSize: 100,
      load: (_d, assets) => {
        calls.push(assets.map((a) => a.symbol));
        return Promise.resolve(
          new Map<string, LoadResult>(
            assets
              .filter((a) => a.symbol !== 'GONE')
              .map((a) => [a.symbol, { value: 1, source: 'sim' }]),
          ),
        );
      },
    };
    const m = await manager({ loaderFor: () => partial, coalesceWindowMs: 0 });
    const [ok, gone] = await m.readMany('price', 'equity', ['AAPL', 'GONE']);
    expect(ok?.status).toBe('ok');
    expect(gone).toMatchObject({ symbol: 'GONE', status: 'error' });
    expect(await m.get('price:equity:GONE')).toBeUndefined();
    await m.readMany('price', 'equity', ['GONE']);
    expect(calls).toEqual([['AAPL', 'GONE'], ['GONE']]);
  });
});

describe('coalescing', () => {
  it('300 concurrent cold reads of distinct symbols make at most ceil(300 / batch) + 1 upstream calls', async () => {
    const upstream = loader(100);
    const m = await manager({ loaderFor: () => upstream.loader });
    const symbols = Array.from({ length: 300 }, (_, i) => `S${i}`);
    // Their L2 reads share one MGET, so their misses reach the coalescer together.
    await Promise.all(symbols.map((symbol) => m.read('price', 'equity', symbol)));
    expect(upstream.calls.flat().sort()).toEqual([...symbols].sort());
    expect(upstream.calls.length).toBeLessThanOrEqual(4);
  });

  it('misses arriving over several turns of the event loop share a batch while they keep coming', async () => {
    const upstream = loader(100);
    // A window that allows for a slow, loaded test machine between turns.
    const m = await manager({ loaderFor: () => upstream.loader, coalesceWindowMs: 50 });
    const symbols = Array.from({ length: 300 }, (_, i) => `T${i}`);
    const reads: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round += 1) {
      for (const symbol of symbols.slice(round * 50, round * 50 + 50)) {
        reads.push(m.read('price', 'equity', symbol));
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all(reads);
    expect(upstream.calls.flat().sort()).toEqual([...symbols].sort());
    expect(upstream.calls.length).toBeLessThanOrEqual(4);
  });
});

describe('CacheWriter', () => {
  it('emits set for each written entry (levels l2) and nothing for skipped ones; refuses a bad key before writing', async () => {
    const prefix = uniqueName('cw');
    const clock = new ManualClock(T0);
    const w = await writer(prefix, clock);
    const build = (value: string) =>
      w.buildEntry('price', 'equity', { value, source: 'sim' }, 'scheduler');
    const older = build('older');
    clock.advance(1_000);
    const newer = build('newer');
    expect((await w.write([['price:equity:HELD', newer]]))[0]?.status).toBe('written');

    const sets: CacheSetEvent[] = [];
    const errors: CacheErrorEvent[] = [];
    w.on('set', (event) => sets.push(event));
    w.on('error', (event) => errors.push(event));
    const outcomes = await w.write([
      ['price:equity:A', build('a')],
      ['price:equity:HELD', older],
      ['price:equity:B', build('b')],
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'skipped', 'written']);
    expect(sets).toEqual(
      ['price:equity:A', 'price:equity:B'].map((key) => ({
        key,
        dataType: 'price',
        writer: 'scheduler',
        ttlMs: newer.ttlMs,
        levels: ['l2'],
      })),
    );
    expect(errors).toEqual([]);

    await expect(
      w.write([
        ['price:equity:C', build('c')],
        ['lock:price:equity:C', build('c')],
      ]),
    ).rejects.toThrow('is not dataType:assetType:SYMBOL');
    expect(await w.peek(['price:equity:C'])).toEqual([undefined]);
    expect(sets).toHaveLength(2);
  });

  it('writes many entries in one round trip, publishes them, and reports a failed outcome when Redis is down', async () => {
    const server = await startRedisServer();
    open.push(() => server.stop());
    const prefix = uniqueName('cw');
    const clock = new ManualClock(T0);
    const api = await manager({ prefix, clock, url: server.url });
    const w = await writer(prefix, clock, server.url);
    await api.set('price:equity:A', 'old', { dataType: 'price', source: 'sim' });
    expect(api.l1.has('price:equity:A')).toBe(true);
    clock.advance(1_000);
    const entries = ['A', 'B', 'C'].map(
      (s) =>
        [
          `price:equity:${s}`,
          w.buildEntry('price', 'equity', { value: s, source: 'sim' }, 'scheduler'),
        ] as [string, CacheEntry],
    );
    const dropped = waitForEvent(api, 'invalidate', { timeoutMs: 2_000 });
    expect((await w.write(entries)).map((o) => o.status)).toEqual([
      'written',
      'written',
      'written',
    ]);
    await dropped;
    expect(api.l1.has('price:equity:A')).toBe(false);
    expect((await api.get('price:equity:A'))?.entry.writer).toBe('scheduler');

    await server.kill();
    const failed = await w.write(entries);
    expect(failed.map((o) => o.status)).toEqual(['failed', 'failed', 'failed']);
  });
});
