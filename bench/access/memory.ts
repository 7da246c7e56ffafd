/**
 * Redis memory of the access history (issue 14): what the AccessRecorder's
 * records cost per tracked key, beside the old layout (one sorted set per
 * hour, ZINCRBY per key read in that hour, kept eight days) fed the same
 * reads in the same run.
 *
 *   pnpm --filter @fiml/bench bench:access
 *
 * Per size (1,000, 10,000 and 100,000 keys) and round, on a private
 * redis-server with its default configuration: a simulated week (manual
 * clock, Monday 2026-11-16 00:00 New York) of reads, hour by hour. Each hour
 * a key is read with a probability from its Zipf popularity and the hour
 * (session hours busy, pre- and after-hours less, nights and the weekend
 * quiet), at a random minute of the hour, a few times for popular keys.
 * The recorder flushes after every hour; the old layout gets one pipelined
 * ZINCRBY per (key, hour) into that hour's sorted set. Memory is MEMORY USAGE
 * ... SAMPLES 0 summed over every key of a layout (the new one: its shards
 * and its directory), after the first day and after the week, so the
 * dependence on retention shows. Also: how many keys are tracked (read at
 * least once), the Redis time per merged key (INFO commandstats), and the
 * encodings seen. Not a test: nothing here passes or fails.
 *
 * ROUNDS (default 2) rounds per size with different seeds, each on a fresh
 * server; the figures are the median and range over rounds. SIZES overrides
 * the sizes (comma-separated).
 */
import { Redis } from 'ioredis';
import { AccessRecorder, cacheKeySpace } from '@fiml/cache';
import { DATA_TYPES, ManualClock, SeededRandom } from '@fiml/market';
import { startRedisServer } from '@fiml/testing';
import { Prng } from '../lib/prng.js';
import { fixed, markdownTable, median, runInfo, runInfoLine, saveResults } from '../lib/report.js';

const ROUNDS = Number(process.env.ROUNDS ?? 2);
const SIZES = (process.env.SIZES ?? '1000,10000,100000').split(',').map(Number);
const HOUR = 3_600_000;
const START = Date.parse('2026-11-16T00:00:00-05:00');
const HOURS = 7 * 24;
const TARGET_BYTES_PER_KEY = 50;

/** Four-letter symbols (AAAA, AAAB, ...): about the length of a US ticker. */
function symbol(i: number): string {
  let s = '';
  for (let k = 0; k < 4; k++) {
    s = String.fromCharCode(65 + (i % 26)) + s;
    i = Math.floor(i / 26);
  }
  return s;
}

/** Key i: data types in turn, one symbol in ten crypto. */
function keyOf(i: number): string {
  const n = Math.floor(i / DATA_TYPES.length);
  return `${DATA_TYPES[i % DATA_TYPES.length]}:${n % 10 === 0 ? 'crypto' : 'equity'}:${symbol(n)}`;
}

/** How busy an hour of the week is (New York time; the week starts Monday 00:00). */
function activity(hourOfWeek: number): number {
  const day = Math.floor(hourOfWeek / 24);
  const hour = hourOfWeek % 24;
  if (day >= 5) return 0.05;
  if (hour >= 9 && hour < 16) return 1;
  if (hour >= 4 && hour < 20) return 0.25;
  return 0.05;
}

interface Layout {
  bytes: number;
  keys: number;
  encodings: Record<string, number>;
}

async function measure(redis: Redis, pattern: string): Promise<Layout> {
  const out: Layout = { bytes: 0, keys: 0, encodings: {} };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.memory('USAGE', key, 'SAMPLES', 0);
      pipeline.object('ENCODING', key);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (let i = 0; i < keys.length; i++) {
      out.bytes += Number(replies[2 * i]![1]);
      const encoding = String(replies[2 * i + 1]![1]);
      out.encodings[encoding] = (out.encodings[encoding] ?? 0) + 1;
      out.keys++;
    }
  } while (cursor !== '0');
  return out;
}

async function scriptMicros(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(/cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(info)?.[1] ?? 0);
}

interface RoundResult {
  readonly size: number;
  readonly seed: number;
  readonly tracked: number;
  /** Keys read at least once in the first day. */
  readonly trackedDay: number;
  readonly reads: number;
  readonly keyHours: number;
  readonly newDay: Layout;
  readonly newWeek: Layout;
  readonly oldDay: Layout;
  readonly oldWeek: Layout;
  readonly mergeMicrosPerKey: number;
}

