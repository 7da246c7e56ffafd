import { describe, expect, it } from '@jest/globals';
import { ManualClock, type DataType } from '@fiml/market';
import { startRedisServer, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import { L1Cache } from '../src/l1/l1-cache.js';
import {
  FetchFailedError,
  InvalidFetchResultError,
  NoLoaderError,
} from '../src/manager/cache-errors.js';
import type { L1Value } from '../src/manager/tier-store.js';
import { CacheManager, type CacheManagerOptions } from '../src/manager/cache-manager.js';
import type { Fetched } from '../src/manager/types.js';
import { AAPL, T0, connection, counter, loader, manager, open, recorder } from './support.js';

describe('read-through', () => {
  it('answers from upstream, then L1, then (on another instance) L2', async () => {
    const prefix = uniqueName('cm');
    const a = await manager({ prefix });
    const b = await manager({ prefix });
    const fetch = counter(() => ({ value: { price: 231.5 }, source: 'sim-equities' }));

    const first = await a.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);
    expect(first).toMatchObject({
      from: 'upstream',
      stale: false,
      found: true,
      value: { price: 231.5 },
    });
    expect(first.entry).toMatchObject({
      source: 'sim-equities',
      writer: 'read-through',
      ttlMs: 300_000,
      softExpiresAt: T0 + 300_000,
    });
    expect((await a.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL)).from).toBe(
      'l1',
    );
    expect((await b.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL)).from).toBe(
      'l2',
    );
    expect((await b.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL)).from).toBe(
      'l1',
    );
    expect(fetch.calls()).toBe(1);
  });

  it('uses the market calendar for the TTL (after the close: the after-hours TTL)', async () => {
    const clock = new ManualClock('2026-11-24T17:00:00-05:00');
    const m = await manager({ clock });
    const read = await m.getWithReadThrough(
      'price:equity:AAPL',
      'price',
      async () => ({ value: 1, source: 's' }),
      AAPL,
    );
    expect(read.entry.ttlMs).toBe(20 * 60_000);
    const crypto = await m.getWithReadThrough(
      'price:crypto:BTC',
      'price',
      async () => ({ value: 1, source: 's' }),
      {
        symbol: 'BTC',
        assetType: 'crypto',
      },
    );
    expect(crypto.entry.ttlMs).toBe(60_000);
  });

  it('makes at most 15 upstream fetches for 1,000 concurrent reads of 15 cold keys on two instances', async () => {
    const prefix = uniqueName('cm');
    const [a, b] = [await manager({ prefix }), await manager({ prefix })];
    const symbols = Array.from({ length: 15 }, (_, i) => `S${i}`);
    const fetched: string[] = [];
    const reads = Array.from({ length: 1_000 }, (_, i) => {
      const symbol = symbols[i % 15]!;
      const m = i % 2 === 0 ? a : b;
      return m.getWithReadThrough(
        `price:equity:${symbol}`,
        'price',
        async () => {
          fetched.push(symbol);
          await new Promise((resolve) => setTimeout(resolve, 20)); // an upstream takes time
          return { value: { symbol }, source: 'sim' };
        },
        { symbol, assetType: 'equity' },
      );
    });
    const results = await Promise.all(reads);
    expect(
      results.every((r, i) => (r.value as { symbol: string }).symbol === symbols[i % 15]),
    ).toBe(true);
    expect(fetched.length).toBeLessThanOrEqual(15);
    expect(new Set(fetched).size).toBe(fetched.length);
  });

  it('coalesces concurrent misses of one route into batch calls of at most maxBatchSize, across two instances', async () => {
    const prefix = uniqueName('cm');
    const upstream = loader(10);
    const [a, b] = [
      await manager({ prefix, loaderFor: () => upstream.loader }),
      await manager({ prefix, loaderFor: () => upstream.loader }),
    ];
    const symbols = Array.from({ length: 15 }, (_, i) => `S${i}`);
    await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        (i % 2 ? a : b).read('price', 'equity', symbols[i % 15]!),
      ),
    );
    const fetchedSymbols = upstream.calls.flat();
    expect(fetchedSymbols.length).toBeLessThanOrEqual(15);
    expect(new Set(fetchedSymbols).size).toBe(fetchedSymbols.length);
    expect(upstream.calls.every((call) => call.length <= 10)).toBe(true);
    expect(upstream.calls.length).toBeLessThanOrEqual(4);
  });

  it('reads a batch with one L2 round trip (and one re-read under its locks) and one upstream call for the misses', async () => {
    const upstream = loader(100);
    // A zero window: the batch must not depend on how fast the machine is.
    const m = await manager({ loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    await m.read('price', 'equity', 'AAPL');
    const symbols = ['AAPL', ...Array.from({ length: 99 }, (_, i) => `C${i}`), 'NOPE'];
    const stats = await connection();
    const mgets = async () =>
      Number(/cmdstat_mget:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1] ?? 0);
    const mgetsBefore = await mgets();
    const results = await m.readMany('price', 'equity', symbols);
    // The misses were read from L2 once (one MGET), and once more for all of them after their
    // locks were taken (another instance may have written them meanwhile): never once per key.
    expect((await mgets()) - mgetsBefore).toBe(2);
    expect(upstream.calls).toHaveLength(2);
    expect(upstream.calls[1]).toHaveLength(100);
    expect(results[0]).toMatchObject({ symbol: 'AAPL', status: 'ok', read: { from: 'l1' } });
    expect(results[1]).toMatchObject({
      symbol: 'C0',
      status: 'ok',
      read: { from: 'upstream', found: true },
    });
    expect(results[100]).toMatchObject({ symbol: 'NOPE', status: 'ok', read: { found: false } });
  });

  it('caches not-found briefly (negative caching)', async () => {
    const clock = new ManualClock(T0);
    const m = await manager({ clock, negativeTtlMs: 30_000 });
    const fetch = counter(() => ({ notFound: true as const, source: 'sim' }));
    const read = () =>
      m.getWithReadThrough('fundamentals:equity:ZZZZ', 'fundamentals', fetch.fn, {
        symbol: 'ZZZZ',
        assetType: 'equity',
      });
    expect(await read()).toMatchObject({ found: false, value: undefined, from: 'upstream' });
    expect(await read()).toMatchObject({ found: false, from: 'l1' });
    expect(fetch.calls()).toBe(1);
    clock.advance(30_000);
    await read();
    expect(fetch.calls()).toBe(2);
  });
});

