import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import {
  ProviderErrorCode,
  ProviderRegistry,
  RateLimiter,
  SIMULATED_PROFILES,
  reservedCalls,
  type FallbackEvent,
  type RateLimitWindow,
  type ThrottledEvent,
} from '@fiml/providers';
import { SimulatedMarket, SimulatedProvider } from '../src/index.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** A cache-role client as the apps create it, connected. */
async function redis(): Promise<Redis> {
  const client = new Redis(testRedisUrl(), {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
  });
  open.push(() => Promise.resolve(client.disconnect()));
  if (client.status !== 'ready') await waitForEvent(client, 'ready');
  return client;
}

/** Two limiters, as two processes run them: one Redis, one key prefix, their own clients. */
async function twoLimiters(windows: readonly RateLimitWindow[]): Promise<RateLimiter[]> {
  const keyPrefix = uniqueName('rl-keep');
  const clients = await Promise.all([redis(), redis()]);
  return clients.map((c) => new RateLimiter({ redis: c, keyPrefix, limits: { p: windows } }));
}

const granted = (results: readonly { granted: boolean }[]) =>
  results.filter((r) => r.granted).length;

describe('reservedCalls', () => {
  it('is half of a window, rounded down', () => {
    expect([1, 2, 5, 30, 60, 300].map(reservedCalls)).toEqual([0, 1, 2, 15, 30, 150]);
  });
});

