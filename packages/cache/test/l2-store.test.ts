import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName } from '@fiml/testing';
import type { CacheEntry, EntryMeta } from '../src/l2/cache-entry.js';
import { jsonCodec, msgpackCodec } from '../src/l2/entry-codec.js';
import { L2Store } from '../src/l2/l2-store.js';

const T0 = Date.UTC(2026, 10, 24, 15, 0);

function entry(value: unknown, overrides: Partial<EntryMeta> = {}): CacheEntry {
  return {
    kind: 'value',
    value,
    dataType: 'price',
    fetchedAt: T0,
    source: 'sim-equities',
    writer: 'read-through',
    ttlMs: 300_000,
    softExpiresAt: T0 + 300_000,
    hardExpiresAt: T0 + 600_000,
    ...overrides,
  };
}

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(() => redis.disconnect());

/** Commands clients sent (Lua's own calls excluded), from INFO commandstats. */
async function clientCommands(): Promise<{ script: number; mget: number }> {
  const stats = await redis.info('commandstats');
  const calls = (name: string) =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return {
    script: calls('evalsha') + calls('eval'),
    mget: calls('mget'),
  };
}

function store(codec = msgpackCodec()) {
  const clock = new ManualClock(T0);
  const prefix = uniqueName('l2');
  return { l2: new L2Store({ redis, keyPrefix: prefix, codec, clock }), clock, prefix };
}

describe.each([
  ['msgpack', msgpackCodec],
  ['json', jsonCodec],
])('L2Store with the %s codec', (_name, codec) => {
  it('round-trips values and metadata', async () => {
    const { l2 } = store(codec());
    const quote = { symbol: 'AAPL', price: 231.42, volume: 51_234_000, asOf: T0 - 1_000 };
    await l2.set('price:equity:AAPL', entry(quote));
    expect(await l2.get('price:equity:AAPL')).toEqual({ status: 'hit', entry: entry(quote) });
    expect(await l2.get('price:equity:MSFT')).toEqual({ status: 'miss' });
  });

  it('round-trips a negative (not-found) entry', async () => {
    const { l2 } = store(codec());
    const notFound: CacheEntry = {
      kind: 'not-found',
      dataType: 'fundamentals',
      fetchedAt: T0,
      source: 'sim-reference',
      writer: 'scheduler',
      ttlMs: 60_000,
      softExpiresAt: T0 + 60_000,
      hardExpiresAt: T0 + 60_000,
    };
    await l2.set('fundamentals:equity:ZZZZ', notFound);
    expect(await l2.get('fundamentals:equity:ZZZZ')).toEqual({ status: 'hit', entry: notFound });
  });
});

