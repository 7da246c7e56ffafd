import { describe, expect, it } from '@jest/globals';
import { hourInZone } from './zone-hour.js';

const NY = 'America/New_York';

describe('hourInZone', () => {
  it('reads the exchange clock across both DST switches', () => {
    // 2026-03-08: clocks jump from 02:00 to 03:00 EST -> EDT.
    expect(hourInZone(Date.parse('2026-03-08T06:59:00Z'), NY)).toBe(1);
    expect(hourInZone(Date.parse('2026-03-08T07:00:00Z'), NY)).toBe(3);
    // 2026-11-01: 01:00 happens twice (EDT, then EST).
    expect(hourInZone(Date.parse('2026-11-01T05:30:00Z'), NY)).toBe(1);
    expect(hourInZone(Date.parse('2026-11-01T06:30:00Z'), NY)).toBe(1);
    expect(hourInZone(Date.parse('2026-11-01T07:30:00Z'), NY)).toBe(2);
    expect(hourInZone(Date.parse('2026-11-24T15:00:00Z'), 'UTC')).toBe(15);
  });
});
