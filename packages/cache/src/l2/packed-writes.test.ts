import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { CacheEntry } from './cache-entry.js';
import { jsonCodec, msgpackCodec, type EntryCodec } from './entry-codec.js';
import { HEADER_BYTES, headerTime, withHeader, writeDigits } from './entry-header.js';
import { WritePacker, pxOf } from './packed-writes.js';

const T0 = Date.UTC(2026, 10, 24, 15, 0);

function entry(value: unknown, fetchedAt = T0, hardExpiresAt = T0 + 600_000): CacheEntry {
  return {
    kind: 'value',
    value,
    dataType: 'price',
    fetchedAt,
    source: 'sim-equities',
    writer: 'scheduler',
    ttlMs: 300_000,
    softExpiresAt: fetchedAt + 300_000,
    hardExpiresAt,
  };
}

/** The header as the first layout wrote it: a string, zero-padded. */
const stringHeader = (fetchedAt: number) =>
  String(Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(fetchedAt)))).padStart(16, '0');

/** Reads a packed argument back the way the Lua script does (struct `<I4`, then `<dBc0I4c0` each). */
function unpack(packed: Buffer) {
  const count = packed.readUInt32LE(0);
  let at = 4;
  const records: { at: number; px: string; value: Buffer }[] = [];
  for (let i = 0; i < count; i += 1) {
    const fetchedAt = packed.readDoubleLE(at);
    const pxLength = packed[at + 8]!;
    const px = packed.toString('latin1', at + 9, at + 9 + pxLength);
    const valueLength = packed.readUInt32LE(at + 9 + pxLength);
    const start = at + 13 + pxLength;
    records.push({ at: fetchedAt, px, value: packed.subarray(start, start + valueLength) });
    at = start + valueLength;
  }
  return { count, records, rest: packed.length - at };
}

describe('the value header', () => {
  it('writes the same 16 digits as the string form, for every safe whole number and clamped input', () => {
    const out = Buffer.alloc(HEADER_BYTES);
    const check = (fetchedAt: number) => {
      writeDigits(out, 0, HEADER_BYTES, headerTime(fetchedAt));
      expect(out.toString('latin1')).toBe(stringHeader(fetchedAt));
    };
    const edges = [0, 1, 9, 10, 99, 100, T0, T0 + 0.999, -1, -T0, Number.MAX_SAFE_INTEGER];
    for (let p = 1; p <= 15; p += 1) edges.push(10 ** p - 1, 10 ** p, 10 ** p + 1);
    edges.push(Number.MAX_SAFE_INTEGER + 2, 1e300);
    edges.forEach(check);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => check(n)),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2 ** 53, noNaN: true }), (n) => check(n)),
      { numRuns: 2_000 },
    );
  });

  it('withHeader puts the header before the codec bytes, nothing else', () => {
    const body = Buffer.from([0, 1, 2, 255]);
    const value = withHeader(T0, body);
    expect(value.toString('latin1', 0, 16)).toBe(stringHeader(T0));
    expect(value.subarray(16)).toEqual(body);
  });
});

describe('msgpackCodec().encodeInto', () => {
  it('writes the bytes encode returns, or nothing and minus their length when they do not fit', () => {
    const codec = msgpackCodec();
    const e = entry({ symbol: 'AAPL', price: 231.42, text: 'é'.repeat(300) });
    const expected = codec.encode(e);
    const out = Buffer.alloc(expected.length + 10, 0xaa);
    expect(codec.encodeInto!(e, out, 7)).toBe(expected.length);
    expect(out.subarray(7, 7 + expected.length)).toEqual(expected);
    expect(out.subarray(0, 7)).toEqual(Buffer.alloc(7, 0xaa));
    expect(out.subarray(7 + expected.length)).toEqual(Buffer.alloc(3, 0xaa));

    const small = Buffer.alloc(expected.length + 6, 0xaa);
    expect(codec.encodeInto!(e, small, 7)).toBe(-expected.length);
    expect(small).toEqual(Buffer.alloc(expected.length + 6, 0xaa));
  });
});

describe('WritePacker', () => {
  const codecs: [string, () => EntryCodec][] = [
    ['msgpack (encodeInto)', msgpackCodec],
    ['json (encode)', jsonCodec],
  ];

  it.each(codecs)(
    'packs each value exactly as it is stored: header + codec bytes (%s)',
    (_name, make) => {
      const codec = make();
      const packer = new WritePacker(codec);
      const entries = [
        entry({ price: 1 }, T0, T0 + 1),
        entry('x'.repeat(70_000), T0 - 5, T0 + 3_600_000), // larger than the scratch buffer
        entry(null, 0, T0 + 10),
        entry([1, 2, 3], T0 + 0.5, T0 + 0.5),
      ].map((e, i) => [`price:equity:S${i}`, e] as const);
      const packed = packer.pack(entries, [3, 0, 1, 2], T0);
      const { count, records, rest } = unpack(packed);
      expect(count).toBe(4);
      expect(rest).toBe(0);
      [3, 0, 1, 2].forEach((i, j) => {
        const e = entries[i]![1];
        expect(records[j]!.at).toBe(headerTime(e.fetchedAt));
        expect(records[j]!.px).toBe(String(pxOf(e, T0)));
        const stored = Buffer.concat([Buffer.from(stringHeader(e.fetchedAt)), make().encode(e)]);
        expect(records[j]!.value.equals(stored)).toBe(true);
      });
      // PX is at least 1 and a whole number.
      expect(records.map((r) => r.px)).toEqual(['1', '1', '3600000', '10']);
    },
  );

  it('packs an empty body, and values of every byte value, unchanged', () => {
    const raw = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const codec: EntryCodec = {
      name: 'raw',
      encode: (e) => (e.kind === 'value' && e.value === 'empty' ? Buffer.alloc(0) : raw),
      decode: () => entry(null),
    };
    const packer = new WritePacker(codec);
    const entries = [entry('empty'), entry('raw')].map(
      (e, i) => [`price:equity:R${i}`, e] as const,
    );
    const { records } = unpack(packer.pack(entries, [0, 1], T0));
    expect(records[0]!.value.toString('latin1')).toBe(stringHeader(T0));
    expect(records[1]!.value).toEqual(Buffer.concat([Buffer.from(stringHeader(T0)), raw]));
  });

  it('packs chunks of any size one after another with one packer, each independent of the next', () => {
    const packer = new WritePacker(msgpackCodec());
    const big = Array.from(
      { length: 40 },
      (_, i) => [`news:equity:N${i}`, entry('n'.repeat(50_000 + i))] as const,
    );
    const first = packer.pack(big, [...big.keys()], T0); // 2 MB: grows the scratch past its bound
    const copy = Buffer.from(first);
    const small = packer.pack(big, [5], T0);
    expect(first.equals(copy)).toBe(true); // a later call never writes into an earlier argument
    expect(unpack(first).records).toHaveLength(40);
    expect(unpack(small).records[0]!.value.length).toBe(
      16 + msgpackCodec().encode(big[5]![1]).length,
    );
    expect(unpack(packer.pack(big, [], T0))).toEqual({ count: 0, records: [], rest: 0 });
  });
});
