/**
 * L2 newer-wins writes: CPU per entry of `L2Store.setMany` on batches of 100
 * price entries, in this process (node) and in redis-server, against a copy
 * of the write path it replaced (three script arguments per entry and a
 * header copy per value), in the same run, on the same inputs.
 *
 *   pnpm --filter @fiml/bench bench:tiered:l2-write
 *
 * The machine is two shared cores, so wall time says little; CPU time does:
 * node from `process.cpuUsage()` (GC and every thread included), Redis from
 * `INFO cpu` (user + sys of the whole server) and, narrower, the script's own
 * time from `INFO commandstats`. Four cases: keys absent (the scheduler's
 * usual write), keys holding an older entry (overwritten), keys holding a
 * newer one (skipped), and absent and older keys alternating. Each sample writes BATCHES batches of 100 distinct
 * keys on a flushed database, awaiting each batch as the scheduler does; in
 * every round each candidate runs each case once, in a rotating order; the
 * first round is a warm-up. Not a test: nothing here passes or fails.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { ManualClock, SeededRandom } from '@fiml/market';
import { startRedisServer } from '@fiml/testing';
import {
  L2Store,
  assertEntryKey,
  msgpackCodec,
  type CacheEntry,
  type EntryCodec,
  type WriteOutcome,
} from '@fiml/cache';
import { SYMBOLS, T0, priceEntry } from './fixtures.js';
import {
  fixed,
  markdownTable,
  median,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';
import { pin } from '../lib/pin.js';

const BATCH = 100;
const BATCHES = Number(process.env.BATCHES ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const WARMUP_ROUNDS = 1;

type Pair = readonly [string, CacheEntry];

/**
 * The write path as it was before the packed argument (commit e13a493),
 * standalone branch, kept here as the reference: per entry fetchedAt, PX and
 * the value as three script arguments, the value copied once more to put its
 * header in front, the header compared with tonumber.
 */
const LEGACY_LUA = `
local out = {}
for i = 1, #KEYS do
  local at = tonumber(ARGV[3 * i - 2])
  local stored = tonumber(redis.call('GETRANGE', KEYS[i], 0, 15))
  if stored ~= nil and stored > at then
    out[i] = 0
  else
    redis.call('SET', KEYS[i], ARGV[3 * i], 'PX', ARGV[3 * i - 1])
    out[i] = 1
  end
end
return out
`;

function legacyHeaderTime(fetchedAt: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(fetchedAt)));
}

function legacyWithHeader(fetchedAt: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(16 + body.length);
  out.write(String(legacyHeaderTime(fetchedAt)).padStart(16, '0'), 0, 16, 'latin1');
  body.copy(out, 16);
  return out;
}

