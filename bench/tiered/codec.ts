/**
 * The L2 entry codecs side by side: msgpackCodec (the default) against
 * jsonCodec on a realistic entry of each data type — encoded bytes, encode
 * ops/s and decode ops/s — to decide which one L2 stores.
 *
 *   pnpm --filter @fiml/bench bench:tiered:codec
 *
 * Both codecs write the same fixed-position array (field names are not
 * repeated), so the comparison is of the serializations only. Encode counts
 * the bytes handed to Redis (JSON includes Buffer.from of the string); decode
 * starts from those bytes and includes the entry validation both share.
 * Candidates are interleaved in a rotating order in every run, so machine noise
 * hits both alike. Not a test: nothing here passes or fails.
 */
import { isDeepStrictEqual } from 'node:util';
import { Packr, isNativeAccelerationEnabled } from 'msgpackr';
import { jsonCodec, msgpackCodec, type CacheEntry, type EntryCodec } from '@fiml/cache';
import { fundamentalsEntry, newsEntry, priceEntry } from './fixtures.js';
import {
  fixed,
  markdownTable,
  median,
  ratio,
  runInfo,
  runInfoLine,
  saveResults,
} from '../lib/report.js';

const WARMUP_RUNS = 3;
const RUNS = Number(process.env.RUNS ?? 25);
/** How long one timed batch should take, so a timer tick is noise; calibrated per case in warm-up. */
const BATCH_MS = 25;

const codecs: readonly EntryCodec[] = [msgpackCodec(), jsonCodec()];
/**
 * For reference, the bare parsers on the same bytes (msgpackr with the codec's
 * options, JSON.parse of the UTF-8 string), without turning the array into a
 * validated entry: the difference to the codec rows is the shared validation.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const parsers: readonly { name: string; parse: (bytes: Buffer) => unknown }[] = [
  { name: 'msgpackr unpack only', parse: (bytes) => packr.unpack(bytes) as unknown },
  { name: 'JSON.parse only', parse: (bytes) => JSON.parse(bytes.toString('utf8')) as unknown },
];
const cases: readonly { name: string; entry: CacheEntry }[] = [
  { name: 'price quote', entry: priceEntry('AAPL') },
  { name: 'fundamentals', entry: fundamentalsEntry() },
  { name: 'news (10 items)', entry: newsEntry() },
];

let sink = 0;

function timeEncode(codec: EntryCodec, entry: CacheEntry, n: number): number {
  const started = performance.now();
  for (let i = 0; i < n; i++) sink += codec.encode(entry).length;
  return performance.now() - started;
}

function timeDecode(codec: EntryCodec, bytes: Buffer, n: number): number {
  const started = performance.now();
  for (let i = 0; i < n; i++) sink += codec.decode(bytes).fetchedAt;
  return performance.now() - started;
}

function timeParse(parse: (bytes: Buffer) => unknown, bytes: Buffer, n: number): number {
  const started = performance.now();
  for (let i = 0; i < n; i++) sink += (parse(bytes) as unknown[]).length;
  return performance.now() - started;
}

/** Ops per batch so that one batch takes about BATCH_MS. */
function calibrate(time: (n: number) => number): number {
  let n = 1_000;
  for (;;) {
    const ms = time(n);
    if (ms >= BATCH_MS / 4) return Math.max(1_000, Math.round((n * BATCH_MS) / ms));
    n *= 4;
  }
}

interface Sample {
  encode: number[];
  decode: number[];
  parse: number[];
}

const info = runInfo('bench:tiered:codec');
const plan = cases.map(({ name, entry }) => {
  const encoded = codecs.map((codec) => codec.encode(entry));
  codecs.forEach((codec, i) => {
    if (!isDeepStrictEqual(codec.decode(encoded[i]!), entry)) {
      throw new Error(`${codec.name} does not round-trip the ${name} entry`);
    }
  });
  return {
    name,
    entry,
    encoded,
    plainJsonBytes: Buffer.byteLength(JSON.stringify(entry)),
    nEncode: 0,
    nDecode: 0,
    samples: codecs.map((): Sample => ({ encode: [], decode: [], parse: [] })),
  };
});

