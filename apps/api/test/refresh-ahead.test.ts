import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { waitFor } from '@fiml/testing';
import { startHarness, startSchedulerFor, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

async function harness(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env });
  open.push(() => h.close());
  return h;
}

interface Datum {
  cache: string;
  fetchedAt: string;
  expiresAt: string;
}
const read = async (h: Harness, path: string) => (await h.app.inject(path)).json<Datum>();

/** The market-hours price TTL at the harness's instant (a Tuesday, 10:00 New York). */
const PRICE_TTL_MS = 5 * 60_000;

async function queued(h: Harness) {
  return h.refresh.queue.getJobs(['prioritized', 'waiting', 'delayed', 'active']);
}

describe('refresh ahead (CACHE_REFRESH_AHEAD_FRACTION)', () => {
  it('a read in the last half of freshness asks once for a refresh due at expiry, and later reads stay fresh', async () => {
    const h = await harness();
    expect(h.config.CACHE_REFRESH_AHEAD_FRACTION).toBe(0.5);
    const first = await read(h, '/v1/data/price/AAPL');
    expect(first.cache).toBe('miss');
    const freshUntil = Date.parse(first.expiresAt);

    // Halfway through: not yet.
    h.clock.advance(PRICE_TTL_MS * 0.5 - 1);
    expect((await read(h, '/v1/data/price/AAPL')).cache).toBe('l1');
    expect(await queued(h)).toHaveLength(0);

    // The last half: single and batch reads, one request between them.
    h.clock.advance(1);
    expect((await read(h, '/v1/data/price/AAPL')).cache).toBe('l1');
    await h.app.inject('/v1/data/price?symbols=AAPL');
    const jobs = await waitFor(
      async () => {
        const found = await queued(h);
        return found.length > 0 ? found : undefined;
      },
      { description: 'the refresh-ahead job' },
    );
    expect(jobs.map((j): unknown => j.data)).toEqual([
      {
        symbols: ['AAPL'],
        assetType: 'equity',
        dataType: 'price',
        priority: 'normal',
        reason: 'ahead',
        deadline: new Date(freshUntil).toISOString(),
        source: 'api:ahead',
      },
    ]);

    // The batch-scheduler refreshes it before the deadline (its lead is the fetch timeout).
    const scheduler = startSchedulerFor(h);
    open.push(() => scheduler.close());
    h.clock.set(freshUntil - 10_000);
    await waitFor(
      async () => {
        const [entry] = await scheduler.writer.peek(['price:equity:AAPL']);
        return entry && entry.fetchedAt > Date.parse(first.fetchedAt) ? entry : undefined;
      },
      { timeoutMs: 15_000, description: 'the entry refreshed ahead by the batch-scheduler' },
    );

    // Past the first entry's expiry: a fresh hit, not a stale read, and no upstream call of the api's.
    h.clock.set(freshUntil + 1_000);
    const after = await waitFor(
      async () => {
        const now = await read(h, '/v1/data/price/AAPL');
        return now.cache === 'l1' || now.cache === 'l2' ? now : undefined;
      },
      { description: 'a fresh hit after the first entry expired' },
    );
    expect(Date.parse(after.fetchedAt)).toBe(freshUntil - 10_000);
    expect(h.calls).toHaveLength(1);
  });

  it('asks nothing for a provider that takes one symbol per call, or when turned off', async () => {
    const h = await harness();
    const news = await read(h, '/v1/data/news/AAPL');
    const off = await harness({ CACHE_REFRESH_AHEAD_FRACTION: '0' });
    const price = await read(off, '/v1/data/price/AAPL');

    // The cache asks during the read itself: a request made would show as a call here.
    const asked = [
      jest.spyOn(h.refresh, 'enqueueRefresh'),
      jest.spyOn(off.refresh, 'enqueueRefresh'),
    ];
    h.clock.set(Date.parse(news.expiresAt) - 1);
    off.clock.set(Date.parse(price.expiresAt) - 1);
    expect((await read(h, '/v1/data/news/AAPL')).cache).toBe('l1');
    expect((await read(off, '/v1/data/price/AAPL')).cache).toBe('l1');
    expect(asked.map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
    expect(await queued(h)).toHaveLength(0);
    expect(await queued(off)).toHaveLength(0);
  });
});