class LegacyWriter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #codec: EntryCodec = msgpackCodec();
  readonly #clock: ManualClock;

  constructor(redis: Redis, prefix: string, clock: ManualClock) {
    this.#redis = redis;
    this.#prefix = `${prefix}:v2:e:`;
    this.#clock = clock;
    redis.defineCommand('benchLegacySetIfNewer', { lua: LEGACY_LUA });
  }

  /** As `L2Store.setMany` was, for a standalone Redis; CacheWriter.write checked every key once more. */
  async setMany(entries: readonly Pair[]): Promise<WriteOutcome[]> {
    entries.forEach(([key]) => assertEntryKey(key));
    entries.forEach(([key]) => assertEntryKey(key));
    const now = this.#clock.now();
    const outcomes = new Array<WriteOutcome>(entries.length);
    const live: number[] = [];
    entries.forEach(([key, entry], i) => {
      if (entry.hardExpiresAt > now) live.push(i);
      else outcomes[i] = { key, status: 'skipped', reason: 'expired' };
    });
    if (live.length === 0) return outcomes;
    const chunks = [live];
    const pipeline = this.#redis.pipeline();
    for (const indexes of chunks) {
      const keys: string[] = [];
      const args: (string | Buffer)[] = [];
      for (const i of indexes) {
        const [key, entry] = entries[i]!;
        keys.push(this.#prefix + key);
        args.push(
          String(legacyHeaderTime(entry.fetchedAt)),
          String(Math.max(1, Math.ceil(entry.hardExpiresAt - now))),
          legacyWithHeader(entry.fetchedAt, this.#codec.encode(entry)),
        );
      }
      const call = (pipeline as unknown as Record<string, (...a: unknown[]) => unknown>)
        .benchLegacySetIfNewer!;
      call.call(pipeline, keys.length, ...keys, ...args);
    }
    const replies = (await pipeline.exec()) ?? [];
    chunks.forEach((indexes, c) => {
      const [error, reply] = replies[c] ?? [new Error('no reply'), undefined];
      indexes.forEach((entryIndex, j) => {
        const key = entries[entryIndex]![0];
        const flag = Array.isArray(reply) ? (reply[j] as unknown) : undefined;
        outcomes[entryIndex] = error
          ? { key, status: 'failed', error }
          : flag === 1
            ? { key, status: 'written' }
            : flag === 0
              ? { key, status: 'skipped', reason: 'newer' }
              : { key, status: 'failed', error: new Error(`unexpected reply ${String(flag)}`) };
      });
    });
    return outcomes;
  }
}

interface Case {
  readonly name: string;
  /** The stored entry's fetchedAt relative to the written one, or undefined for absent keys. */
  readonly storedOffsetMs?: number;
  /** Only every other key holds one (the worst case for the script's absent-or-held guess). */
  readonly alternate?: boolean;
  readonly expect: 'written' | 'skipped';
}
const CASES: readonly Case[] = [
  { name: 'keys absent (the scheduler’s usual write)', expect: 'written' },
  { name: 'an older entry stored (overwritten)', storedOffsetMs: -60_000, expect: 'written' },
  { name: 'a newer entry stored (skipped)', storedOffsetMs: 60_000, expect: 'skipped' },
  {
    name: 'every other key absent, the others older (overwritten)',
    storedOffsetMs: -60_000,
    alternate: true,
    expect: 'written',
  },
];

const info = runInfo('bench:tiered:l2-write');
const server = await startRedisServer();
const redis = new Redis(server.url, {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
});

try {
  await redis.connect();
  const clock = new ManualClock(T0);
  const prefix = 'bench';
  const store = new L2Store({ redis, keyPrefix: prefix, clock });
  const legacy = new LegacyWriter(redis, prefix, clock);
  const candidates: readonly {
    name: string;
    setMany: (e: readonly Pair[]) => Promise<WriteOutcome[]>;
  }[] = [
    { name: 'L2Store.setMany (packed argument)', setMany: (e) => store.setMany(e) },
    { name: 'previous write path (reference copy)', setMany: (e) => legacy.setMany(e) },
  ];

  // The same inputs for every candidate: BATCHES x 100 distinct keys and quotes.
  const random = new SeededRandom(11);
  const batches: Pair[][] = Array.from({ length: BATCHES }, (_, b) =>
    SYMBOLS.slice(0, BATCH).map((symbol): Pair => {
      const s = `${symbol}${b}`;
      return [`price:equity:${s}`, priceEntry(s, random)];
    }),
  );
  const entryBytes =
    (await (async () => {
      await redis.flushdb();
      await store.setMany(batches[0]!);
      const values = await redis.mgetBuffer(...batches[0]!.map(([k]) => store.redisKey(k)));
      return values.reduce((sum, v) => sum + (v?.length ?? 0), 0);
    })()) / BATCH;

  const redisCpuUs = async (): Promise<number> => {
    const text = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(text)?.[1] ?? NaN);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
  };
  const scriptUs = async (): Promise<{ usec: number; calls: number }> => {
    const text = await redis.info('commandstats');
    let usec = 0;
    let calls = 0;
    for (const m of text.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/g)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
    return { usec, calls };
  };

  async function sample(setMany: (e: readonly Pair[]) => Promise<WriteOutcome[]>, c: Case) {
    await redis.flushdb();
    if (c.storedOffsetMs !== undefined) {
      const offset = c.storedOffsetMs;
      for (const batch of batches) {
        await store.setMany(
          batch
            .filter((_, j) => !c.alternate || j % 2 === 1)
            .map(([key, entry]): Pair => [key, { ...entry, fetchedAt: entry.fetchedAt + offset }]),
        );
      }
    }
    await redis.config('RESETSTAT');
    const redis0 = await redisCpuUs();
    const node0 = process.cpuUsage();
    const wall0 = performance.now();
    let expected = 0;
    for (const batch of batches) {
      for (const outcome of await setMany(batch)) if (outcome.status === c.expect) expected++;
    }
    const wallMs = performance.now() - wall0;
    const node = process.cpuUsage(node0);
    const redis1 = await redisCpuUs();
    const script = await scriptUs();
    const entries = BATCHES * BATCH;
    if (expected !== entries) throw new Error(`${c.name}: ${expected} of ${entries} ${c.expect}`);
    return {
      nodeUs: (node.user + node.system) / entries,
      redisUs: (redis1 - redis0) / entries,
      scriptUs: script.usec / entries,
      wallUs: (wallMs * 1000) / entries,
    };
  }

  const canPin = os.cpus().length >= 2 && pin(process.pid, 0) && pin(server.pid, 1);
  type Sample = Awaited<ReturnType<typeof sample>>;
  const samples: Sample[][][] = CASES.map(() => candidates.map(() => []));
  let turn = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    for (let ci = 0; ci < CASES.length; ci++) {
      for (let k = 0; k < candidates.length; k++) {
        const i = (k + turn) % candidates.length;
        const s = await sample(candidates[i]!.setMany, CASES[ci]!);
        if (round >= WARMUP_ROUNDS) samples[ci]![i]!.push(s);
      }
      turn++;
    }
  }

  const stat = (xs: readonly number[]) => ({
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
  });
  const cell = (xs: readonly number[]) => {
    const s = stat(xs);
    return `${fixed(s.median, 2)} (${fixed(s.min, 2)}–${fixed(s.max, 2)})`;
  };
  const results = CASES.map((c, ci) => ({
    case: c.name,
    candidates: candidates.map((cand, i) => {
      const xs = samples[ci]![i]!;
      return {
        candidate: cand.name,
        nodeUs: stat(xs.map((x) => x.nodeUs)),
        redisUs: stat(xs.map((x) => x.redisUs)),
        scriptUs: stat(xs.map((x) => x.scriptUs)),
        wallUs: stat(xs.map((x) => x.wallUs)),
        samples: xs,
      };
    }),
    // Ratios per round (new / reference), then their median: rounds share the machine's mood.
    ratios: {
      node: stat(samples[ci]![0]!.map((x, r) => x.nodeUs / samples[ci]![1]![r]!.nodeUs)),
      redis: stat(samples[ci]![0]!.map((x, r) => x.redisUs / samples[ci]![1]![r]!.redisUs)),
    },
  }));

  const version = (await redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '';
  const markdown = [
    '## L2 newer-wins writes: CPU per entry',
    '',
    runInfoLine(info),
    '',
    `A private redis-server ${version} (\`startRedisServer()\`, loopback), one ioredis connection with the ` +
      `cache-role options${canPin ? ', this process pinned to CPU 0 and redis-server to CPU 1' : ', unpinned'}. ` +
      `Batches of ${BATCH} price entries (msgpack, ${fixed(entryBytes, 0)} B stored per value with its header), ` +
      `${BATCHES} batches of distinct keys per sample, each awaited before the next. ` +
      `${WARMUP_ROUNDS} warm-up round, then ${ROUNDS} rounds; in each round every candidate runs every case once, ` +
      'in a rotating order. µs per entry: median (min–max) over rounds. node = user + sys of this process ' +
      '(GC included); Redis = user + sys of redis-server (INFO cpu); script = the EVALSHA time in INFO commandstats. ' +
      '"new / ref" = the median over rounds of the per-round ratio.',
    ...results.flatMap((r) => [
      '',
      `### ${r.case}`,
      '',
      markdownTable(
        [
          'candidate',
          'node µs / entry',
          'Redis µs / entry',
          'script µs / entry',
          'wall µs / entry',
        ],
        [
          ...r.candidates.map((c, i) => {
            const xs = samples[results.indexOf(r)]![i]!;
            return [
              c.candidate,
              cell(xs.map((x) => x.nodeUs)),
              cell(xs.map((x) => x.redisUs)),
              cell(xs.map((x) => x.scriptUs)),
              cell(xs.map((x) => x.wallUs)),
            ];
          }),
          [
            '**new / ref**',
            `${ratio(r.ratios.node.median)} (${ratio(r.ratios.node.min)}–${ratio(r.ratios.node.max)})`,
            `${ratio(r.ratios.redis.median)} (${ratio(r.ratios.redis.min)}–${ratio(r.ratios.redis.max)})`,
            '',
            '',
          ],
        ],
      ),
    ]),
  ].join('\n');

  saveResults('tiered-l2-write', markdown, {
    benchmark: 'tiered-l2-write',
    ...info,
    redisVersion: version,
    pinned: canPin,
    batch: BATCH,
    batches: BATCHES,
    rounds: ROUNDS,
    warmupRounds: WARMUP_ROUNDS,
    meanStoredBytes: entryBytes,
    results,
  });
} finally {
  redis.disconnect();
  await server.stop();
}