for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
  for (const c of plan) {
    if (run === 0) {
      // The batch size is the slower codec's, so both run the same number of ops.
      c.nEncode = Math.min(
        ...codecs.map((codec) => calibrate((n) => timeEncode(codec, c.entry, n))),
      );
      c.nDecode = Math.min(
        ...codecs.map((codec, i) => calibrate((n) => timeDecode(codec, c.encoded[i]!, n))),
      );
    }
    for (let k = 0; k < codecs.length; k++) {
      const i = (k + run) % codecs.length;
      const codec = codecs[i]!;
      const encodeMs = timeEncode(codec, c.entry, c.nEncode);
      const decodeMs = timeDecode(codec, c.encoded[i]!, c.nDecode);
      const parseMs = timeParse(parsers[i]!.parse, c.encoded[i]!, c.nDecode);
      if (run >= WARMUP_RUNS) {
        c.samples[i]!.encode.push((c.nEncode / encodeMs) * 1_000);
        c.samples[i]!.decode.push((c.nDecode / decodeMs) * 1_000);
        c.samples[i]!.parse.push((c.nDecode / parseMs) * 1_000);
      }
    }
  }
}

const kops = (opsPerSecond: number): string => fixed(opsPerSecond / 1_000, 0);
const spread = (samples: readonly number[]): string =>
  `${kops(Math.min(...samples))}–${kops(Math.max(...samples))}`;

const results = plan.map((c) => {
  const per = codecs.map((codec, i) => ({
    codec: codec.name,
    bytes: c.encoded[i]!.length,
    encodeOpsPerSecond: median(c.samples[i]!.encode),
    decodeOpsPerSecond: median(c.samples[i]!.decode),
    parseOnlyOpsPerSecond: median(c.samples[i]!.parse),
    encodeRuns: c.samples[i]!.encode,
    decodeRuns: c.samples[i]!.decode,
    parseOnlyRuns: c.samples[i]!.parse,
  }));
  const [msgpack, json] = per as [(typeof per)[0], (typeof per)[0]];
  return {
    case: c.name,
    plainJsonBytes: c.plainJsonBytes,
    opsPerBatch: { encode: c.nEncode, decode: c.nDecode },
    codecs: per,
    msgpackVsJson: {
      bytes: msgpack.bytes / json.bytes,
      encode: msgpack.encodeOpsPerSecond / json.encodeOpsPerSecond,
      decode: msgpack.decodeOpsPerSecond / json.decodeOpsPerSecond,
      parseOnly: msgpack.parseOnlyOpsPerSecond / json.parseOnlyOpsPerSecond,
    },
  };
});

const rows = results.flatMap((r) => [
  ...r.codecs.map((c) => [
    r.case,
    c.codec,
    String(c.bytes),
    `${kops(c.encodeOpsPerSecond)} (${spread(c.encodeRuns)})`,
    `${kops(c.decodeOpsPerSecond)} (${spread(c.decodeRuns)})`,
    `${kops(c.parseOnlyOpsPerSecond)} (${spread(c.parseOnlyRuns)})`,
  ]),
  [
    r.case,
    '**msgpack / json**',
    ratio(r.msgpackVsJson.bytes),
    ratio(r.msgpackVsJson.encode),
    ratio(r.msgpackVsJson.decode),
    ratio(r.msgpackVsJson.parseOnly),
  ],
]);

const markdown = [
  '## L2 entry codecs: msgpack vs JSON',
  '',
  runInfoLine(info),
  '',
  `msgpackr ${isNativeAccelerationEnabled ? 'with' : 'without'} its native extension (msgpackr-extract) for decoding; ` +
    'both codecs write the same fixed-position array `[format, kind, dataType, fetchedAt, source, writer, ttlMs, soft, hard, value]`. ' +
    'Encode = entry to the Buffer handed to Redis; decode = Buffer to a validated entry; ' +
    '"parse only" = the bare parser on the same bytes (`packr.unpack`, `JSON.parse(buf.toString())`), ' +
    'without the entry validation both codecs share. ' +
    `${WARMUP_RUNS} warm-up runs, then ${RUNS} runs; in each run both codecs encode and decode every case ` +
    `(batches of about ${BATCH_MS} ms, same op count for both), in a rotating order. ` +
    'Thousands of ops/s: median over runs (slowest–fastest run); ratio rows are msgpack / json ' +
    '(bytes below 1 = msgpack smaller; ops/s above 1 = msgpack faster).',
  '',
  markdownTable(
    ['entry', 'codec', 'bytes', 'encode k ops/s', 'decode k ops/s', 'parse only k ops/s'],
    rows,
  ),
  '',
  `For scale, \`JSON.stringify\` of the entry as an object (field names repeated): ${results
    .map((r) => `${r.case} ${r.plainJsonBytes} B`)
    .join(', ')}.`,
].join('\n');

saveResults('tiered-codec', markdown, {
  benchmark: 'tiered-codec',
  ...info,
  msgpackrNativeAcceleration: isNativeAccelerationEnabled,
  warmupRuns: WARMUP_RUNS,
  runs: RUNS,
  batchMs: BATCH_MS,
  results,
  sink,
});
