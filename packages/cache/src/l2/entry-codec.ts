import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE } from 'msgpackr';
import { isDataType } from '@fiml/market';
import { WRITE_SOURCES } from '../cache-events.js';
import type { CacheEntry } from './cache-entry.js';

/** Turns entries into the bytes stored in Redis and back. `decode` throws on anything malformed. */
export interface EntryCodec {
  readonly name: string;
  encode(entry: CacheEntry): Buffer;
  /**
   * Optional, for batch writers: the bytes of `encode(entry)` written into
   * `out` at `offset`, without a Buffer of their own. Returns how many were
   * written, or, when they do not fit, minus how many there are (nothing is
   * written then; the caller makes room and calls again).
   */
  encodeInto?(entry: CacheEntry, out: Buffer, offset: number): number;
  decode(bytes: Buffer): CacheEntry;
}

/** Thrown by a codec for bytes that are not an entry it wrote. */
export class CorruptEntryError extends Error {
  readonly code = 'FIML_CACHE_CORRUPT_ENTRY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptEntryError';
  }
}

/**
 * The wire shape: a fixed-position array, so field names are not repeated in
 * every value ([format, kind, dataType, fetchedAt, source, writer, ttlMs, soft, hard, value]).
 * The leading format number lets a reader refuse entries from a future layout.
 */
const FORMAT = 1;
type Wire = [number, 0 | 1, string, number, string, string, number, number, number, unknown?];

function toWire(entry: CacheEntry): Wire {
  // One literal of the final length: pushing the value onto a 9-element
  // array made V8 grow its backing store, most of an encode's garbage.
  return entry.kind === 'value'
    ? [
        FORMAT,
        1,
        entry.dataType,
        entry.fetchedAt,
        entry.source,
        entry.writer,
        entry.ttlMs,
        entry.softExpiresAt,
        entry.hardExpiresAt,
        entry.value,
      ]
    : [
        FORMAT,
        0,
        entry.dataType,
        entry.fetchedAt,
        entry.source,
        entry.writer,
        entry.ttlMs,
        entry.softExpiresAt,
        entry.hardExpiresAt,
      ];
}

function fromWire(wire: unknown): CacheEntry {
  if (!Array.isArray(wire) || wire[0] !== FORMAT) {
    throw new CorruptEntryError('not a fiml cache entry (unknown format)');
  }
  const [, kind, dataType, fetchedAt, source, writer, ttlMs, softExpiresAt, hardExpiresAt] =
    wire as Wire;
  const numbers = [fetchedAt, ttlMs, softExpiresAt, hardExpiresAt];
  if (
    !isDataType(dataType) ||
    typeof source !== 'string' ||
    !(WRITE_SOURCES as readonly string[]).includes(writer) ||
    !numbers.every((n) => typeof n === 'number' && Number.isFinite(n)) ||
    (kind !== 0 && kind !== 1) ||
    (kind === 1 && wire.length < 10)
  ) {
    throw new CorruptEntryError('malformed fiml cache entry');
  }
  const w = writer as CacheEntry['writer'];
  // Two plain literals, not a spread of a shared meta object: on Node 20 the
  // spread was over half of every decode (bench/results/tiered-codec.md).
  return kind === 1
    ? {
        kind: 'value',
        value: wire[9] as unknown,
        dataType,
        fetchedAt,
        source,
        writer: w,
        ttlMs,
        softExpiresAt,
        hardExpiresAt,
      }
    : {
        kind: 'not-found',
        dataType,
        fetchedAt,
        source,
        writer: w,
        ttlMs,
        softExpiresAt,
        hardExpiresAt,
      };
}

/** What msgpackr returns in REUSE_BUFFER_MODE: its whole buffer, with the packed range. */
type OwnBuffer = Buffer & { readonly start: number; readonly end: number };

/**
 * MessagePack (msgpackr). The default: about 20 % smaller than JSON, twice as
 * fast to encode, and as fast to decode (figures in packages/cache/README.md).
 * `useRecords: false` keeps the bytes plain MessagePack, readable by any
 * client, with no shared structure table to keep in sync across processes.
 */
export function msgpackCodec(): EntryCodec {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  return {
    name: 'msgpack',
    encode: (entry) => packr.pack(toWire(entry)),
    encodeInto: (entry, out, offset) => {
      // Packed into msgpackr's own buffer, which it hands back whole (with the
      // range) and rewinds: no Buffer per entry, the same bytes as `encode`.
      const own = packr.pack(toWire(entry), REUSE_BUFFER_MODE | RESET_BUFFER_MODE) as OwnBuffer;
      const length = own.end - own.start;
      if (offset + length > out.length) return -length;
      own.copy(out, offset, own.start, own.end);
      return length;
    },
    decode: (bytes) => {
      let wire: unknown;
      try {
        wire = packr.unpack(bytes);
      } catch (error) {
        throw new CorruptEntryError('undecodable MessagePack', { cause: error });
      }
      return fromWire(wire);
    },
  };
}

/** JSON, for comparison and for operators who want to read values with redis-cli. */
export function jsonCodec(): EntryCodec {
  return {
    name: 'json',
    encode: (entry) => Buffer.from(JSON.stringify(toWire(entry))),
    decode: (bytes) => {
      let wire: unknown;
      try {
        wire = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new CorruptEntryError('undecodable JSON', { cause: error });
      }
      return fromWire(wire);
    },
  };
}
