// The set-if-newer write path end to end against a real redis-server: the
// packed script argument, the stored bytes, and every outcome a key can have
// in one chunk.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { testRedisUrl, uniqueName } from '@fiml/testing';
import type { CacheEntry, EntryMeta } from '../src/l2/cache-entry.js';
import { jsonCodec, msgpackCodec, type EntryCodec } from '../src/l2/entry-codec.js';
import { L2Store } from '../src/l2/l2-store.js';
import { callScript, defineScript } from '../src/lua/lua-script.js';
import { SET_IF_NEWER } from '../src/lua/set-if-newer.js';

const T0 = Date.UTC(2026, 10, 24, 15, 0);

function entry(value: unknown, overrides: Partial<EntryMeta> = {}): CacheEntry {
  return {
    kind: 'value',
    value,
    dataType: 'price',
    fetchedAt: T0,
    source: 'sim-equities',
    writer: 'scheduler',
    ttlMs: 300_000,
    softExpiresAt: T0 + 300_000,
    hardExpiresAt: T0 + 600_000,
    ...overrides,
  };
}

/** The stored value as the first layout built it: the header as a padded string, then the codec's bytes. */
function storedForm(e: CacheEntry, codec: EntryCodec = msgpackCodec()): Buffer {
  const at = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(e.fetchedAt)));
  return Buffer.concat([Buffer.from(String(at).padStart(16, '0'), 'latin1'), codec.encode(e)]);
}

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(() => redis.disconnect());

function store(options: { codec?: EntryCodec; writeChunk?: number } = {}) {
  const clock = new ManualClock(T0);
  const prefix = uniqueName('nw');
  const l2 = new L2Store({ redis, keyPrefix: prefix, clock, ...options });
  return { l2, clock, rawKey: (key: string) => l2.redisKey(key) };
}

describe('stored bytes', () => {
  it('are the header digits followed by the codec bytes, exactly as before, for both codecs', async () => {
    for (const codec of [msgpackCodec(), jsonCodec()]) {
      const { l2, rawKey } = store({ codec });
      const entries = [
        entry({ symbol: 'AAPL', price: 231.42, name: 'Äpfel ✓' }),
        entry('x', { fetchedAt: 0 }),
        entry(1, { fetchedAt: -5 }),
        entry(2, { fetchedAt: T0 + 0.75 }),
        entry(3, { fetchedAt: Number.MAX_SAFE_INTEGER, hardExpiresAt: T0 + 1_000 }),
        {
          kind: 'not-found',
          dataType: 'fundamentals',
          fetchedAt: T0,
          source: 'sim',
          writer: 'warmer',
          ttlMs: 60_000,
          softExpiresAt: T0 + 60_000,
          hardExpiresAt: T0 + 60_000,
        } satisfies CacheEntry,
      ].map((e, i) => [`price:equity:B${i}`, e] as const);
      const outcomes = await l2.setMany(entries);
      expect(outcomes.every((o) => o.status === 'written')).toBe(true);
      for (const [key, e] of entries) {
        const raw = await redis.getBuffer(rawKey(key));
        expect(raw?.equals(storedForm(e, codec))).toBe(true);
      }
    }
  });

  it('carries values holding every byte value, an empty body and a 1.5 MB value unchanged', async () => {
    const allBytes = Buffer.from(Array.from({ length: 4 * 256 }, (_, i) => i % 256));
    const huge = Buffer.alloc(1536 * 1024, 0);
    for (let i = 0; i < huge.length; i += 1) huge[i] = (i * 7919) % 256;
    const bodies: Record<string, Buffer> = { all: allBytes, empty: Buffer.alloc(0), huge };
    // A codec that stores the body named by the value, to control every byte Redis sees.
    const raw: EntryCodec = {
      name: 'raw',
      encode: (e) => bodies[(e as { value: string }).value]!,
      decode: (bytes) => entry(Object.keys(bodies).find((k) => bodies[k]!.equals(bytes))),
    };
    const { l2, rawKey } = store({ codec: raw });
    const keys = ['all', 'empty', 'huge'].map((name) => `price:equity:${name.toUpperCase()}`);
    const outcomes = await l2.setMany(keys.map((k, i) => [k, entry(['all', 'empty', 'huge'][i])]));
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written', 'written']);
    const header = Buffer.from(String(T0).padStart(16, '0'));
    for (const [i, name] of ['all', 'empty', 'huge'].entries()) {
      const expected = Buffer.concat([header, bodies[name]!]);
      // Compared by digest in Redis: reading 1.5 MB back would leave ioredis's
      // parser a buffer pool to shrink on a timer after the test.
      const digest = await redis.eval(
        "return redis.sha1hex(redis.call('GET', KEYS[1]))",
        1,
        rawKey(keys[i]!),
      );
      expect(digest).toBe(createHash('sha1').update(expected).digest('hex'));
      if (name !== 'huge')
        expect(await l2.get(keys[i]!)).toEqual({ status: 'hit', entry: entry(name) });
    }
    // A 16-byte value (header, empty body) is a valid header: an older write is skipped.
    const older = await l2.set(keys[1]!, entry('all', { fetchedAt: T0 - 1 }));
    expect(older).toEqual({ key: keys[1], status: 'skipped', reason: 'newer' });
  });

  it('expire at the hard expiry: PX rounds up, is at least 1 ms, and can be years', async () => {
    const { l2, rawKey } = store();
    await l2.setMany([
      ['price:equity:SOON', entry(1, { hardExpiresAt: T0 + 0.2 })],
      ['price:equity:HOUR', entry(1, { hardExpiresAt: T0 + 3_599_999.5 })],
      ['price:equity:YEARS', entry(1, { hardExpiresAt: T0 + 10 * 365 * 86_400_000 })],
    ]);
    const [soon, hour, years] = await Promise.all(
      ['SOON', 'HOUR', 'YEARS'].map((s) => redis.pttl(rawKey(`price:equity:${s}`))),
    );
    expect(soon).toBeLessThanOrEqual(1); // 1 ms, or already gone (-2)
    expect(hour).toBeGreaterThan(3_590_000);
    expect(hour).toBeLessThanOrEqual(3_600_000);
    expect(years).toBeGreaterThan(10 * 365 * 86_400_000 - 10_000);
  });
});

