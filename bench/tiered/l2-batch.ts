/**
 * L2 batch reads: L2Store.getMany of 100 keys (one round trip) against 100
 * sequential `await l2.get(key)`, on a private redis-server, with raw ioredis
 * reads on the same keys for reference.
 *
 *   pnpm --filter @fiml/bench bench:tiered:l2
 *
 * One round times each candidate once over the same 100 keys, in a rotating
 * order, so machine noise hits all of them alike; the figures are the median
 * and p95 over rounds of the time for 100 keys. Not a test: nothing here
 * passes or fails.
 *
 * Where the scheduler puts the two processes decides what a round trip costs
 * here: about 20 µs when this process and redis-server share a core, about
 * 60 µs when they run on different cores of this VM (presumably the cost of
 * waking the other vCPU), and an unpinned run lands in either regime at random. So on Linux
 * with `taskset` the whole measurement runs twice, pinned both ways, and
 * reports both; elsewhere it runs once, unpinned.
 */
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { ManualClock } from '@fiml/market';
import { startRedisServer } from '@fiml/testing';
import { L2Store, jsonCodec, type CacheEntry } from '@fiml/cache';
import { SYMBOLS, T0, priceEntry } from './fixtures.js';
import {
  fixed,
  markdownTable,
  median,
  quantile,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';
import { pin } from '../lib/pin.js';

const WARMUP_ROUNDS = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 400);

interface Placement {
  readonly name: string;
  readonly cpus?: { readonly bench: number; readonly redis: number };
}
const PINNED: readonly Placement[] = [
  { name: 'same core (bench and redis-server pinned to CPU 0)', cpus: { bench: 0, redis: 0 } },
  { name: 'separate cores (bench on CPU 0, redis-server on CPU 1)', cpus: { bench: 0, redis: 1 } },
];

const info = runInfo('bench:tiered:l2');
const server = await startRedisServer();
// A cache-role connection, as the api opens one: fails fast instead of queueing.
const redis = new Redis(server.url, {
  lazyConnect: true,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
});