describe('readL1: the L1 step of read, without a promise', () => {
  it('answers what read would from L1 and counts it as read would; otherwise nothing, counted nothing', async () => {
    const clock = new ManualClock(T0);
    const upstream = loader(100);
    const m = await manager({ clock, loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    const hits = recorder(m, 'hit');
    const misses = recorder(m, 'miss');

    expect(m.readL1('price', 'equity', 'AAPL')).toBeUndefined();
    expect([hits.length, misses.length, upstream.calls.length]).toEqual([0, 0, 0]);

    await m.read('price', 'equity', 'AAPL');
    expect(misses).toHaveLength(1);
    const hit = m.readL1('price', 'equity', 'AAPL');
    expect(hit).toMatchObject({ from: 'l1', stale: false, found: true, value: { price: 4 } });
    expect(hits).toEqual([expect.objectContaining({ key: 'price:equity:AAPL', level: 'l1' })]);
    // Another symbol of the route, never read: a miss read has to make, not this.
    expect(m.readL1('price', 'equity', 'MSFT')).toBeUndefined();
    expect(hits).toHaveLength(1);

    // Past freshness, inside the revalidate window: served stale, its refresh asked for once.
    clock.advance(5 * 60_000 + 1);
    const refreshed = waitForEvent(m, 'set', { description: 'the background refresh' });
    expect(m.readL1('price', 'equity', 'AAPL')).toMatchObject({ stale: true, from: 'l1' });
    await refreshed;
    expect(upstream.calls).toEqual([['AAPL'], ['AAPL']]);
    expect(m.readL1('price', 'equity', 'AAPL')).toMatchObject({ stale: false });

    // Refused as read refuses it: a key that cannot be one.
    expect(() => m.readL1('price', 'equity', '')).toThrow(/key/);
    await expect(m.read('price', 'equity', '')).rejects.toThrow(/key/);
  });
});

describe("fetch admission (the app's per-client upstream budget)", () => {
  /** Admits up to `budget` fetches in all, and records each question. */
  function gate(budget: number) {
    const asked: number[] = [];
    let left = budget;
    return {
      asked,
      admitFetch(count: number) {
        asked.push(count);
        const admitted = Math.min(count, left);
        left -= admitted;
        return { admitted, refuse: (i: number) => new Error(`refused #${i}`) };
      },
    };
  }

  it('is not asked for hits; fetches the admitted misses of a batch and fails the rest with the refusal', async () => {
    const upstream = loader(100);
    const m = await manager({ loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    await m.read('price', 'equity', 'AAPL');
    const g = gate(2);
    const symbols = ['AAPL', 'C1', 'C2', 'C3', 'C1', 'C4'];
    const results = await m.readMany('price', 'equity', symbols, g);
    // Four distinct misses: the hit and the repeated key are not counted.
    expect(g.asked).toEqual([4]);
    expect(upstream.calls).toEqual([['AAPL'], ['C1', 'C2']]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'error', 'ok', 'error']);
    const causes = results.map((r) =>
      r.status === 'error' ? ((r.error as FetchFailedError).cause as Error).message : undefined,
    );
    expect(causes).toEqual([
      undefined,
      undefined,
      undefined,
      'refused #0',
      undefined,
      'refused #1',
    ]);
    expect(results[3]).toMatchObject({ error: expect.any(FetchFailedError) });

    const hits = gate(0);
    await m.readMany('price', 'equity', ['AAPL', 'C1', 'C2'], hits);
    await m.read('price', 'equity', 'C2', hits);
    expect(hits.asked).toEqual([]);
  });

  it('asks once for a single miss, and a refused miss is a FetchFailedError with the refusal as its cause', async () => {
    const upstream = loader(100);
    const m = await manager({ loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    const g = gate(1);
    expect(await m.read('price', 'equity', 'A1', g)).toMatchObject({ from: 'upstream' });
    const refused = m.read('price', 'equity', 'A2', g);
    await expect(refused).rejects.toBeInstanceOf(FetchFailedError);
    await expect(refused).rejects.toMatchObject({ cause: { message: 'refused #0' } });
    expect(g.asked).toEqual([1, 1]);
    expect(upstream.calls).toEqual([['A1']]);
  });

  it('serves a refused miss stale when its stale-if-error window allows', async () => {
    const clock = new ManualClock(T0);
    const upstream = loader(100);
    const m = await manager({
      clock,
      loaderFor: () => upstream.loader,
      coalesceWindowMs: 0,
      staleIfErrorMs: 3_600_000,
    });
    await m.read('price', 'equity', 'AAPL');
    clock.advance(30 * 60_000); // beyond revalidation: only stale-if-error would serve it
    const stale = recorder(m, 'stale-served');
    expect(await m.read('price', 'equity', 'AAPL', gate(0))).toMatchObject({ stale: true });
    expect(stale).toHaveLength(1);
    expect(upstream.calls).toEqual([['AAPL']]);
  });

  it('lets a read join a fetch already running in this process without asking', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const upstream = loader(100);
    const m = await manager({ loaderFor: () => upstream.loader, coalesceWindowMs: 0 });
    const fetch = counter(async () => {
      await held;
      return { value: 1, source: 'sim' };
    });
    const first = m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);
    await waitFor(() => fetch.calls() === 1, { description: 'the first fetch to start' });
    const g = gate(0);
    const joined = m.readMany('price', 'equity', ['AAPL'], g);
    release();
    expect((await joined)[0]).toMatchObject({ status: 'ok', read: { found: true } });
    await first;
    expect(g.asked).toEqual([]);
    expect(upstream.calls).toEqual([]);
  });
});

describe('stale data', () => {
  it('serves a stale value at once and refreshes it once in the background (stale-while-revalidate)', async () => {
    const clock = new ManualClock(T0);
    const m = await manager({ clock });
    let price = 100;
    const fetch = counter(() => ({ value: { price: price++ }, source: 'sim' }));
    const read = () => m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);
    await read();
    clock.advance(5 * 60_000 + 1); // past freshness, inside the revalidation window (one more TTL)
    const stale = recorder(m, 'stale-served');
    const refreshed = waitForEvent(m, 'set', { description: 'the background refresh' });
    const reads = await Promise.all(Array.from({ length: 20 }, read));
    expect(reads.every((r) => r.stale && (r.value as { price: number }).price === 100)).toBe(true);
    expect(stale[0]).toMatchObject({ reason: 'revalidate', level: 'l1', ageMs: 1 });
    await refreshed;
    expect(fetch.calls()).toBe(2);
    expect(await read()).toMatchObject({ stale: false, value: { price: 101 } });
  });

  it('asks the app to refresh a stale key once when it wires onStale', async () => {
    const clock = new ManualClock(T0);
    const asked: string[] = [];
    const m = await manager({
      clock,
      onStale: (r) => {
        asked.push(`${r.dataType}:${r.asset.symbol}`);
      },
    });
    const fetch = counter(() => ({ value: 1, source: 'sim' }));
    await m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);
    clock.advance(6 * 60_000);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL),
      ),
    );
    expect(asked).toEqual(['price:AAPL']);
    expect(fetch.calls()).toBe(1);
  });

  it('asks the app to refresh ahead, once per entry, when reads reach the last share of its freshness', async () => {
    const clock = new ManualClock(T0);
    const asked: { symbol: string; freshUntil: number }[] = [];
    const { loader: l } = loader();
    const m = await manager({
      clock,
      loaderFor: () => l,
      refreshAheadFraction: 0.25,
      onRefreshAhead: (r) => {
        asked.push({ symbol: r.asset.symbol, freshUntil: r.freshUntil });
      },
    });
    const first = await m.read('price', 'equity', 'AAPL');
    const { softExpiresAt, ttlMs } = first.entry;
    // Market hours on a Tuesday: a price is fresh for 5 minutes.
    expect(ttlMs).toBe(5 * 60_000);

    // Before the last quarter of its freshness: no request, from L1 or from a batch read.
    clock.set(softExpiresAt - ttlMs * 0.25 - 1);
    await m.read('price', 'equity', 'AAPL');
    await m.readMany('price', 'equity', ['AAPL', 'MSFT']);
    expect(asked).toEqual([]);

    // In it: one request however many reads, single or batch, saying when the entry goes stale.
    clock.set(softExpiresAt - ttlMs * 0.25);
    await Promise.all(Array.from({ length: 5 }, () => m.read('price', 'equity', 'AAPL')));
    await m.readMany('price', 'equity', ['AAPL', 'MSFT']);
    expect(asked).toEqual([
      { symbol: 'AAPL', freshUntil: softExpiresAt },
      // MSFT, fetched by the batch read above, is far from its expiry yet.
    ]);

    // Stale reads take the stale path (onStale, in-process here), never the ahead one.
    clock.set(softExpiresAt + 1);
    expect(await m.read('price', 'equity', 'AAPL')).toMatchObject({ stale: true });
    expect(asked).toHaveLength(1);
  });

  it('reports a refresh-ahead request that fails, and never fetches for it in-process', async () => {
    const clock = new ManualClock(T0);
    const { loader: l, calls } = loader();
    const m = await manager({
      clock,
      loaderFor: () => l,
      refreshAheadFraction: 0.5,
      onRefreshAhead: () => Promise.reject(new Error('queue Redis down')),
    });
    const errors = recorder(m, 'error');
    const { entry } = await m.read('price', 'equity', 'AAPL');
    clock.set(entry.softExpiresAt - 1);
    expect(await m.read('price', 'equity', 'AAPL')).toMatchObject({ stale: false, from: 'l1' });
    await waitFor(() => errors.length > 0, { timeoutMs: 5_000, description: 'the error event' });
    expect(errors).toEqual([
      expect.objectContaining({
        component: 'revalidate',
        operation: 'enqueue',
        key: 'price:equity:AAPL',
      }),
    ]);
    expect(calls).toHaveLength(1);
  });

  it('serves a stale value when the fetch fails (stale-if-error), and fails without one', async () => {
    const clock = new ManualClock(T0);
    const m = await manager({ clock, staleIfErrorMs: 3_600_000 });
    let healthy = true;
    const fetch = async (): Promise<Fetched<number>> => {
      if (!healthy) throw new Error('upstream 503');
      return { value: 42, source: 'sim' };
    };
    await m.getWithReadThrough('price:equity:AAPL', 'price', fetch, AAPL);
    healthy = false;
    clock.advance(30 * 60_000); // beyond the revalidation window: fetch first, stale only as fallback
    const stale = recorder(m, 'stale-served');
    expect(await m.getWithReadThrough('price:equity:AAPL', 'price', fetch, AAPL)).toMatchObject({
      stale: true,
      value: 42,
    });
    expect(stale).toEqual([expect.objectContaining({ reason: 'fetch-error' })]);
    await expect(
      m.getWithReadThrough('price:equity:MSFT', 'price', fetch, {
        symbol: 'MSFT',
        assetType: 'equity',
      }),
    ).rejects.toThrow(FetchFailedError);
    healthy = true;
    expect(await m.getWithReadThrough('price:equity:AAPL', 'price', fetch, AAPL)).toMatchObject({
      stale: false,
      from: 'upstream',
    });
  });
});