describe('L2Store', () => {
  it('expires entries in Redis at their hard expiry', async () => {
    const { l2, prefix } = store();
    await l2.set('price:equity:AAPL', entry(1, { hardExpiresAt: T0 + 90_000 }));
    const pttl = await redis.pttl(`${prefix}:v2:e:price:equity:AAPL`);
    expect(pttl).toBeGreaterThan(89_000);
    expect(pttl).toBeLessThanOrEqual(90_000);
  });

  it('does not write an entry already past its hard expiry', async () => {
    const { l2, clock } = store();
    clock.advance(600_000);
    await l2.set('price:equity:OLD', entry(1));
    expect(await l2.get('price:equity:OLD')).toEqual({ status: 'miss' });
  });

  it('reads and writes many keys in one round trip, in order', async () => {
    const { l2 } = store();
    const keys = Array.from({ length: 100 }, (_, i) => `price:equity:S${i}`);
    const before = await clientCommands();
    await l2.setMany(keys.filter((_, i) => i % 2 === 0).map((k, i) => [k, entry(i * 2)] as const));
    const reads = await l2.getMany(keys);
    const after = await clientCommands();
    expect(
      reads.map((r) => (r.status === 'hit' && r.entry.kind === 'value' ? r.entry.value : null)),
    ).toEqual(keys.map((_, i) => (i % 2 === 0 ? i : null)));
    // The 50 writes are one script call (EVALSHA, or EVAL the first time), the reads one MGET:
    // never a command per key.
    expect(after.script - before.script).toBeGreaterThanOrEqual(1);
    expect(after.script - before.script).toBeLessThanOrEqual(2);
    expect(after.mget - before.mget).toBe(1);
  });

  it('keeps the newer entry: an older write after a newer one is skipped, atomically per key', async () => {
    const { l2, prefix } = store();
    const newer = entry('new', { fetchedAt: T0 + 2_000 });
    const older = entry('old', { fetchedAt: T0 + 1_000 });
    expect(await l2.set('price:equity:AAPL', newer)).toEqual({
      key: 'price:equity:AAPL',
      status: 'written',
    });
    expect(
      await l2.setMany([
        ['price:equity:AAPL', older],
        ['price:equity:MSFT', older],
      ]),
    ).toEqual([
      { key: 'price:equity:AAPL', status: 'skipped', reason: 'newer' },
      { key: 'price:equity:MSFT', status: 'written' },
    ]);
    expect(await l2.get('price:equity:AAPL')).toEqual({ status: 'hit', entry: newer });
    // The stored value starts with its fetchedAt, readable with GETRANGE.
    expect(await redis.getrange(`${prefix}:v2:e:price:equity:AAPL`, 0, 15)).toBe(
      String(T0 + 2_000).padStart(16, '0'),
    );
    // Equal times overwrite (two answers of one instant are equally new).
    const same = entry('same', { fetchedAt: T0 + 2_000 });
    expect((await l2.set('price:equity:AAPL', same)).status).toBe('written');
    expect(await l2.get('price:equity:AAPL')).toEqual({ status: 'hit', entry: same });
  });

  it('reports a Redis failure as a failed outcome per key, not a rejection', async () => {
    const dead = new Redis(testRedisUrl(), { lazyConnect: true, enableOfflineQueue: false });
    const l2 = new L2Store({
      redis: dead,
      keyPrefix: uniqueName('l2'),
      clock: new ManualClock(T0),
    });
    const outcomes = await l2.setMany([['price:equity:A', entry(1)]]);
    expect(outcomes).toEqual([
      { key: 'price:equity:A', status: 'failed', error: expect.any(Error) as unknown },
    ]);
    dead.disconnect();
  });

  it('refuses keys outside the entry grammar (a lock key cannot be written as an entry)', async () => {
    const { l2 } = store();
    await expect(l2.set('lock:price:equity:AAPL', entry(1))).rejects.toThrow(
      'is not dataType:assetType:SYMBOL',
    );
    await expect(l2.get('AAPL')).rejects.toThrow(RangeError);
  });

  it('reports a corrupt value as corrupt, not as an error', async () => {
    const { l2, prefix } = store();
    await redis.set(`${prefix}:v2:e:price:equity:BAD`, 'not msgpack \xff\xfe');
    await redis.set(`${prefix}:v2:e:price:equity:ODD`, JSON.stringify({ a: 1 }));
    const [bad, odd] = await l2.getMany(['price:equity:BAD', 'price:equity:ODD']);
    expect(bad?.status).toBe('corrupt');
    expect(odd?.status).toBe('corrupt');
    expect(await l2.get('price:equity:BAD')).toMatchObject({
      status: 'corrupt',
      error: { code: 'FIML_CACHE_CORRUPT_ENTRY' },
    });
  });

  it('deletes keys, and keys by pattern with SCAN', async () => {
    const { l2 } = store();
    const keys = Array.from({ length: 1_200 }, (_, i) => `price:equity:P${i}`);
    await l2.setMany([
      ...keys.map((k) => [k, entry(1)] as const),
      ['news:equity:AAPL', entry('n')],
    ]);
    expect(await l2.delete(['price:equity:P0', 'price:equity:NONE'])).toBe(1);
    expect(await l2.deleteByPattern('price:*')).toBe(1_199);
    expect(await l2.get('news:equity:AAPL')).toMatchObject({ status: 'hit' });
    // A pattern of everything removes entries only: locks, access data and limits live elsewhere.
    const { prefix } = store();
    const own = new L2Store({ redis, keyPrefix: prefix, clock: new ManualClock(T0) });
    await own.set('price:equity:X', entry(1));
    await redis.set(`${prefix}:v2:lock:price:equity:X`, 'token');
    await redis.set(`${prefix}:v2:access:k`, '1');
    await redis.set(`${prefix}:v2:limit:client`, '1');
    expect(await own.deleteByPattern('*')).toBe(1);
    expect(
      await redis.exists(
        `${prefix}:v2:lock:price:equity:X`,
        `${prefix}:v2:access:k`,
        `${prefix}:v2:limit:client`,
      ),
    ).toBe(3);
  });

  it('rejects empty and oversized keys and bad prefixes', async () => {
    const { l2 } = store();
    await expect(l2.get('')).rejects.toThrow(RangeError);
    await expect(l2.get('k'.repeat(513))).rejects.toThrow(
      'cache key is 513 bytes; the limit is 512',
    );
    expect(() => new L2Store({ redis, keyPrefix: 'a:b' })).toThrow(RangeError);
    await expect(l2.deleteByPattern('')).rejects.toThrow(RangeError);
  });
});
