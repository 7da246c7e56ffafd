// Direct tests of the read path's parts: the circuit breaker (on a manual
// clock), the coalescer, the fetch locks and the invalidation bus (on a real
// redis-server).
import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName, waitFor, waitForEvent } from '@fiml/testing';
import { BatchCoalescer } from '../src/manager/batch-coalescer.js';
import { CircuitBreaker, type CircuitState } from '../src/manager/circuit-breaker.js';
import { InvalidationBus, type InvalidationMessage } from '../src/manager/invalidation-bus.js';
import { KeyLocks } from '../src/manager/key-locks.js';
import { connection, open } from './support.js';

describe('CircuitBreaker', () => {
  it('opens after the threshold, lets one trial through after the cooldown, and doubles the cooldown on a failed trial', () => {
    const clock = new ManualClock(0);
    const changes: CircuitState[] = [];
    const breaker = new CircuitBreaker({
      clock,
      failureThreshold: 2,
      cooldownMs: 1_000,
      onChange: (state) => changes.push(state),
    });
    breaker.failure();
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    expect(breaker.retryAfterMs()).toBe(1_000);
    clock.advance(1_000);
    expect(breaker.allow()).toBe(true); // the trial
    expect(breaker.allow()).toBe(false); // only one at a time
    breaker.failure();
    expect(breaker.retryAfterMs()).toBe(2_000);
    clock.advance(2_000);
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.retryAfterMs()).toBe(0);
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});

describe('BatchCoalescer', () => {
  function recording(maxBatchSize: number, windowMs: number, maxWaitMs?: number) {
    const batches: number[][] = [];
    const coalescer = new BatchCoalescer<number, number>({
      maxBatchSize,
      windowMs,
      ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
      flush: (keys) => {
        batches.push([...keys]);
        return Promise.resolve(keys.map((k) => k * 10));
      },
    });
    return { coalescer, batches };
  }

  it('goes out at once when full, and answers each key with its own result', async () => {
    const { coalescer, batches } = recording(3, 10_000);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((k) => coalescer.load(k)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('stays open while keys keep arriving within the window, and goes out when they stop', async () => {
    // A generous window: on a loaded machine one turn of the event loop can take tens of ms.
    const { coalescer, batches } = recording(100, 500, 5_000);
    const loads = [coalescer.load(1)];
    for (let k = 2; k <= 4; k += 1) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      loads.push(coalescer.load(k));
    }
    await Promise.all(loads);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('rejects every key of a batch whose flush fails, and the next batch still works', async () => {
    let fail = true;
    const coalescer = new BatchCoalescer<number, number>({
      maxBatchSize: 10,
      windowMs: 0,
      flush: (keys) =>
        fail ? Promise.reject(new Error('upstream down')) : Promise.resolve([...keys]),
    });
    await expect(Promise.all([coalescer.load(1), coalescer.load(2)])).rejects.toThrow(
      'upstream down',
    );
    fail = false;
    expect(await coalescer.load(3)).toBe(3);
    expect(coalescer.pending).toBe(0);
  });

  it('refuses a batch size that is not a positive integer and a negative window', () => {
    const flush = () => Promise.resolve([]);
    expect(() => new BatchCoalescer({ maxBatchSize: 0, flush })).toThrow(RangeError);
    expect(() => new BatchCoalescer({ maxBatchSize: 1, windowMs: -1, flush })).toThrow(RangeError);
  });
});

describe('KeyLocks', () => {
  it('gives each acquisition its own token: a release under another token leaves the lock alone', async () => {
    const redis = await connection();
    const prefix = `${uniqueName('locks')}:`;
    const locks = new KeyLocks({ redis, prefix, ttlMs: 10_000 });
    const first = await locks.acquire(['a', 'b']);
    expect([...first.keys]).toEqual(['a', 'b']);
    const second = await locks.acquire(['b', 'c']);
    expect([...second.keys]).toEqual(['c']);
    expect(await locks.release({ token: second.token, keys: new Set(['a', 'b']) })).toBe(0);
    expect(await redis.exists(`${prefix}a`, `${prefix}b`)).toBe(2);
    expect(await locks.release(first)).toBe(2);
    expect(await locks.release(second)).toBe(1);
  });

  it('renews only what its token still holds', async () => {
    const redis = await connection();
    const prefix = `${uniqueName('locks')}:`;
    const locks = new KeyLocks({ redis, prefix, ttlMs: 60_000 });
    const lease = await locks.acquire(['a', 'b']);
    await redis.pexpire(`${prefix}a`, 1_000);
    await redis.set(`${prefix}b`, 'someone else');
    expect(await locks.renew(lease)).toBe(1);
    expect(await redis.pttl(`${prefix}a`)).toBeGreaterThan(50_000);
    expect(await redis.get(`${prefix}b`)).toBe('someone else');
  });

  it('releases what it took when part of an acquisition fails, and rejects', async () => {
    const admin = await connection();
    const prefix = `${uniqueName('locks')}:`;
    const user = uniqueName('locker');
    // A real per-command failure: this user may only write keys under prefix + 'ok'.
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', `~${prefix}ok*`, '+@all');
    open.push(() => admin.call('ACL', 'DELUSER', user));
    const restricted = new Redis(testRedisUrl(), { username: user, password: 'pw' });
    open.push(() => restricted.disconnect());
    await waitForEvent(restricted, 'ready');
    const locks = new KeyLocks({ redis: restricted, prefix, ttlMs: 10_000 });
    await expect(locks.acquire(['ok1', 'denied', 'ok2'])).rejects.toThrow(/NOPERM/);
    expect(await admin.exists(`${prefix}ok1`, `${prefix}ok2`)).toBe(0);
  });
});

describe('InvalidationBus', () => {
  it('delivers other instances’ messages with their fetchedAt, ignores its own and malformed ones', async () => {
    const channel = uniqueName('inv');
    const publisher = await connection();
    const received: InvalidationMessage[] = [];
    const errors: string[] = [];
    const make = (instanceId: string, onMessage?: (m: InvalidationMessage) => void) =>
      new InvalidationBus({
        publisher,
        subscriber: new Redis(testRedisUrl()),
        channel,
        instanceId,
        ...(onMessage ? { onMessage } : {}),
        onError: (_error, operation) => errors.push(operation),
      });
    const a = make('a', (m) => received.push(m));
    const b = make('b');
    await a.start();
    await b.start();
    open.push(
      () => a.close(),
      () => b.close(),
    );
    await a.publish('set', ['price:equity:SELF'], [1]);
    await publisher.publish(channel, 'not json');
    await b.publish('set', ['price:equity:AAPL', 'price:equity:MSFT'], [5, 6]);
    await b.publish('delete', ['price:equity:AAPL']);
    await waitFor(() => received.length === 2, { timeoutMs: 2_000 });
    expect(received).toEqual([
      {
        origin: 'b',
        op: 'set',
        keys: ['price:equity:AAPL', 'price:equity:MSFT'],
        fetchedAt: [5, 6],
      },
      { origin: 'b', op: 'delete', keys: ['price:equity:AAPL'] },
    ]);
    expect(errors).toEqual(['parse', 'parse']); // both buses saw the foreign message
  });

  it('tells its owner when the subscription comes back after a disconnect', async () => {
    const subscriber = new Redis(testRedisUrl());
    let reconnects = 0;
    const bus = new InvalidationBus({
      publisher: await connection(),
      subscriber,
      channel: uniqueName('inv'),
      instanceId: 'a',
      onReconnect: () => (reconnects += 1),
    });
    const id = String(await subscriber.call('CLIENT', 'ID'));
    await bus.start();
    open.push(() => bus.close());
    const killer = await connection();
    await killer.call('CLIENT', 'KILL', 'ID', id);
    await waitFor(() => reconnects === 1, { timeoutMs: 5_000, description: 'the reconnect' });
  });

  it('closes cleanly while its subscriber is reconnecting: no resubscription left to fail', async () => {
    // ioredis resubscribes by itself once a reconnected client is ready, and
    // nothing handles that SUBSCRIBE's promise: a close during the ready check
    // sent QUIT ahead of it, the SUBSCRIBE was refused with "Connection is
    // closed." and the process saw an unhandled rejection (in the api, a
    // shutdown right after a Redis restart).
    const subscriber = new Redis(testRedisUrl());
    const errors: string[] = [];
    const bus = new InvalidationBus({
      publisher: await connection(),
      subscriber,
      channel: uniqueName('inv'),
      instanceId: 'a',
      onError: (error) => errors.push(error.message),
    });
    const id = String(await subscriber.call('CLIENT', 'ID'));
    await bus.start();
    // Jest fails the test on an unhandled rejection; nothing to catch here.
    // Close the moment the reconnected client sends its ready check (INFO):
    // QUIT goes out behind it, and any resubscription would follow QUIT.
    let closing: Promise<void> | undefined;
    const info = subscriber.info.bind(subscriber) as (...args: unknown[]) => Promise<string>;
    (subscriber as unknown as { info: typeof info }).info = (...args) => {
      const checked = info(...args);
      closing ??= bus.close();
      return checked;
    };
    const ended = waitForEvent(subscriber, 'end', { timeoutMs: 5_000, description: 'the close' });
    await (await connection()).call('CLIENT', 'KILL', 'ID', id);
    await ended;
    expect(closing).toBeDefined();
    await closing;
    // A rejection nobody handles is reported after the microtasks of its turn.
    await new Promise((resolve) => setImmediate(resolve));
    // A close is not an error of the subscription.
    expect(errors).toEqual([]);
  });
});