describe('coherence across instances', () => {
  it('a write on one instance drops the key from the other instance’s L1', async () => {
    const prefix = uniqueName('cm');
    const [a, b] = [await manager({ prefix }), await manager({ prefix })];
    await a.setPrice(AAPL, 'sim', { price: 1 });
    expect((await b.get('price:equity:AAPL'))?.value).toEqual({ price: 1 });
    expect(b.l1.has('price:equity:AAPL')).toBe(true);

    const dropped = waitForEvent(b, 'invalidate', {
      filter: (e) => (e as { origin: string }).origin === 'remote',
    });
    await a.setPrice(AAPL, 'sim', { price: 2 });
    await dropped;
    expect(b.l1.has('price:equity:AAPL')).toBe(false);
    expect(await b.get('price:equity:AAPL')).toMatchObject({ from: 'l2', value: { price: 2 } });

    const deleted = waitForEvent(b, 'invalidate', {
      filter: (e) => (e as { origin: string }).origin === 'remote',
    });
    await a.invalidate('price:equity:AAPL');
    await deleted;
    expect(await b.get('price:equity:AAPL')).toBeUndefined();
  });

  it('writes batches in one round trip and reads them back', async () => {
    const m = await manager();
    await m.setPricesBatch([
      { asset: AAPL, provider: 'sim', data: 1 },
      { asset: { symbol: 'BTC', assetType: 'crypto' }, provider: 'sim', data: 2 },
    ]);
    const reads = await m.getPricesBatch([
      AAPL,
      { symbol: 'BTC', assetType: 'crypto' },
      { symbol: 'X', assetType: 'equity' },
    ]);
    expect(reads.map((r) => r?.value)).toEqual([1, 2, undefined]);
  });
});

