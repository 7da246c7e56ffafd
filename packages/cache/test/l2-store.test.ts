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
    const pttl = await redis.pttl(`${prefix}:v1:price:equity:AAPL`);
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
    const before = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    await l2.setMany(keys.filter((_, i) => i % 2 === 0).map((k, i) => [k, entry(i * 2)] as const));
    const reads = await l2.getMany(keys);
    const after = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)![1]);
    expect(
      reads.map((r) => (r.status === 'hit' && r.entry.kind === 'value' ? r.entry.value : null)),
    ).toEqual(keys.map((_, i) => (i % 2 === 0 ? i : null)));
    // 50 SETs in one pipeline, one MGET, plus the first INFO call itself.
    expect(after - before).toBe(50 + 1 + 1);
  });

  it('writes atomically with MULTI when asked', async () => {
    const { l2 } = store();
    const monitor = await redis.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) =>
      commands.push(String(args[0]).toLowerCase()),
    );
    try {
      await l2.setMany(
        [
          ['price:equity:A', entry(1)],
          ['price:equity:B', entry(2)],
        ],
        { atomic: true },
      );
      await redis.ping();
    } finally {
      monitor.disconnect();
    }
    expect(commands.filter((c) => c !== 'ping')).toEqual(['multi', 'set', 'set', 'exec']);
  });

  it('reports a corrupt value as corrupt, not as an error', async () => {
    const { l2, prefix } = store();
    await redis.set(`${prefix}:v1:price:equity:BAD`, 'not msgpack \xff\xfe');
    await redis.set(`${prefix}:v1:price:equity:ODD`, JSON.stringify({ a: 1 }));
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