try {
  await redis.connect();
  const clock = new ManualClock(T0);
  const l2 = new L2Store({ redis, keyPrefix: 'bench', clock });
  const l2Json = new L2Store({ redis, keyPrefix: 'benchjson', clock, codec: jsonCodec() });

  const keys = SYMBOLS.map((symbol) => `price:equity:${symbol}`);
  const entries = SYMBOLS.map((symbol) => priceEntry(symbol));
  const pairs = keys.map((key, i): [string, CacheEntry] => [key, entries[i]!]);
  await l2.setMany(pairs);
  await l2Json.setMany(pairs);
  const redisKeys = keys.map((key) => l2.redisKey(key));

  // Every candidate must read what was written, or its timing means nothing.
  for (const store of [l2, l2Json]) {
    const reads = await store.getMany(keys);
    reads.forEach((read, i) => {
      if (read.status !== 'hit' || !isDeepStrictEqual(read.entry, entries[i])) {
        throw new Error(`${keys[i]} did not read back as written`);
      }
    });
  }

  let sink = 0;
  const candidates: readonly { name: string; run: () => Promise<void> }[] = [
    {
      name: 'L2Store.getMany(100 keys)',
      run: async () => {
        for (const read of await l2.getMany(keys)) if (read.status === 'hit') sink++;
      },
    },
    {
      name: '100 × await L2Store.get(key)',
      run: async () => {
        for (const key of keys) if ((await l2.get(key)).status === 'hit') sink++;
      },
    },
    {
      name: 'ref: 100 × await redis.getBuffer (raw, no decode)',
      run: async () => {
        for (const key of redisKeys) if ((await redis.getBuffer(key)) !== null) sink++;
      },
    },
    {
      name: 'ref: redis.mgetBuffer(100) (raw, no decode)',
      run: async () => {
        for (const value of await redis.mgetBuffer(...redisKeys)) if (value !== null) sink++;
      },
    },
    {
      name: 'ref: pipeline of 100 GETs (raw, no decode)',
      run: async () => {
        const pipeline = redis.pipeline();
        for (const key of redisKeys) pipeline.getBuffer(key);
        for (const [error, value] of (await pipeline.exec()) ?? []) if (!error && value) sink++;
      },
    },
    {
      name: 'ref: L2Store.getMany(100 keys), jsonCodec',
      run: async () => {
        for (const read of await l2Json.getMany(keys)) if (read.status === 'hit') sink++;
      },
    },
  ];

  async function measure() {
    sink = 0;
    const samples = candidates.map((): number[] => []);
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      for (let k = 0; k < candidates.length; k++) {
        const i = (k + round) % candidates.length;
        const started = performance.now();
        await candidates[i]!.run();
        const ms = performance.now() - started;
        if (round >= WARMUP_ROUNDS) samples[i]!.push(ms);
      }
    }
    if (sink !== (WARMUP_ROUNDS + ROUNDS) * candidates.length * keys.length) {
      throw new Error(`expected every read to hit; counted ${sink}`);
    }
    const getManyMedian = median(samples[0]!);
    return candidates.map((c, i) => {
      const ms = samples[i]!;
      return {
        candidate: c.name,
        medianMs: median(ms),
        p95Ms: quantile(ms, 0.95),
        minMs: Math.min(...ms),
        maxMs: Math.max(...ms),
        keysPerSecond: (keys.length / median(ms)) * 1_000,
        timeVsGetMany: median(ms) / getManyMedian,
        samplesMs: ms.map((x) => Math.round(x * 1e4) / 1e4),
      };
    });
  }

  const canPin = os.cpus().length >= 2 && pin(process.pid, 0) && pin(server.pid, 0);
  const placements: readonly Placement[] = canPin ? PINNED : [{ name: 'unpinned' }];
  const measured = [];
  for (const placement of placements) {
    if (placement.cpus) {
      pin(process.pid, placement.cpus.bench);
      pin(server.pid, placement.cpus.redis);
    }
    measured.push({ placement: placement.name, results: await measure() });
  }
  const bytes = await Promise.all(
    [l2, l2Json].map(async (store) => {
      const values = await redis.mgetBuffer(...keys.map((key) => store.redisKey(key)));
      return values.reduce((sum, v) => sum + (v?.length ?? 0), 0) / values.length;
    }),
  );

  // Raw sequential GETs (row 2): what one round trip costs in each placement.
  const crossCore =
    measured.length === 2
      ? measured[1]!.results[2]!.medianMs / measured[0]!.results[2]!.medianMs
      : 1;
  const version = (await redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '';
  const headline = measured.map(({ placement, results }) => {
    const [getMany, sequential] = [results[0]!, results[1]!];
    return (
      `${placement}: **100 sequential \`L2Store.get\` take ${fixed(sequential.timeVsGetMany, 1)}× as long as ` +
      `one \`L2Store.getMany\`** (median ${fixed(sequential.medianMs, 2)} ms vs ${fixed(getMany.medianMs, 2)} ms)`
    );
  });
  const markdown = [
    '## L2 batch read: getMany vs sequential gets',
    '',
    runInfoLine(info),
    '',
    `A private redis-server ${version} (started by \`startRedisServer()\`, loopback, on the same 2 cores as ` +
      'the benchmark), one ioredis connection with the cache-role options. 100 price entries (PriceQuote-shaped, ' +
      `msgpack ${fixed(bytes[0]!, 0)} B each, JSON ${fixed(bytes[1]!, 0)} B) written with L2Store.setMany. ` +
      'L2Store.getMany sends one MGET on a standalone Redis (one round trip; a Cluster gets one MGET per hash slot). ' +
      `${WARMUP_ROUNDS} warm-up rounds, then ${ROUNDS} rounds; in each round every candidate reads the 100 keys once, ` +
      'in a rotating order. Time per 100 keys: median and p95 over rounds; ' +
      '"× getMany" = median time / L2Store.getMany median time. ' +
      (canPin
        ? 'Measured twice, with both processes pinned (taskset) first to one core, then to separate cores: ' +
          `100 raw sequential GETs took ${fixed(crossCore, 1)}× as long across cores as on one (presumably the cost of waking the other ` +
          'vCPU on every round trip), and an unpinned run lands in either regime at random.'
        : 'Unpinned (taskset unavailable): the scheduler may have put both processes on one core or on two.'),
    ...measured.flatMap(({ placement, results }) => [
      '',
      `### ${placement}`,
      '',
      markdownTable(
        ['candidate', 'median ms / 100 keys', 'p95 ms', 'keys/s (median)', '× getMany'],
        results.map((r) => [
          r.candidate,
          fixed(r.medianMs, 3),
          fixed(r.p95Ms, 3),
          fixed(r.keysPerSecond, 0),
          ratio(r.timeVsGetMany),
        ]),
      ),
    ]),
    '',
    '**Ratio** — ' + headline.join('; ') + '.',
    'Against a Redis on another host, where a round trip is 0.1–1 ms, the gap grows with the round trip.',
  ].join('\n');

  saveResults('tiered-l2-batch', markdown, {
    benchmark: 'tiered-l2-batch',
    ...info,
    warmupRounds: WARMUP_ROUNDS,
    rounds: ROUNDS,
    keys: keys.length,
    meanEntryBytes: { msgpack: bytes[0], json: bytes[1] },
    placements: measured,
  });
} finally {
  redis.disconnect();
  await server.stop();
}