describe('when the cache Redis dies', () => {
  it('keeps answering from L1 and upstream behind the circuit breaker, and recovers', async () => {
    const server = await startRedisServer();
    open.push(() => server.stop());
    const clock = new ManualClock(T0);
    const m = await manager({ clock, url: server.url, breakerCooldownMs: 1_000 });
    const circuit = recorder(m, 'circuit');
    const fetch = counter((n) => ({ value: n, source: 'sim' }));
    await m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL);

    await server.kill();
    expect((await m.getWithReadThrough('price:equity:AAPL', 'price', fetch.fn, AAPL)).from).toBe(
      'l1',
    );
    for (const symbol of ['A', 'B', 'C', 'D']) {
      const read = await m.getWithReadThrough(`price:equity:${symbol}`, 'price', fetch.fn, {
        symbol,
        assetType: 'equity',
      });
      expect(read.from).toBe('upstream');
    }
    expect(m.circuitState).toBe('open');
    expect(circuit.map((c) => c.state)).toEqual(['open']);

    await server.start();
    const reconnected = waitForEvent(m, 'invalidate', {
      timeoutMs: 15_000,
      filter: (e) => (e as { origin: string }).origin === 'reconnect',
      description: 'the subscriber to reconnect',
    });
    await reconnected;
    clock.advance(1_000);
    await waitFor(
      async () => {
        clock.advance(1_000);
        await m.getWithReadThrough('price:equity:E', 'price', fetch.fn, {
          symbol: 'E',
          assetType: 'equity',
        });
        return m.circuitState === 'closed';
      },
      { timeoutMs: 10_000, description: 'the circuit to close once Redis is back' },
    );
    // Writes reach L2 again: a key first read after the recovery is stored there.
    await m.getWithReadThrough('price:equity:F', 'price', fetch.fn, {
      symbol: 'F',
      assetType: 'equity',
    });
    expect(m.l2 && (await m.l2.get('price:equity:F')).status).toBe('hit');
  });
});

