import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName } from '@fiml/testing';
import { AccessRecorder } from '../src/access/access-recorder.js';

const T0 = Date.parse('2026-11-24T15:30:00Z');
let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(() => redis.disconnect());

describe('AccessRecorder', () => {
  it('buffers reads and writes them per hour in one pipeline', async () => {
    const clock = new ManualClock(T0);
    const prefix = uniqueName('acc');
    const recorder = new AccessRecorder({
      redis,
      keyPrefix: prefix,
      clock,
      flushIntervalMs: 60_000,
    });
    for (let i = 0; i < 5; i++) recorder.record('price:equity:AAPL');
    recorder.record('news:equity:AAPL');
    expect(await redis.exists(recorder.hourKey(T0))).toBe(0);
    await recorder.flush();
    clock.advance(3_600_000);
    recorder.record('price:equity:AAPL');
    recorder.record('price:equity:MSFT');
    await recorder.close();

    expect(await redis.zscore(recorder.hourKey(T0), 'price:equity:AAPL')).toBe('5');
    expect(await redis.pttl(recorder.hourKey(T0))).toBeGreaterThan(7 * 24 * 3_600_000);
    expect(await recorder.topKeys(T0, T0 + 2 * 3_600_000)).toEqual([
      { key: 'price:equity:AAPL', reads: 6 },
      { key: 'news:equity:AAPL', reads: 1 },
      { key: 'price:equity:MSFT', reads: 1 },
    ]);
  });

  it('flushes early when the buffer is full, so memory stays bounded', async () => {
    const prefix = uniqueName('acc');
    const recorder = new AccessRecorder({
      redis,
      keyPrefix: prefix,
      clock: new ManualClock(T0),
      flushIntervalMs: 60_000,
      maxPendingKeys: 10,
    });
    for (let i = 0; i < 10; i++) recorder.record(`price:equity:S${i}`);
    await recorder.flush(); // the early flush is already under way; this waits for it
    expect(await redis.zcard(recorder.hourKey(T0))).toBe(10);
    await recorder.close();
  });

  it('counts what it drops when Redis refuses the write', async () => {
    const dead = new Redis(testRedisUrl(), { lazyConnect: true, enableOfflineQueue: false });
    const errors: Error[] = [];
    const recorder = new AccessRecorder({
      redis: dead,
      flushIntervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    recorder.record('price:equity:AAPL');
    recorder.record('price:equity:AAPL');
    await recorder.close();
    dead.disconnect();
    expect(recorder.dropped).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