describe('RateLimiter.tryAcquire with keep, on Redis', () => {
  it('two limiters asking at once never leave fewer than keep + 1 calls: exactly, atomically', async () => {
    const limiters = await twoLimiters([{ limit: 5, windowMs: 60_000 }]);
    // Twelve requests in flight at once from two processes. A read-then-acquire would let
    // every one of them see 5 left and take it; the script checks and takes in one step.
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => limiters[i % 2]!.tryAcquire('p', 1, { keep: 2 })),
    );
    expect(granted(burst)).toBe(2);
    for (const refused of burst.filter((r) => !r.granted)) {
      expect(refused).toMatchObject({ granted: false, reason: 'window' });
      expect(refused.granted || refused.retryAfterMs).toBeGreaterThan(55_000);
      expect(refused.granted || refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(await limiters[0]!.remaining('p')).toMatchObject({ remaining: 3 });
    // A smaller keep may go further, and without keep the last calls are spent as before.
    expect(
      granted(await Promise.all([0, 1].map(() => limiters[1]!.tryAcquire('p', 1, { keep: 1 })))),
    ).toBe(1);
    const rest = await Promise.all(
      Array.from({ length: 4 }, (_, i) => limiters[i % 2]!.tryAcquire('p')),
    );
    expect(granted(rest)).toBe(2);
    expect(await limiters[1]!.remaining('p')).toMatchObject({ remaining: 0 });
  });

  it('holds in every window, and says when the one that needs longest has freed enough', async () => {
    const [a, b] = await twoLimiters([
      { limit: 4, windowMs: 3_000 },
      { limit: 6, windowMs: 60_000 },
    ]);
    // The 3 s window allows 4 - (1 + 1) = 2 calls with keep 1. (Redis keeps the time: the
    // window is long enough that a loaded machine cannot let it pass between these calls.)
    expect(await a!.tryAcquire('p', 1, { keep: 1 })).toEqual({ granted: true });
    expect(await b!.tryAcquire('p', 1, { keep: 1 })).toEqual({ granted: true });
    const full = await a!.tryAcquire('p', 1, { keep: 1 });
    expect(full).toMatchObject({ granted: false, reason: 'window' });
    expect(full.granted || full.retryAfterMs).toBeLessThanOrEqual(3_000);
    await waitFor(async () => (await b!.tryAcquire('p', 1, { keep: 1 })).granted, {
      timeoutMs: 15_000,
      description: 'the 3 s window to free a call',
    });
    // 3 of the minute window's 6 are spent: another with keep 1 would leave 2, so the minute
    // window allows it; on a loaded machine the 3 s window may still hold it back a moment.
    await waitFor(async () => (await a!.tryAcquire('p', 1, { keep: 1 })).granted, {
      timeoutMs: 15_000,
      description: 'the fourth call of the minute window',
    });
    await waitFor(async () => (await a!.remaining('p')).windows[0]!.used === 0, {
      timeoutMs: 15_000,
      description: 'the 3 s window to empty',
    });
    const minute = await b!.tryAcquire('p', 1, { keep: 1 });
    expect(minute).toMatchObject({ granted: false, reason: 'window' });
    expect(minute.granted || minute.retryAfterMs).toBeGreaterThan(50_000);
    // Refusals took nothing from either window.
    expect((await a!.remaining('p')).windows.map((w) => w.used)).toEqual([0, 4]);
  });

  it('refuses a request no window could ever hold with a whole window, and a bad keep loudly', async () => {
    const [a] = await twoLimiters([{ limit: 5, windowMs: 60_000 }]);
    expect(await a!.tryAcquire('p', 1, { keep: 4 })).toEqual({
      granted: false,
      retryAfterMs: 60_000,
      reason: 'window',
    });
    expect(await a!.tryAcquire('p', 1, { keep: 3 })).toEqual({ granted: true });
    await expect(a!.tryAcquire('p', 1, { keep: -1 })).rejects.toThrow(RangeError);
    await expect(a!.tryAcquire('p', 1, { keep: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('RateLimiter.tryAcquire with keep, process-local', () => {
  it('keeps the same rule on the injected clock, with the exact wait', async () => {
    const clock = new ManualClock(0);
    const l = new RateLimiter({ clock, limits: { p: [{ limit: 5, windowMs: 1_000 }] } });
    expect(await l.tryAcquire('p', 1, { keep: 2 })).toEqual({ granted: true });
    clock.advance(100);
    expect(await l.tryAcquire('p', 1, { keep: 2 })).toEqual({ granted: true });
    clock.advance(100);
    // 2 used; one more would leave 2, not more than 2: wait until the call at 0 leaves.
    expect(await l.tryAcquire('p', 1, { keep: 2 })).toEqual({
      granted: false,
      retryAfterMs: 800,
      reason: 'window',
    });
    expect(await l.tryAcquire('p', 1, { keep: 4 })).toEqual({
      granted: false,
      retryAfterMs: 1_000,
      reason: 'window',
    });
    clock.advance(800);
    expect(await l.tryAcquire('p', 1, { keep: 2 })).toEqual({ granted: true });
    // Calls at 100 and 1000 are in the window. Without keep it is spent to its last call, as before.
    expect(await l.tryAcquire('p', 3)).toEqual({ granted: true });
    expect(await l.tryAcquire('p')).toMatchObject({ granted: false });
  });
});

const market = new SimulatedMarket({ seed: 42, equities: 300, crypto: 20 });

function pair(clock: ManualClock, primaryLimits: readonly RateLimitWindow[]) {
  return (['primary', 'backup'] as const).map(
    (id) =>
      new SimulatedProvider({
        profile: {
          ...SIMULATED_PROFILES['equities-batch'],
          id,
          failureRate: 0,
          ...(id === 'primary' ? { rateLimits: primaryLimits } : {}),
        },
        market,
        clock,
      }),
  );
}

describe('ProviderRegistry.fetch with keep and fallback', () => {
  it('two registries on one Redis leave keep + 1 calls of the primary: BUDGET_EXHAUSTED, no call', async () => {
    const clock = new ManualClock('2026-11-23T14:30:00Z');
    const keyPrefix = uniqueName('rl-keep');
    const clients = await Promise.all([redis(), redis()]);
    const registries = clients.map(
      (client) =>
        new ProviderRegistry({
          providers: pair(clock, [{ limit: 5, windowMs: 60_000 }]),
          routes: { 'equity:price': ['primary', 'backup'] },
          limiter: new RateLimiter({ redis: client, clock, keyPrefix }),
        }),
    );
    const throttled: ThrottledEvent[] = [];
    for (const r of registries) r.on('throttled', (e) => throttled.push(e));
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOG', 'META'];
    const answers = await Promise.all(
      symbols.map((symbol, i) =>
        registries[i % 2]!.fetch('price', 'equity', [symbol], {
          keep: reservedCalls(5),
          fallback: () => false,
        }),
      ),
    );
    const primaryCalls = answers.flatMap((a) => a.calls).filter((c) => c.provider === 'primary');
    expect(primaryCalls).toHaveLength(2);
    expect(answers.flatMap((a) => a.calls).filter((c) => c.provider === 'backup')).toEqual([]);
    const refused = answers
      .map((a, i) => a.results.get(symbols[i]!))
      .filter((r) => r?.status === 'error');
    expect(refused).toHaveLength(4);
    for (const r of refused) {
      expect(r).toMatchObject({
        status: 'error',
        error: { code: ProviderErrorCode.BUDGET_EXHAUSTED, providerId: 'primary' },
      });
      const retryAfterMs = r?.status === 'error' ? r.error.retryAfterMs : undefined;
      expect(retryAfterMs).toBeGreaterThan(55_000);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(throttled).toHaveLength(4);
    expect(throttled[0]).toMatchObject({ provider: 'primary', symbols: 1, reason: 'window' });
    expect(await registries[0]!.remaining('primary')).toMatchObject({ remaining: 3 });
  });

  it('moves on only the symbols the fallback predicate lets through; keep may differ per provider', async () => {
    const clock = new ManualClock('2026-11-23T14:30:00Z');
    const registry = new ProviderRegistry({
      providers: pair(clock, [{ limit: 4, windowMs: 60_000 }]),
      routes: { 'equity:price': ['primary', 'backup'] },
      clock,
    });
    const keep = (id: string) => (id === 'primary' ? 2 : undefined);
    // 4 - (2 + 1): one call of the primary for this caller.
    const first = await registry.fetch('price', 'equity', ['AAPL'], { keep });
    expect(first.calls.map((c) => c.provider)).toEqual(['primary']);

    const fallback = waitForEvent<[FallbackEvent]>(registry, 'fallback');
    const second = await registry.fetch('price', 'equity', ['AAPL', 'MSFT', 'NVDA'], {
      keep,
      fallback: (symbol) => symbol !== 'MSFT',
    });
    expect(second.calls.map((c) => c.provider)).toEqual(['backup']);
    expect(second.calls[0]).toMatchObject({ symbols: 2 });
    expect(second.results.get('AAPL')).toMatchObject({
      status: 'ok',
      value: { provider: 'backup' },
    });
    expect(second.results.get('NVDA')).toMatchObject({
      status: 'ok',
      value: { provider: 'backup' },
    });
    expect(second.results.get('MSFT')).toMatchObject({
      status: 'error',
      error: { code: ProviderErrorCode.BUDGET_EXHAUSTED, providerId: 'primary' },
    });
    expect((await fallback)[0]).toMatchObject({ from: 'primary', to: 'backup', symbols: 2 });
    // The primary's reserve is untouched; a caller without keep may still spend it.
    const third = await registry.fetch('price', 'equity', ['MSFT']);
    expect(third.calls.map((c) => c.provider)).toEqual(['primary']);
  });
});