describe('bad input', () => {
  it('rejects empty and oversized keys, unknown data types, and fetch functions resolving undefined', async () => {
    const m = await manager();
    const ok = async () => ({ value: 1, source: 's' });
    await expect(m.getWithReadThrough('', 'price', ok, AAPL)).rejects.toThrow(
      'cache key must not be empty',
    );
    await expect(m.getWithReadThrough('k'.repeat(600), 'price', ok, AAPL)).rejects.toThrow(
      /600 bytes/,
    );
    await expect(
      m.getWithReadThrough('price:equity:AAPL', 'quotes' as DataType, ok, AAPL),
    ).rejects.toThrow(/unsupported data type "quotes"/);
    await expect(
      m.getWithReadThrough(
        'price:equity:AAPL',
        'price',
        (async () => undefined) as unknown as typeof ok,
        AAPL,
      ),
    ).rejects.toThrow(InvalidFetchResultError);
    await expect(m.read('news', 'crypto', 'BTC')).rejects.toThrow(NoLoaderError);
    expect(() => new CacheManager({} as CacheManagerOptions)).toThrow(TypeError);
  });

  it('treats a corrupt L2 value as a miss, logs it once, and overwrites it', async () => {
    const prefix = uniqueName('cm');
    const warnings: string[] = [];
    const m = await manager({
      prefix,
      logger: { warn: (_o, msg) => warnings.push(msg), error: () => undefined },
    });
    const raw = await connection();
    await raw.set(`${prefix}:v2:e:price:equity:AAPL`, 'garbage');
    expect(await m.get('price:equity:AAPL')).toBeUndefined();
    expect(await m.get('price:equity:AAPL')).toBeUndefined();
    expect(warnings.filter((w) => w.startsWith('corrupt L2 entry'))).toHaveLength(1);
    await m.getWithReadThrough(
      'price:equity:AAPL',
      'price',
      async () => ({ value: 7, source: 's' }),
      AAPL,
    );
    expect((await m.l2!.get('price:equity:AAPL')).status).toBe('hit');
  });
});

describe('events', () => {
  it('reports L1 evictions with whether the entry was ever read', async () => {
    const clock = new ManualClock(T0);
    const l1 = new L1Cache<L1Value>({ maxEntries: 2, evictionPolicy: 'lru', clock });
    const m = await manager({ clock, l1 });
    const evicted = recorder(m, 'evict');
    await m.setPrice({ symbol: 'A', assetType: 'equity' }, 's', 1);
    await m.setPrice({ symbol: 'B', assetType: 'equity' }, 's', 2);
    await m.get('price:equity:B');
    await m.setPrice({ symbol: 'C', assetType: 'equity' }, 's', 3);
    expect(evicted).toEqual([
      {
        key: 'price:equity:A',
        dataType: 'price',
        level: 'l1',
        cause: 'capacity',
        writer: 'manual',
        wasRead: false,
      },
    ]);
  });
});