describe('one chunk, every outcome', () => {
  it('writes absent and older keys, skips newer ones, overwrites unreadable headers, in any order', async () => {
    const { l2, rawKey, clock } = store();
    // Runs of absent keys, runs of held keys and alternation, so the script's
    // absent-or-held guess is right and wrong in turn.
    const plan = [
      'absent',
      'absent',
      'older',
      'older',
      'older',
      'newer',
      'absent',
      'equal',
      'absent',
      'newer',
      'older',
      'absent',
      'short',
      'letters',
      'spaces',
      'hex',
      'exponent',
      'sign',
      'dot',
      'empty',
      'max',
      'zero',
      'expired',
      'absent',
      'newer',
      'newer',
      'absent',
    ] as const;
    const foreign: Partial<Record<(typeof plan)[number], string>> = {
      short: '123',
      letters: '17640000000000x0rest',
      spaces: '   9999999999999 rest',
      hex: '0x99999999999999rest',
      exponent: '9e99999999999999rest',
      sign: '+999999999999999rest',
      dot: '999999999999999.rest',
      empty: '',
      max: '9999999999999999', // 16 digits: a header, newer than anything
      zero: '0000000000000000rest',
    };
    const keys = plan.map((_, i) => `price:equity:K${i}`);
    const offsets = { older: -1_000, newer: 1_000, equal: 0 } as const;
    for (const [i, kind] of plan.entries()) {
      if (kind === 'older' || kind === 'newer' || kind === 'equal') {
        await l2.set(keys[i]!, entry(`held ${i}`, { fetchedAt: T0 + offsets[kind] }));
      } else if (foreign[kind] !== undefined) {
        await redis.set(rawKey(keys[i]!), foreign[kind]);
      }
    }
    clock.advance(0);
    const writes = plan.map(
      (kind, i) =>
        [keys[i]!, entry(`new ${i}`, kind === 'expired' ? { hardExpiresAt: T0 - 1 } : {})] as const,
    );
    const outcomes = await l2.setMany(writes);
    const expected = plan.map((kind) =>
      kind === 'newer' || kind === 'max'
        ? 'skipped newer'
        : kind === 'expired'
          ? 'skipped expired'
          : 'written',
    );
    expect(
      outcomes.map((o) => (o.status === 'skipped' ? `skipped ${o.reason}` : o.status)),
    ).toEqual(expected);
    expect(outcomes.map((o) => o.key)).toEqual(keys);
    for (const [i, kind] of plan.entries()) {
      const raw = await redis.getBuffer(rawKey(keys[i]!));
      if (expected[i] === 'written') expect(raw?.equals(storedForm(writes[i]![1]))).toBe(true);
      else if (kind === 'max') expect(raw?.toString()).toBe(foreign.max);
      else if (kind === 'expired') expect(raw).toBeNull();
      else expect(await l2.get(keys[i]!)).toMatchObject({ entry: { value: `held ${i}` } });
    }
  });

  it('splits batches into chunks of writeChunk, keeping every outcome in order', async () => {
    const { l2 } = store({ writeChunk: 7 });
    const keys = Array.from({ length: 50 }, (_, i) => `price:equity:C${i}`);
    await l2.setMany(
      keys.filter((_, i) => i % 3 === 0).map((k) => [k, entry('newer', { fetchedAt: T0 + 1 })]),
    );
    const outcomes = await l2.setMany(keys.map((k) => [k, entry('mine')]));
    expect(outcomes.map((o) => o.status)).toEqual(
      keys.map((_, i) => (i % 3 === 0 ? 'skipped' : 'written')),
    );
    const reads = await l2.getMany(keys);
    expect(
      reads.map((r) => (r.status === 'hit' && r.entry.kind === 'value' ? r.entry.value : r.status)),
    ).toEqual(keys.map((_, i) => (i % 3 === 0 ? 'newer' : 'mine')));
  });

  it('fails the chunk of a key holding another type, as Redis answers WRONGTYPE', async () => {
    const { l2, rawKey } = store({ writeChunk: 2 });
    await redis.hset(rawKey('price:equity:HASH'), 'f', 'v');
    const outcomes = await l2.setMany([
      ['price:equity:OK1', entry(1)],
      ['price:equity:OK2', entry(2)],
      ['price:equity:HASH', entry(3)],
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['written', 'written', 'failed']);
    expect(outcomes[2]).toMatchObject({ error: { message: expect.stringContaining('WRONGTYPE') } });
  });
});

describe('bad input', () => {
  it('refuses entries whose times are not finite, before writing anything', async () => {
    const { l2, rawKey } = store();
    for (const bad of [{ fetchedAt: Number.NaN }, { hardExpiresAt: Number.POSITIVE_INFINITY }]) {
      await expect(
        l2.setMany([
          ['price:equity:GOOD', entry(1)],
          ['price:equity:BAD', entry(2, bad)],
        ]),
      ).rejects.toThrow(RangeError);
    }
    expect(await redis.exists(rawKey('price:equity:GOOD'))).toBe(0);
  });

  it('the script refuses a packed argument whose count does not match its keys, and writes nothing', async () => {
    defineScript(redis, SET_IF_NEWER);
    const prefix = uniqueName('nw');
    const packed = Buffer.alloc(4);
    packed.writeUInt32LE(2, 0);
    await expect(callScript(redis, SET_IF_NEWER, [`${prefix}:a`], [packed])).rejects.toThrow(
      '2 packed entries for 1 keys',
    );
    expect(await redis.exists(`${prefix}:a`)).toBe(0);
  });

  it('reports a Redis failure on a pipeline of chunks as failed outcomes, not a rejection', async () => {
    const dead = new Redis(testRedisUrl(), { lazyConnect: true, enableOfflineQueue: false });
    const l2 = new L2Store({
      redis: dead,
      keyPrefix: uniqueName('nw'),
      clock: new ManualClock(T0),
      writeChunk: 1,
    });
    const outcomes = await l2.setMany([
      ['price:equity:A', entry(1)],
      ['price:equity:B', entry(2)],
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['failed', 'failed']);
    dead.disconnect();
  });
});
