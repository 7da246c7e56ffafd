import { describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { ManualClock, SeededRandom } from '@fiml/market';
import { uniqueName } from '@fiml/testing';
import { AccessHistory } from '../src/access/access-history.js';
import { open, suiteRedisServer } from './support.js';
import { AccessRecorder, type AccessFlushEvent } from '../src/access/access-recorder.js';
import { accessSettings } from '../src/access/access-settings.js';
import { ZoneBuckets } from '../src/access/zone-buckets.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const T0 = Date.parse('2026-11-24T09:45:00-05:00');

const own = suiteRedisServer();

function setup(options: { splitAt?: number; redis?: Redis; seed?: number } = {}) {
  const keyPrefix = uniqueName('hist');
  const clock = new ManualClock(T0);
  const recorder = new AccessRecorder({
    redis: own.redis,
    keyPrefix,
    clock,
    random: new SeededRandom(options.seed ?? 3),
    flushIntervalMs: 3_600_000,
    maxPendingKeys: 100_000,
    ...(options.splitAt ? { splitAt: options.splitAt } : {}),
  });
  open.push(() => recorder.close());
  const history = new AccessHistory({
    redis: options.redis ?? own.redis,
    keyPrefix,
    shardsPerBatch: 4,
  });
  return { recorder, history, clock, keyPrefix, settings: accessSettings({ keyPrefix }) };
}

/** Every access key of a prefix: its shards and the directory. */
async function accessKeys(keyPrefix: string): Promise<string[]> {
  return own.redis.keys(`${keyPrefix}:v2:access:*`);
}

describe('AccessHistory', () => {
  it('keeps every key in hash-tagged, listpack-encoded shards that split as they fill', async () => {
    const { recorder, history, clock, keyPrefix } = setup({ splitAt: 16 });
    const splits: number[] = [];
    recorder.on('flush', (e) => splits.push(e.splits));
    for (let i = 0; i < 600; i++) {
      for (let r = 0; r <= i % 3; r++) recorder.record(`price:equity:K${i}`);
    }
    await recorder.flush();
    expect(splits.reduce((a, b) => a + b)).toBeGreaterThan(20);
    const keys = await accessKeys(keyPrefix);
    expect(keys.every((k) => k.startsWith(`${keyPrefix}:v2:access:{${keyPrefix}:access}:`))).toBe(
      true,
    );
    for (const key of keys.filter((k) => k.includes(':s:'))) {
      expect(await own.redis.object('ENCODING', key)).toBe('listpack');
      expect(await own.redis.hlen(key)).toBeLessThanOrEqual(16);
    }
    const snapshot = await history.read(clock.now());
    expect(snapshot).toMatchObject({ corrupt: 0, foreign: 0, foreignShards: 0 });
    expect(snapshot.stats).toHaveLength(600);
    for (const s of snapshot.stats) {
      expect(s.frequency).toBeCloseTo((Number(s.symbol.slice(1)) % 3) + 1, 4);
    }
  });

  it('reads every key when shards split while it reads', async () => {
    const { recorder, clock, keyPrefix } = setup({ splitAt: 16 });
    for (let i = 0; i < 200; i++) recorder.record(`price:equity:OLD${i}`);
    await recorder.flush();
    // The reader's Redis runs a flush that splits shards just before its second batch.
    let batches = 0;
    const racing = new Proxy(own.redis, {
      get(target, name, receiver) {
        if (name !== 'pipeline') return Reflect.get(target, name, receiver) as unknown;
        return () => {
          const pipeline = target.pipeline();
          const exec = pipeline.exec.bind(pipeline);
          pipeline.exec = async () => {
            if (++batches === 2) {
              for (let i = 0; i < 400; i++) recorder.record(`price:equity:NEW${i}`);
              await recorder.flush();
            }
            return exec();
          };
          return pipeline;
        };
      },
    });
    const history = new AccessHistory({ redis: racing, keyPrefix, shardsPerBatch: 2 });
    const snapshot = await history.read(clock.now());
    const keys = new Set(snapshot.stats.map((s) => s.key));
    expect(batches).toBeGreaterThan(2);
    for (let i = 0; i < 200; i++) expect(keys.has(`price:equity:OLD${i}`)).toBe(true);
    // Each key once, with its one read.
    expect(snapshot.stats).toHaveLength(keys.size);
    expect(snapshot.stats.every((s) => Math.abs(s.frequency - 1) < 1e-4)).toBe(true);
  });

  it('skips and counts corrupt and foreign records, and a merge starts a corrupt one afresh', async () => {
    const { recorder, history, clock, settings } = setup();
    recorder.record('price:equity:AAPL');
    recorder.record('price:equity:MSFT');
    await recorder.flush();
    const shard = `${settings.shardPrefix}1`;
    await own.redis.hset(shard, 'pMSFT', 'not a record'); // bad length
    await own.redis.hset(
      shard,
      'pNAN',
      Buffer.concat([Buffer.from([0, 0, 0xc0, 0x7f]), Buffer.alloc(28)]),
    );
    await own.redis.hset(shard, 'xFOREIGN', Buffer.alloc(32)); // unknown key format
    await own.redis.set(`${settings.shardPrefix}3`, 'a string where a shard should be');
    await own.redis.setbit(settings.directoryKey, 2, 1);
    await own.redis.setbit(settings.directoryKey, 3, 1); // shard 1 "split": 2 (missing) and 3 (a string)
    const snapshot = await history.read(clock.now());
    expect(snapshot).toMatchObject({ corrupt: 0, foreign: 0, foreignShards: 1 });
    expect(snapshot.stats).toEqual([]);

    await own.redis.setbit(settings.directoryKey, 2, 0);
    await own.redis.setbit(settings.directoryKey, 3, 0);
    const again = await history.read(clock.now());
    expect(again).toMatchObject({ corrupt: 2, foreign: 1, foreignShards: 0 });
    expect(again.stats.map((s) => s.key)).toEqual(['price:equity:AAPL']);

    const flushed: AccessFlushEvent[] = [];
    recorder.on('flush', (e) => flushed.push(e));
    recorder.record('price:equity:MSFT');
    await recorder.flush();
    expect(flushed[0]).toMatchObject({ keys: 1, corrupt: 1 });
    const msft = (await history.stats(clock.now())).find((s) => s.key === 'price:equity:MSFT');
    expect(msft?.frequency).toBeCloseTo(1, 4);
  });

  it('deletes keys gone cold: prune sweeps every shard, each merge sweeps one', async () => {
    const { recorder, history, clock } = setup({ splitAt: 8 });
    for (let i = 0; i < 40; i++) recorder.record(`price:equity:COLD${i}`);
    await recorder.flush();
    clock.advance(10 * DAY);
    for (let i = 0; i < 40; i++) recorder.record(`price:equity:WARM${i}`);
    await recorder.flush();
    expect(await history.prune(clock.now())).toBe(0);
    expect(await history.stats(clock.now())).toHaveLength(80);
    // Fourteen days after their last read, the first keys are cold; the others are not.
    clock.advance(4 * DAY + 60_000);
    expect(await history.prune(clock.now())).toBe(40);
    const left = await history.stats(clock.now());
    expect(left.map((s) => s.symbol).every((s) => s.startsWith('WARM'))).toBe(true);
    expect(left).toHaveLength(40);
    // A merge sweeps one shard at random; with one shard that is the shard.
    const single = setup();
    single.recorder.record('price:equity:OLD');
    await single.recorder.flush();
    single.clock.advance(15 * DAY);
    single.recorder.record('price:equity:NEW');
    const swept = new Promise<number>((resolve) =>
      single.recorder.on('flush', (e) => resolve(e.swept)),
    );
    await single.recorder.flush();
    expect(await swept).toBe(1);
    expect((await single.history.stats(single.clock.now())).map((s) => s.key)).toEqual([
      'price:equity:NEW',
    ]);
  });

  it('quantises the profile at a known cost: exact totals, shares off by about an eighth', async () => {
    // A week of reads with an intraday U shape (busy open and close, quiet lunch, a trickle
    // at night), flushed every minute of market hours, beside the exact decayed profile.
    const { recorder, history, clock } = setup({ seed: 11 });
    const zone = new ZoneBuckets('America/New_York');
    const random = new SeededRandom(5);
    const keys = Array.from({ length: 20 }, (_, i) => `price:equity:Q${i}`);
    const exact = new Map(keys.map((k) => [k, new Array<number>(48).fill(0)]));
    const start = Date.parse('2026-11-16T00:00:00-05:00');
    const end = start + WEEK;
    const shape = (bucket: number) =>
      bucket === 19 ? 12 : bucket === 31 ? 8 : bucket >= 19 && bucket <= 31 ? 3 : 0.2;
    for (let t = start; t < end; t += 600_000) {
      clock.set(t);
      const bucket = zone.bucket(t);
      keys.forEach((key, k) => {
        const reads = Math.floor(shape(bucket) * (1 + k / 10) * (0.5 + random.next()));
        const weights = exact.get(key)!;
        for (let r = 0; r < reads; r++) recorder.record(key, t);
        weights[bucket]! += reads * 2 ** (-(end - t) / WEEK);
      });
      await recorder.flush();
    }
    const stats = await history.stats(end);
    let worstTotal = 0;
    const distances: number[] = [];
    for (const s of stats) {
      const truth = exact.get(s.key)!;
      const total = truth.reduce((a, b) => a + b);
      worstTotal = Math.max(worstTotal, Math.abs(s.frequency - total) / total);
      // Total variation distance between the stored and the exact shares of the day.
      distances.push(
        truth.reduce((sum, v, i) => sum + Math.abs(s.profile[i]! / s.frequency - v / total), 0) / 2,
      );
      // The stored busiest half hour is the open or the close (the two busiest, 12:8).
      expect([19, 31]).toContain(s.profile.indexOf(Math.max(...s.profile)));
    }
    distances.sort((a, b) => a - b);
    const mean = distances.reduce((a, b) => a + b) / distances.length;
    process.stdout.write(
      `profile quantisation: frequency error <= ${(worstTotal * 100).toFixed(3)} %, ` +
        `share distance mean ${(mean * 100).toFixed(1)} %, worst ${(distances.at(-1)! * 100).toFixed(1)} %\n`,
    );
    expect(worstTotal).toBeLessThan(0.001);
    // The cost of 4-bit levels on a sqrt(2) lattice: each bucket sits on one of the two levels
    // around its value (unbiased, but about 13 % of the day's reads land in the wrong
    // buckets on average in this week; see docs/ARCHITECTURE.md).
    expect(mean).toBeLessThan(0.2);
    expect(distances.at(-1)!).toBeLessThan(0.3);
  });
});
