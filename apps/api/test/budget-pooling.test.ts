import { afterEach, describe, expect, it } from '@jest/globals';
import { type ProviderCallEvent } from '@fiml/providers';
import { WELL_KNOWN_EQUITIES } from '@fiml/simulator';
import { waitFor } from '@fiml/testing';
import { startHarness, startSchedulerFor, type Harness } from './harness.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

const SYMBOLS = Object.keys(WELL_KNOWN_EQUITIES).slice(0, 20);
/** One budget period of a 5/min limit. */
const PERIOD_MS = 60_000;

function schedulerFor(h: Harness) {
  const scheduler = startSchedulerFor(
    h,
    {
      PROVIDER_RATE_LIMITS: 'sim-equities=5/min',
      CACHE_BATCH_ENABLED: 'true',
      CACHE_BATCH_INTERVAL: '1',
    },
    { scheduler: { tickMs: 20 } },
  );
  open.push(() => scheduler.close());
  return scheduler;
}

describe('misses pooled by the batch-scheduler when the budget is short', () => {
  it('20 cold reads under 5/min: all served within about two budget periods, at most 3 upstream calls', async () => {
    const h = await startHarness({ env: { PROVIDER_RATE_LIMITS: 'sim-equities=5/min' } });
    open.push(() => h.close());
    const scheduler = schedulerFor(h);
    const schedulerCalls: ProviderCallEvent[] = [];
    scheduler.providers.on('call', (event: ProviderCallEvent) => schedulerCalls.push(event));
    const started = h.clock.now();

    const statuses: number[] = [];
    for (const symbol of SYMBOLS) {
      statuses.push((await h.app.inject(`/v1/data/price/${symbol}`)).statusCode);
    }
    const refused = SYMBOLS.filter((_, i) => statuses[i] === 503);
    expect(statuses.filter((status) => status === 200)).toHaveLength(2);
    expect(refused).toHaveLength(18);

    // The scheduler merges the queued misses into the call the api left it. Its waits run on
    // the shared clock, which this test advances while it looks for the entries in L2.
    const keys = refused.map((symbol) => `price:equity:${symbol}`);
    await waitFor(
      async () => {
        const entries = await scheduler.writer.peek(keys);
        if (entries.every(Boolean)) return true;
        h.clock.advance(500);
        return false;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'the refused misses fetched by the scheduler',
      },
    );
    expect(h.clock.now() - started).toBeLessThanOrEqual(2 * PERIOD_MS);

    // The clients' retries are hits.
    for (const symbol of refused) {
      const retry = await h.app.inject(`/v1/data/price/${symbol}`);
      expect(retry.statusCode).toBe(200);
      expect(retry.json<{ cache: string }>().cache).toBe('l2');
    }
    const upstream = [...h.calls, ...schedulerCalls];
    expect(upstream.length).toBeLessThanOrEqual(3);
    expect(upstream.reduce((n, c) => n + c.symbols, 0)).toBe(20);
  });
});
