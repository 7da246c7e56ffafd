import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import {
  startRedisServer,
  testRedisUrl,
  uniqueName,
  waitFor,
  waitForEvent,
  type RedisServer,
} from '@fiml/testing';
import {
  ProviderConfigError,
  RateLimiter,
  type RateLimitWindow,
  type RateLimiterOptions,
} from '../src/index.js';

const open: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close().catch(() => undefined);
});

/** A cache-role client as the apps create it: fail fast, no offline queue. */
function redis(url = testRedisUrl()): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: () => 50,
    connectTimeout: 1_000,
  });
  client.on('error', () => undefined); // outages are part of these tests
  open.push(() => Promise.resolve(client.disconnect()));
  return client;
}

async function connected(client: Redis): Promise<Redis> {
  if (client.status !== 'ready') await waitForEvent(client, 'ready');
  return client;
}

function limiter(
  options: Partial<RateLimiterOptions> & Pick<RateLimiterOptions, 'limits'>,
): RateLimiter {
  return new RateLimiter({ keyPrefix: uniqueName('rl'), ...options });
}

describe('RateLimiter on Redis', () => {
  // Shared windows run on the Redis server's clock, so these tests use short windows in real
  // time and wait for room with deadlines; the injected clock only drives local counting.
  it('grants up to every window, then says when, and counts each call in all windows or none', async () => {
    const client = await connected(redis());
    const limits = {
      p: [
        { limit: 2, windowMs: 300 },
        { limit: 3, windowMs: 60_000 },
      ],
    };
    const l = limiter({ redis: client, limits });
    expect(await l.tryAcquire('p')).toEqual({ granted: true });
    expect(await l.tryAcquire('p')).toEqual({ granted: true });
    const full = await l.tryAcquire('p');
    expect(full).toMatchObject({ granted: false, reason: 'window' });
    expect(full.granted || full.retryAfterMs).toBeGreaterThan(0);
    expect(full.granted || full.retryAfterMs).toBeLessThanOrEqual(300);
    // Every refused attempt while the short window is full must leave the minute window alone,
    // or this third call would never fit in it.
    await waitFor(async () => (await l.tryAcquire('p')).granted, {
      timeoutMs: 5_000,
      description: 'the 300 ms window to make room',
    });
    const minute = await l.tryAcquire('p');
    expect(minute).toMatchObject({ granted: false, reason: 'window' });
    expect(minute.granted || minute.retryAfterMs).toBeGreaterThan(50_000);
    expect(minute.granted || minute.retryAfterMs).toBeLessThanOrEqual(60_000);
    const budget = await l.remaining('p');
    expect(budget).toMatchObject({
      providerId: 'p',
      remaining: 0,
      blockedForMs: 0,
      degraded: false,
    });
    // Exactly the three granted calls: none of the refused attempts above took anything from it.
    expect(budget.windows[1]).toMatchObject({ limit: 3, windowMs: 60_000, used: 3, remaining: 0 });
    expect(budget.windows[1]!.resetInMs).toBeGreaterThan(50_000);
  });

  it('never lets two limiters sharing one Redis exceed any window, whatever their clocks (property)', async () => {
    const windows: RateLimitWindow[] = [
      { limit: 3, windowMs: 5 },
      { limit: 5, windowMs: 20 },
    ];
    // Never full: its sorted set keeps every granted call with the time Redis gave it.
    const record: RateLimitWindow = { limit: 1_000, windowMs: 600_000 };
    const client = await connected(redis());
    const second = await connected(redis());
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(
          fc.integer({ min: -3_600_000, max: 3_600_000 }),
          fc.integer({ min: -3_600_000, max: 3_600_000 }),
        ),
        fc.array(
          // Calls issued at once, from either limiter: the script must be atomic.
          fc.array(
            fc.record({ who: fc.integer({ min: 0, max: 1 }), n: fc.integer({ min: 1, max: 2 }) }),
            { minLength: 1, maxLength: 4 },
          ),
          { minLength: 5, maxLength: 30 },
        ),
        async (skews, bursts) => {
          const keyPrefix = uniqueName('rl-prop');
          const limiters = [client, second].map(
            (c, i) =>
              new RateLimiter({
                redis: c,
                clock: new ManualClock(Date.UTC(2026, 10, 23, 14, 30) + skews[i]!),
                keyPrefix,
                limits: { p: [...windows, record] },
              }),
          );
          let granted = 0;
          for (const burst of bursts) {
            const results = await Promise.all(
              burst.map((b) => limiters[b.who]!.tryAcquire('p', b.n)),
            );
            results.forEach((r, i) => {
              if (r.granted) granted += burst[i]!.n;
            });
          }
          const recorded = await client.zrange(
            `${keyPrefix}:{p}:w${record.windowMs}`,
            0,
            -1,
            'WITHSCORES',
          );
          const times = recorded.filter((_, i) => i % 2 === 1).map(Number);
          // Counted in every window or in none: the record holds exactly the granted calls.
          if (times.length !== granted) return false;
          for (const { limit, windowMs } of windows) {
            for (const at of times) {
              if (times.filter((t) => t > at - windowMs && t <= at).length > limit) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('shares a penalty: a 429 seen by one process stops the others until its Retry-After', async () => {
    const keyPrefix = uniqueName('rl');
    const limits = {
      p: [{ limit: 100, windowMs: 60_000 }],
      q: [{ limit: 100, windowMs: 60_000 }],
    };
    const a = new RateLimiter({ redis: await connected(redis()), keyPrefix, limits });
    const b = new RateLimiter({ redis: await connected(redis()), keyPrefix, limits });
    await a.penalize('p', 30_000);
    await b.penalize('p', 5_000); // shorter: must not shorten the first
    const refused = await b.tryAcquire('p');
    expect(refused).toMatchObject({ granted: false, reason: 'penalty' });
    expect(refused.granted || refused.retryAfterMs).toBeGreaterThan(25_000);
    const blocked = await b.remaining('p');
    expect(blocked.remaining).toBe(0);
    expect(blocked.blockedForMs).toBeGreaterThan(25_000);
    expect(blocked.blockedForMs).toBeLessThanOrEqual(30_000);

    await a.penalize('q', 1_000);
    expect(await b.tryAcquire('q')).toMatchObject({ granted: false, reason: 'penalty' });
    await waitFor(async () => (await b.tryAcquire('q')).granted, {
      timeoutMs: 5_000,
      description: 'the 1 s penalty to end',
    });
    expect((await a.remaining('q')).windows[0]).toMatchObject({ used: 1, remaining: 99 });
  });

  it('shares one budget between processes whose clocks are an hour apart: time comes from Redis', async () => {
    const keyPrefix = uniqueName('rl');
    const limits = { p: [{ limit: 2, windowMs: 60_000 }] };
    const behind = new RateLimiter({
      redis: await connected(redis()),
      clock: new ManualClock('2026-11-23T14:30:00Z'),
      keyPrefix,
      limits,
    });
    const ahead = new RateLimiter({
      redis: await connected(redis()),
      clock: new ManualClock('2026-11-23T15:30:00Z'),
      keyPrefix,
      limits,
    });
    expect(await behind.tryAcquire('p')).toEqual({ granted: true });
    expect(await behind.tryAcquire('p')).toEqual({ granted: true });
    const refused = await ahead.tryAcquire('p');
    expect(refused).toMatchObject({ granted: false, reason: 'window' });
    if (refused.granted) throw new Error('unreachable');
    expect(refused.retryAfterMs).toBeGreaterThan(50_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    for (const l of [behind, ahead]) {
      const budget = await l.remaining('p');
      expect(budget).toMatchObject({ remaining: 0, blockedForMs: 0 });
      expect(budget.windows[0]).toMatchObject({ used: 2, remaining: 0 });
      expect(budget.windows[0]!.resetInMs).toBeGreaterThan(50_000);
    }
  });

  it('shares a penalty between processes whose clocks are an hour apart', async () => {
    const keyPrefix = uniqueName('rl');
    const limits = { p: [{ limit: 100, windowMs: 60_000 }] };
    const behind = new RateLimiter({
      redis: await connected(redis()),
      clock: new ManualClock('2026-11-23T14:30:00Z'),
      keyPrefix,
      limits,
    });
    const ahead = new RateLimiter({
      redis: await connected(redis()),
      clock: new ManualClock('2026-11-23T15:30:00Z'),
      keyPrefix,
      limits,
    });
    await behind.penalize('p', 30_000);
    for (const l of [ahead, behind]) {
      const refused = await l.tryAcquire('p');
      expect(refused).toMatchObject({ granted: false, reason: 'penalty' });
      if (refused.granted) throw new Error('unreachable');
      // Not an hour and a half for the one behind, not nothing for the one ahead.
      expect(refused.retryAfterMs).toBeGreaterThan(20_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(30_000);
      const { blockedForMs } = await l.remaining('p');
      expect(blockedForMs).toBeGreaterThan(20_000);
      expect(blockedForMs).toBeLessThanOrEqual(30_000);
    }
  });

  it('loads its script again after Redis lost it (NOSCRIPT)', async () => {
    const client = await connected(redis());
    const l = limiter({ redis: client, limits: { p: [{ limit: 5, windowMs: 1_000 }] } });
    expect(await l.tryAcquire('p')).toEqual({ granted: true });
    await client.script('FLUSH');
    expect(await l.tryAcquire('p')).toEqual({ granted: true });
    expect(l.degraded).toBe(false);
  });

  it('keeps every key of a provider in one hash slot', async () => {
    const client = await connected(redis());
    const keyPrefix = uniqueName('rl');
    const l = new RateLimiter({
      redis: client,
      keyPrefix,
      limits: {
        p: [
          { limit: 5, windowMs: 1_000 },
          { limit: 9, windowMs: 60_000 },
        ],
      },
    });
    await l.tryAcquire('p');
    // Long enough that the penalty key still exists when KEYS runs on a busy machine.
    await l.penalize('p', 60_000);
    const keys = await client.keys(`${keyPrefix}:*`);
    expect(keys.sort()).toEqual([
      `${keyPrefix}:{p}:penalty`,
      `${keyPrefix}:{p}:w1000`,
      `${keyPrefix}:{p}:w60000`,
    ]);
  });

  it('refuses an impossible request and an undefined provider loudly', async () => {
    const l = limiter({
      redis: await connected(redis()),
      limits: { p: [{ limit: 2, windowMs: 1_000 }] },
    });
    await expect(l.tryAcquire('p', 3)).rejects.toThrow(RangeError);
    await expect(l.tryAcquire('nobody')).rejects.toThrow(ProviderConfigError);
    expect(() => new RateLimiter({ degradedShare: 0 })).toThrow(RangeError);
  });
});

describe('RateLimiter when Redis is down', () => {
  async function ownRedis(): Promise<RedisServer> {
    const server = await startRedisServer();
    open.push(() => server.stop());
    return server;
  }

  it('counts locally with its share, says so once, and writes those calls back when Redis returns', async () => {
    const server = await ownRedis();
    const client = await connected(redis(server.url));
    const clock = new ManualClock('2026-11-23T14:30:00Z');
    const keyPrefix = uniqueName('rl');
    const l = new RateLimiter({
      redis: client,
      clock,
      keyPrefix,
      limits: { p: [{ limit: 10, windowMs: 60_000 }] },
      degradedShare: 0.5,
      probeIntervalMs: 1_000,
    });
    expect(await l.tryAcquire('p')).toEqual({ granted: true });

    await server.kill();
    const degraded = waitForEvent(l, 'degraded');
    let recovered = 0;
    l.on('recovered', () => (recovered += 1));
    let degradedEvents = 0;
    l.on('degraded', () => (degradedEvents += 1));
    // Share 0.5 of 10 = 5 per process, and the call made before the outage counts.
    const during = [];
    for (let i = 0; i < 8; i += 1) during.push(await l.tryAcquire('p'));
    await degraded;
    expect(l.degraded).toBe(true);
    expect(during.filter((r) => r.granted)).toHaveLength(4);
    expect(during[7]).toMatchObject({ granted: false, reason: 'window' });
    expect(await l.remaining('p')).toMatchObject({ degraded: true, remaining: 0 });
    expect(degradedEvents).toBe(1);

    await server.start();
    await waitForEvent(client, 'ready', { timeoutMs: 10_000 });
    // Within the probe interval it keeps counting locally; after it, one call probes Redis.
    expect(await l.tryAcquire('p')).toMatchObject({ granted: false });
    clock.advance(1_000);
    const back = waitForEvent(l, 'recovered');
    // Shared again: the full limit of 10 applies, and this call is the fifth Redis knows of.
    expect(await l.tryAcquire('p')).toEqual({ granted: true });
    await back;
    expect(l.degraded).toBe(false);
    expect(recovered).toBe(1);
    // Redis lost its data in the crash; the 4 calls granted meanwhile were written back.
    const budget = await l.remaining('p');
    expect(budget.windows[0]).toMatchObject({ used: 5, remaining: 5 });
  });

  it('without Redis it is a process-local limiter with the full limits', async () => {
    const clock = new ManualClock(0);
    const l = new RateLimiter({ clock, limits: { p: [{ limit: 2, windowMs: 1_000 }] } });
    expect(l.shared).toBe(false);
    expect(await l.tryAcquire('p', 2)).toEqual({ granted: true });
    expect(await l.tryAcquire('p')).toEqual({
      granted: false,
      retryAfterMs: 1_000,
      reason: 'window',
    });
    await l.penalize('p', 5_000);
    clock.advance(1_000);
    expect(await l.tryAcquire('p')).toEqual({
      granted: false,
      retryAfterMs: 4_000,
      reason: 'penalty',
    });
    expect(await l.remaining('p')).toMatchObject({
      blockedForMs: 4_000,
      remaining: 0,
      degraded: false,
    });
  });
});