async function round(size: number, seed: number): Promise<RoundResult> {
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  try {
    const clock = new ManualClock(START);
    const prng = new Prng(seed);
    const recorder = new AccessRecorder({
      redis,
      keyPrefix: 'bench',
      clock,
      random: new SeededRandom(seed),
      flushIntervalMs: 3_600_000,
      maxPendingKeys: size + 1,
    });
    const oldPrefix = 'old:v2:access:';
    // Zipf(1) popularity over a shuffled rank, scaled so the busiest hours read about half the keys.
    const keys = Array.from({ length: size }, (_, i) => keyOf(i));
    const harmonic = keys.reduce((sum, _, r) => sum + 1 / (r + 1), 0);
    const popularity = keys.map((_, r) => Math.min(1, (size * 0.5) / ((r + 1) * harmonic)));
    for (let i = size - 1; i > 0; i--) {
      const j = prng.nextInt(i + 1);
      [popularity[i], popularity[j]] = [popularity[j]!, popularity[i]!];
    }
    const tracked = new Set<number>();
    let reads = 0;
    let keyHours = 0;
    let micros = 0;
    let merged = 0;
    let trackedDay = 0;
    let newDay: Layout | undefined;
    let oldDay: Layout | undefined;
    for (let h = 0; h < HOURS; h++) {
      const hourStart = START + h * HOUR;
      const hot = activity(h);
      const hourKey = oldPrefix + Math.floor(hourStart / HOUR);
      const pipeline = redis.pipeline();
      for (let k = 0; k < size; k++) {
        const p = hot * popularity[k]!;
        if (prng.next() >= p) continue;
        const n = 1 + Math.floor(popularity[k]! * 5 * prng.next());
        const at = hourStart + prng.nextInt(60) * 60_000;
        for (let r = 0; r < n; r++) recorder.record(keys[k]!, at);
        pipeline.zincrby(hourKey, n, keys[k]!);
        tracked.add(k);
        reads += n;
        keyHours++;
        merged++;
      }
      pipeline.pexpire(hourKey, 8 * 24 * HOUR);
      await pipeline.exec();
      clock.set(hourStart + HOUR);
      const before = await scriptMicros(redis);
      await recorder.flush();
      micros += (await scriptMicros(redis)) - before;
      if (h === 23) {
        trackedDay = tracked.size;
        newDay = await measure(redis, `${cacheKeySpace('bench').access}*`);
        oldDay = await measure(redis, `${oldPrefix}*`);
      }
    }
    await recorder.close();
    return {
      size,
      seed,
      tracked: tracked.size,
      trackedDay,
      reads,
      keyHours,
      newDay: newDay!,
      oldDay: oldDay!,
      newWeek: await measure(redis, `${cacheKeySpace('bench').access}*`),
      oldWeek: await measure(redis, `${oldPrefix}*`),
      mergeMicrosPerKey: micros / merged,
    };
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

const info = runInfo('bench:access');
const results: RoundResult[] = [];
for (const size of SIZES) {
  for (let r = 0; r < ROUNDS; r++) {
    const result = await round(size, 1_000 + 17 * r + size);
    results.push(result);
    console.error(
      `${size} keys, round ${r + 1}: ${fixed(result.newWeek.bytes / result.tracked, 1)} KB per 1,000 tracked keys ` +
        `(old layout ${fixed(result.oldWeek.bytes / result.tracked, 1)} KB)`,
    );
  }
}

/** KB (1,000 bytes) per 1,000 keys: bytes per key. */
const perThousand = (bytes: number, keys: number) => bytes / keys;
/** "median (min-max)" of a figure over the rounds of a size. */
function spread(values: number[], digits: number): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const m = fixed(median(values), digits);
  return lo === hi ? m : `${m} (${fixed(lo, digits)}-${fixed(hi, digits)})`;
}
const rows = SIZES.map((size) => {
  const rs = results.filter((r) => r.size === size);
  const of = (f: (r: RoundResult) => number, digits: number) => spread(rs.map(f), digits);
  const newWeek = rs.map((r) => perThousand(r.newWeek.bytes, r.tracked));
  return [
    size.toLocaleString('en-US'),
    of((r) => r.tracked, 0),
    of((r) => perThousand(r.newDay.bytes, r.trackedDay), 1),
    `**${spread(newWeek, 1)}**`,
    of((r) => perThousand(r.oldDay.bytes, r.trackedDay), 1),
    of((r) => perThousand(r.oldWeek.bytes, r.tracked), 1),
    of((r) => r.oldWeek.bytes / r.newWeek.bytes, 1) + 'x',
    of((r) => r.mergeMicrosPerKey, 1),
    Math.max(...newWeek) <= TARGET_BYTES_PER_KEY ? 'met' : 'missed',
  ];
});
const encodings = (pick: (r: RoundResult) => Layout) =>
  SIZES.map((size) => {
    const r = results.find((x) => x.size === size)!;
    return `${size.toLocaleString('en-US')}: ${Object.entries(pick(r).encodings)
      .map(([e, n]) => `${n} ${e}`)
      .join(', ')}`;
  }).join('; ');

const markdown = `# Access history: Redis memory per tracked key

${runInfoLine(info)}

A simulated week of reads (${HOURS} hours, manual clock) over N keys with Zipf popularity and
market-hours activity; the recorder flushes hourly. Memory is \`MEMORY USAGE key SAMPLES 0\`
summed over every key of a layout, on a redis-server with its default configuration, per 1,000
keys tracked by then (read at least once; KB = 1,000 bytes, so the figure is also bytes per key). "Old" is the previous layout fed the same reads
in the same run: one sorted set per hour, ZINCRBY per key read in that hour, kept 8 days.
Median (range) over ${ROUNDS} rounds with different seeds. Target: at most 50 KB per 1,000 tracked
keys, whatever the retention.

${markdownTable(
  [
    'keys',
    'tracked',
    'new, after 1 day (KB/1,000 keys)',
    'new, after the week (KB/1,000 keys)',
    'old, after 1 day (KB/1,000 keys)',
    'old, after the week (KB/1,000 keys)',
    'old / new',
    'Redis µs per merged key',
    'target',
  ],
  rows,
)}

Encodings after the week (first round), new layout: ${encodings((r) => r.newWeek)}.
Old layout: ${encodings((r) => r.oldWeek)}.
`;
saveResults('access-memory', markdown, { info, rounds: ROUNDS, sizes: SIZES, results });
