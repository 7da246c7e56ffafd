import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock, SeededRandom } from '@fiml/market';
import { startRedisServer, uniqueName } from '@fiml/testing';
import { AccessHistory } from '../src/access/access-history.js';
import { open, suiteRedisServer } from './support.js';
import {
  AccessRecorder,
  type AccessDropEvent,
  type AccessRecorderOptions,
} from '../src/access/access-recorder.js';
import type { AccessStats } from '../src/access/access-stats.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
// Tuesday 2026-11-24, 09:45 in New York: bucket 19 (09:30-10:00).
const T0 = Date.parse('2026-11-24T09:45:00-05:00');

const own = suiteRedisServer();

function setup(options: Partial<AccessRecorderOptions> = {}) {
  const keyPrefix = options.keyPrefix ?? uniqueName('acc');
  const clock = new ManualClock(T0);
  const recorder = new AccessRecorder({
    redis: own.redis,
    keyPrefix,
    clock,
    random: new SeededRandom(7),
    flushIntervalMs: 3_600_000,
    ...options,
  });
  open.push(() => recorder.close());
  const history = new AccessHistory({
    redis: own.redis,
    keyPrefix,
    ...(options.halfLifeMs ? { halfLifeMs: options.halfLifeMs } : {}),
  });
  const stats = async (asOf = clock.now()): Promise<Map<string, AccessStats>> =>
    new Map((await history.stats(asOf)).map((s) => [s.key, s]));
  return { recorder, history, clock, keyPrefix, stats };
}

/** The buckets holding reads, with their decayed reads rounded to 3 decimals. */
function buckets(s: AccessStats | undefined): Record<number, number> {
  const out: Record<number, number> = {};
  s?.profile.forEach((v, i) => {
    if (v > 0) out[i] = Math.round(v * 1000) / 1000;
  });
  return out;
}

