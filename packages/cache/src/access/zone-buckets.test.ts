import { describe, expect, it } from '@jest/globals';
import { hourInZone } from '@fiml/market';
import { decodeField, decodeRecord, encodeField, encodeRecord } from './access-record.js';
import { ZoneBuckets } from './zone-buckets.js';

const NY = 'America/New_York';

describe('ZoneBuckets', () => {
  const zone = new ZoneBuckets(NY);
  const at = (iso: string) => zone.bucket(Date.parse(iso));

  it('buckets by half hour of the New York wall clock', () => {
    expect(at('2026-11-24T00:00:00-05:00')).toBe(0);
    expect(at('2026-11-24T09:29:59-05:00')).toBe(18);
    expect(at('2026-11-24T09:30:00-05:00')).toBe(19);
    expect(at('2026-11-24T15:59:00-05:00')).toBe(31);
    expect(at('2026-11-24T23:45:00-05:00')).toBe(47);
    expect(at('2026-07-01T09:30:00-04:00')).toBe(19);
  });

  it('follows the zone on DST switch days', () => {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z).
    expect(at('2026-03-08T06:45:00Z')).toBe(3); // 01:45 EST
    expect(at('2026-03-08T07:00:00Z')).toBe(6); // 03:00 EDT: buckets 4 and 5 never happen
    expect(at('2026-03-08T13:30:00Z')).toBe(19); // 09:30 EDT
    // 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:00-02:00 happens twice.
    expect(at('2026-11-01T05:30:00Z')).toBe(3); // 01:30 EDT
    expect(at('2026-11-01T06:30:00Z')).toBe(3); // 01:30 EST
    expect(at('2026-11-01T07:00:00Z')).toBe(4); // 02:00 EST
  });

  it('agrees with the calendar hour every ten minutes across both switches', () => {
    for (const start of ['2026-03-07T00:00:00Z', '2026-10-31T00:00:00Z']) {
      for (let t = Date.parse(start); t < Date.parse(start) + 3 * 86_400_000; t += 600_000) {
        expect(Math.floor(zone.bucket(t) / 2)).toBe(hourInZone(t, NY));
      }
    }
  });

  it('handles half-hour offsets', () => {
    expect(new ZoneBuckets('Asia/Kolkata').bucket(Date.parse('2026-11-24T04:00:00Z'))).toBe(19);
  });
});

describe('access record layout', () => {
  it('compacts keys into fields and back', () => {
    expect(encodeField('price:equity:AAPL')).toBe('pAAPL');
    expect(encodeField('news:crypto:BTC')).toBe('NBTC');
    expect(encodeField('fundamentals:equity:BRK.B')).toBe('fBRK.B');
    expect(decodeField('pAAPL')).toEqual({
      key: 'price:equity:AAPL',
      dataType: 'price',
      assetType: 'equity',
      symbol: 'AAPL',
    });
    expect(decodeField('NBTC')?.key).toBe('news:crypto:BTC');
  });

  it('refuses keys and fields of no known format', () => {
    expect(encodeField('lock:equity:AAPL')).toBeUndefined();
    expect(encodeField('price:equity:')).toBeUndefined();
    expect(encodeField(`price:equity:${'X'.repeat(40)}`)).toBeUndefined();
    expect(decodeField('xAAPL')).toBeUndefined();
    expect(decodeField('p')).toBeUndefined();
    expect(decodeField('pA:B')).toBeUndefined();
  });

  it('round-trips a record and refuses values of another length', () => {
    const levels = new Uint8Array(48);
    levels[19] = 15;
    levels[20] = 3;
    const record = { frequency: 12.5, lastAccessAt: 1_795_444_200_000, levels };
    const bytes = encodeRecord(record);
    expect(bytes).toHaveLength(32);
    expect(decodeRecord(bytes)).toEqual(record);
    expect(decodeRecord(bytes.subarray(0, 31))).toBeUndefined();
    expect(decodeRecord(Buffer.alloc(33))).toBeUndefined();
  });
});