describe('AccessRecorder', () => {
  it('records each read under its own time: frequency, New York half-hour bucket, last access', async () => {
    const { recorder, clock, stats } = setup();
    for (let i = 0; i < 3; i++) recorder.record('price:equity:AAPL');
    recorder.record('price:equity:AAPL', Date.parse('2026-11-24T15:55:00-05:00'));
    recorder.record('news:crypto:BTC', Date.parse('2026-11-24T23:59:00-05:00'));
    // The flush happens hours later: the reads keep their own times.
    clock.set('2026-11-25T03:00:00-05:00');
    await recorder.flush();
    const asOf = Date.parse('2026-11-24T23:59:00-05:00');
    const all = await stats(asOf);
    const aapl = all.get('price:equity:AAPL')!;
    expect(aapl).toMatchObject({
      dataType: 'price',
      assetType: 'equity',
      symbol: 'AAPL',
      lastAccessAt: Date.parse('2026-11-24T15:55:00-05:00'),
      asOf,
    });
    // Each read decays from its own time (7-day half-life): the three at 09:45 by 6 h 10 min
    // to the last read, all of them by 8 h 4 min more to asOf.
    const decay = (ms: number) => 2 ** (-ms / WEEK);
    const expected = (3 * decay(370 * 60_000) + 1) * decay(asOf - aapl.lastAccessAt);
    expect(aapl.frequency).toBeCloseTo(expected, 4);
    expect(Object.keys(buckets(aapl))).toEqual(['19', '31']);
    expect(aapl.profile[19]! / aapl.profile[31]!).toBeGreaterThan(2);
    expect(aapl.profile.reduce((a, b) => a + b)).toBeCloseTo(aapl.frequency, 5);
    expect(buckets(all.get('news:crypto:BTC'))).toEqual({ 47: 1 });
  });

  it('buckets reads on DST switch days in New York time', async () => {
    const { recorder, clock, stats } = setup();
    clock.set('2026-03-08T07:15:00Z');
    recorder.record('price:equity:SPRING', Date.parse('2026-03-08T06:45:00Z')); // 01:45 EST
    recorder.record('price:equity:SPRING'); // 03:15 EDT
    await recorder.flush();
    expect(Object.keys(buckets((await stats()).get('price:equity:SPRING')))).toEqual(['3', '6']);
    clock.set('2026-11-01T06:40:00Z');
    recorder.record('price:equity:FALL', Date.parse('2026-11-01T05:40:00Z')); // 01:40 EDT
    recorder.record('price:equity:FALL'); // 01:40 EST
    await recorder.flush();
    const fall = (await stats()).get('price:equity:FALL');
    expect(Object.keys(buckets(fall))).toEqual(['3']);
    // The EDT read is an hour older than the EST one.
    expect(fall!.frequency).toBeCloseTo(1 + 2 ** (-3_600_000 / WEEK), 4);
  });

  it('halves a key’s figures after a half-life, in Redis and when read', async () => {
    const { recorder, clock, stats } = setup();
    for (let i = 0; i < 8; i++) recorder.record('price:equity:AAPL');
    await recorder.flush();
    expect((await stats(T0 + WEEK)).get('price:equity:AAPL')!.frequency).toBeCloseTo(4, 4);
    // A read a half-life later: the stored 8 decay to 4 in the merge, plus 1.
    clock.advance(WEEK);
    recorder.record('price:equity:AAPL');
    await recorder.flush();
    const aapl = (await stats()).get('price:equity:AAPL')!;
    expect(aapl.frequency).toBeCloseTo(5, 4);
    expect(aapl.lastAccessAt).toBe(T0 + WEEK);
    expect((await stats(T0 + 2 * WEEK)).get('price:equity:AAPL')!.frequency).toBeCloseTo(2.5, 4);
  });

  it('uses a configurable half-life', async () => {
    const { recorder, stats } = setup({ halfLifeMs: DAY });
    for (let i = 0; i < 8; i++) recorder.record('price:equity:AAPL');
    await recorder.flush();
    expect((await stats(T0 + 2 * DAY)).get('price:equity:AAPL')!.frequency).toBeCloseTo(2, 4);
  });

  it('sums the reads of two recorders (two api instances) into the same records', async () => {
    const a = setup();
    const b = setup({ keyPrefix: a.keyPrefix });
    for (let i = 0; i < 3; i++) a.recorder.record('price:equity:AAPL');
    for (let i = 0; i < 5; i++) b.recorder.record('price:equity:AAPL');
    b.recorder.record('price:equity:MSFT');
    await Promise.all([a.recorder.flush(), b.recorder.flush()]);
    const all = await a.stats();
    expect(all.get('price:equity:AAPL')!.frequency).toBeCloseTo(8, 4);
    expect(buckets(all.get('price:equity:AAPL'))).toEqual({ 19: 8 });
    expect(all.get('price:equity:MSFT')!.frequency).toBeCloseTo(1, 4);
  });

  it('keeps the original name: recordCacheAccess(symbol, dataType), equity unless told', async () => {
    const { recorder, stats } = setup();
    recorder.recordCacheAccess('AAPL', 'price');
    recorder.recordCacheAccess('BTC', 'news', 'crypto');
    await recorder.flush();
    expect([...(await stats()).keys()].sort()).toEqual(['news:crypto:BTC', 'price:equity:AAPL']);
  });

  it('drops and counts reads of keys it cannot store', async () => {
    const { recorder } = setup();
    const drops: AccessDropEvent[] = [];
    recorder.on('drop', (e) => drops.push(e));
    recorder.record('lock:equity:AAPL');
    recorder.record('price:equity:');
    expect(recorder.dropped).toBe(2);
    expect(drops).toEqual([
      { reason: 'invalid-key', reads: 1 },
      { reason: 'invalid-key', reads: 1 },
    ]);
  });

  it('drops and counts the reads of a flush Redis refuses, and reports the error', async () => {
    const dead = await startRedisServer();
    const conn = new Redis(dead.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    conn.on('error', () => undefined);
    await conn.connect();
    await dead.stop();
    const { recorder } = setup({ redis: conn });
    const drops: AccessDropEvent[] = [];
    const errors: Error[] = [];
    recorder.on('drop', (e) => drops.push(e));
    recorder.on('error', (e) => errors.push(e));
    recorder.record('price:equity:AAPL');
    recorder.record('price:equity:AAPL');
    recorder.record('price:equity:MSFT');
    await recorder.flush();
    conn.disconnect();
    expect(recorder.dropped).toBe(3);
    expect(drops).toEqual([{ reason: 'flush-failed', reads: 3 }]);
    expect(errors).toHaveLength(1);
    expect(recorder.pendingKeys).toBe(0);
  });

  it('flushes early when the buffer is full', async () => {
    const { recorder, stats } = setup({ maxPendingKeys: 10 });
    const flushed = new Promise<number>((resolve) => recorder.on('flush', (e) => resolve(e.keys)));
    for (let i = 0; i < 10; i++) recorder.record(`price:equity:S${i}`);
    expect(recorder.inFlightFlushes).toBe(1);
    expect(recorder.pendingKeys).toBe(0);
    expect(await flushed).toBe(10);
    expect((await stats()).size).toBe(10);
  });

  it('stays bounded when Redis is slow: one flush in flight, a full buffer, the rest dropped and counted', async () => {
    const { recorder, stats } = setup({ maxPendingKeys: 10, maxInFlightFlushes: 1 });
    const admin = new Redis(own.server.url);
    open.push(() => admin.quit());
    const evalsBefore = await merges(admin);
    // Every client waits while Redis is paused; the recorder's first flush is stuck behind it.
    await admin.client('PAUSE', 400, 'ALL');
    for (let i = 0; i < 10; i++) recorder.record(`price:equity:A${i}`);
    expect(recorder.inFlightFlushes).toBe(1);
    // Ten more keys fill the buffer; more flushes are asked for and refused.
    for (let i = 0; i < 10; i++) recorder.record(`price:equity:B${i}`);
    for (let i = 0; i < 5; i++) void recorder.flush();
    expect(recorder.inFlightFlushes).toBe(1);
    expect(recorder.pendingKeys).toBe(10);
    // Five new keys do not fit: dropped and counted. A buffered key still counts its reads.
    for (let i = 0; i < 5; i++) recorder.record(`price:equity:C${i}`);
    recorder.record('price:equity:B0');
    expect(recorder.pendingKeys).toBe(10);
    expect(recorder.inFlightFlushes).toBe(1);
    expect(recorder.dropped).toBe(5);

    await recorder.flush(); // the stuck flush, released when the pause ends
    await recorder.flush(); // the buffered keys
    const all = await stats();
    expect(all.size).toBe(20);
    expect(all.get('price:equity:B0')!.frequency).toBeCloseTo(2, 4);
    expect([...all.keys()].some((k) => k.includes(':C'))).toBe(false);
    // Two flushes reached Redis, one merge call each: no pile-up.
    expect((await merges(admin)) - evalsBefore).toBe(2);
  });

  it('writes what is buffered on close and drops reads recorded after it', async () => {
    const { recorder, stats } = setup();
    recorder.record('price:equity:AAPL');
    await recorder.close();
    recorder.record('price:equity:MSFT');
    expect(recorder.dropped).toBe(1);
    expect([...(await stats()).keys()]).toEqual(['price:equity:AAPL']);
  });
});

/** Script calls Redis has run (EVALSHA and EVAL), from INFO commandstats. */
async function merges(conn: Redis): Promise<number> {
  const info = await conn.info('commandstats');
  const calls = (name: string) =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}
