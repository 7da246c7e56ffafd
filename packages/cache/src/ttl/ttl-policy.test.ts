import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  DEFAULT_TTL_TABLE,
  TtlPolicy,
  computeTtl,
  formatDuration,
  type TtlBound,
  type TtlRule,
} from '../index.js';
import {
  DATA_TYPES,
  ManualClock,
  NyseCalendar,
  SeededRandom,
  type AssetType,
  type DataType,
  type Random,
} from '@fiml/market';

const NY = 'America/New_York';
const et = (local: string): number => {
  const dt = DateTime.fromISO(local, { zone: NY });
  if (!dt.isValid) throw new Error(`bad fixture ${local}`);
  return dt.toMillis();
};
const MIN = 60_000;
const H = 60 * MIN;

const calendar = new NyseCalendar();
/** No jitter: the table below states exact TTLs. */
const exactPolicy = (clock: ManualClock) =>
  new TtlPolicy({ calendar, clock, jitter: 0, random: new SeededRandom(1) });

type Row = [
  label: string,
  writtenAt: string,
  dataType: DataType,
  assetType: AssetType,
  rule: TtlRule,
  session: string,
  ttl: number,
  bound: TtlBound,
];

/**
 * Written at frozen exchange-local instants around Thanksgiving week 2026
 * (the market-week workload) and the 2026 DST switches.
 */
const TABLE: Row[] = [
  // Monday 10:00, regular session: the market-hours column
  ['regular', '2026-11-30T10:00', 'price', 'equity', 'marketHours', 'regular', 5 * MIN, 'none'],
  [
    'regular',
    '2026-11-30T10:00',
    'fundamentals',
    'equity',
    'marketHours',
    'regular',
    24 * H,
    'none',
  ],
  ['regular', '2026-11-30T10:00', 'news', 'equity', 'marketHours', 'regular', 10 * MIN, 'none'],
  // Monday 09:20, pre-market: after-hours column, but no later than 09:30 + market-hours TTL
  [
    'pre-market',
    '2026-11-30T09:20',
    'price',
    'equity',
    'afterHours',
    'pre-market',
    15 * MIN,
    'next-open',
  ],
  [
    'pre-market',
    '2026-11-30T09:20',
    'fundamentals',
    'equity',
    'afterHours',
    'pre-market',
    24 * H + 10 * MIN,
    'next-open',
  ],
  [
    'pre-market',
    '2026-11-30T09:20',
    'news',
    'equity',
    'afterHours',
    'pre-market',
    15 * MIN,
    'none',
  ],
  [
    'early pre-market',
    '2026-11-30T05:00',
    'price',
    'equity',
    'afterHours',
    'pre-market',
    20 * MIN,
    'none',
  ],
  // Tuesday 17:00, after-hours
  [
    'after-hours',
    '2026-11-24T17:00',
    'price',
    'equity',
    'afterHours',
    'after-hours',
    20 * MIN,
    'none',
  ],
  [
    'after-hours',
    '2026-11-24T17:00',
    'fundamentals',
    'equity',
    'afterHours',
    'after-hours',
    40 * H + 30 * MIN,
    'next-open',
  ],
  [
    'after-hours',
    '2026-11-24T17:00',
    'news',
    'equity',
    'afterHours',
    'after-hours',
    15 * MIN,
    'none',
  ],
  // Tuesday 22:00, a weeknight: no extension
  ['overnight', '2026-11-24T22:00', 'price', 'equity', 'afterHours', 'closed', 20 * MIN, 'none'],
  [
    'overnight',
    '2026-11-24T22:00',
    'fundamentals',
    'equity',
    'afterHours',
    'closed',
    35 * H + 30 * MIN,
    'next-open',
  ],
  ['overnight', '2026-11-24T22:00', 'news', 'equity', 'afterHours', 'closed', 15 * MIN, 'none'],
  // Wednesday 19:00 before Thanksgiving: after-hours still trades, so no extension yet
  [
    'eve of holiday',
    '2026-11-25T19:00',
    'price',
    'equity',
    'afterHours',
    'after-hours',
    20 * MIN,
    'none',
  ],
  [
    'eve of holiday',
    '2026-11-25T19:00',
    'fundamentals',
    'equity',
    'afterHours',
    'after-hours',
    48 * H,
    'none',
  ],
  [
    'eve of holiday',
    '2026-11-25T19:00',
    'news',
    'equity',
    'afterHours',
    'after-hours',
    15 * MIN,
    'none',
  ],
  // Wednesday 20:30: closed across Thanksgiving until Friday 04:00
  [
    'holiday closure',
    '2026-11-25T20:30',
    'price',
    'equity',
    'weekendHoliday',
    'closed',
    31 * H + 30 * MIN,
    'reopen',
  ],
  [
    'holiday closure',
    '2026-11-25T20:30',
    'fundamentals',
    'equity',
    'afterHours',
    'closed',
    48 * H,
    'none',
  ],
  [
    'holiday closure',
    '2026-11-25T20:30',
    'news',
    'equity',
    'weekendHoliday',
    'closed',
    31 * H + 30 * MIN,
    'reopen',
  ],
  // Thanksgiving noon
  ['holiday', '2026-11-26T12:00', 'price', 'equity', 'weekendHoliday', 'closed', 16 * H, 'reopen'],
  [
    'holiday',
    '2026-11-26T12:00',
    'fundamentals',
    'equity',
    'afterHours',
    'closed',
    45 * H + 30 * MIN,
    'next-open',
  ],
  ['holiday', '2026-11-26T12:00', 'news', 'equity', 'weekendHoliday', 'closed', 16 * H, 'reopen'],
  // Friday 2026-11-27, early close at 13:00
  [
    'early-close regular',
    '2026-11-27T12:59',
    'price',
    'equity',
    'marketHours',
    'regular',
    5 * MIN,
    'none',
  ],
  [
    'after early close',
    '2026-11-27T13:05',
    'price',
    'equity',
    'afterHours',
    'after-hours',
    20 * MIN,
    'none',
  ],
  [
    'after early close',
    '2026-11-27T13:05',
    'fundamentals',
    'equity',
    'afterHours',
    'after-hours',
    48 * H,
    'none',
  ],
  [
    'after early close',
    '2026-11-27T13:05',
    'news',
    'equity',
    'afterHours',
    'after-hours',
    15 * MIN,
    'none',
  ],
  // Friday 17:30: the early-close after-hours ended at 17:00; closed until Monday 04:00
  [
    'weekend',
    '2026-11-27T17:30',
    'price',
    'equity',
    'weekendHoliday',
    'closed',
    58 * H + 30 * MIN,
    'reopen',
  ],
  [
    'weekend',
    '2026-11-27T17:30',
    'fundamentals',
    'equity',
    'weekendHoliday',
    'closed',
    58 * H + 30 * MIN,
    'reopen',
  ],
  [
    'weekend',
    '2026-11-27T17:30',
    'news',
    'equity',
    'weekendHoliday',
    'closed',
    58 * H + 30 * MIN,
    'reopen',
  ],
  // Sunday 23:59
  [
    'Sunday 23:59',
    '2026-11-29T23:59',
    'price',
    'equity',
    'weekendHoliday',
    'closed',
    4 * H + 1 * MIN,
    'reopen',
  ],
  [
    'Sunday 23:59',
    '2026-11-29T23:59',
    'fundamentals',
    'equity',
    'afterHours',
    'closed',
    33 * H + 31 * MIN,
    'next-open',
  ],
  [
    'Sunday 23:59',
    '2026-11-29T23:59',
    'news',
    'equity',
    'weekendHoliday',
    'closed',
    4 * H + 1 * MIN,
    'reopen',
  ],
  // DST: the weekend of the March switch is an hour shorter, of the November switch an hour longer
  [
    'spring weekend',
    '2026-03-07T12:00',
    'price',
    'equity',
    'weekendHoliday',
    'closed',
    39 * H,
    'reopen',
  ],
  [
    'fall weekend',
    '2026-10-31T12:00',
    'price',
    'equity',
    'weekendHoliday',
    'closed',
    41 * H,
    'reopen',
  ],
  [
    'spring Monday open',
    '2026-03-09T09:30',
    'price',
    'equity',
    'marketHours',
    'regular',
    5 * MIN,
    'next-open',
  ],
  // crypto: its column, any time
  ['crypto weekend', '2026-11-28T12:00', 'price', 'crypto', 'crypto', 'open', 1 * MIN, 'none'],
  [
    'crypto holiday',
    '2026-11-26T12:00',
    'fundamentals',
    'crypto',
    'crypto',
    'open',
    24 * H,
    'none',
  ],
  ['crypto regular', '2026-11-30T10:00', 'news', 'crypto', 'crypto', 'open', 10 * MIN, 'none'],
  ['crypto regular', '2026-11-30T10:00', 'price', 'crypto', 'crypto', 'open', 1 * MIN, 'none'],
];

describe('TTL table (jitter off)', () => {
  it.each(TABLE)(
    '%s %s: %s %s -> %s',
    (_label, writtenAt, dataType, assetType, rule, session, ttl, bound) => {
      const clock = new ManualClock(et(writtenAt));
      const decision = exactPolicy(clock).ttl(dataType, assetType);
      expect({
        rule: decision.rule,
        session: decision.session,
        ttl: formatDuration(decision.ttlMs),
        bound: decision.bound,
      }).toEqual({ rule, session, ttl: formatDuration(ttl), bound });
      expect(decision.ttlMs).toBe(ttl);
      expect(decision.writtenAt).toBe(clock.now());
      expect(decision.expiresAt).toBe(clock.now() + ttl);
      expect(decision.jitterFactor).toBe(1);
    },
  );

  it('covers every data type in every session for equities, and every data type for crypto', () => {
    const seen = new Set(TABLE.map((r) => `${r[2]}/${r[3]}/${r[4]}`));
    for (const dataType of DATA_TYPES) {
      for (const rule of ['marketHours', 'afterHours', 'weekendHoliday']) {
        expect(seen).toContain(`${dataType}/equity/${rule}`);
      }
      expect(seen).toContain(`${dataType}/crypto/crypto`);
    }
  });

  it('reports the next open, the latest expiry and the closure', () => {
    const decision = exactPolicy(new ManualClock(et('2026-11-25T20:30'))).ttl('price', 'equity');
    expect(decision.nextOpen).toBe(et('2026-11-27T09:30'));
    expect(decision.latestExpiry).toBe(et('2026-11-27T09:35'));
    expect(decision.reopensAt).toBe(et('2026-11-27T04:00'));
    expect(decision.closedFor?.map((d) => d.reason)).toEqual(['Thanksgiving Day']);
    expect(decision.baseTtlMs).toBe(31 * H + 30 * MIN);
  });

  it('a weekend/holiday TTL at or below the after-hours TTL switches the extension off', () => {
    const table = {
      ...DEFAULT_TTL_TABLE,
      news: { ...DEFAULT_TTL_TABLE.news, weekendHoliday: 15 * MIN },
      price: { ...DEFAULT_TTL_TABLE.price, weekendHoliday: 1 * H },
    };
    const policy = new TtlPolicy({ calendar, table, jitter: 0 });
    const saturday = et('2026-11-28T12:00');
    expect(policy.ttl('news', 'equity', saturday)).toMatchObject({
      rule: 'afterHours',
      ttlMs: 15 * MIN,
      bound: 'none',
    });
    // a cap shorter than the time to the reopening: the cap applies
    expect(policy.ttl('price', 'equity', saturday)).toMatchObject({
      rule: 'weekendHoliday',
      ttlMs: 1 * H,
      bound: 'none',
    });
    expect(policy.explainTtl('price', 'equity', saturday).explanation).toContain(
      'weekend/holiday TTL 1 h (shorter than the time until the market reopens Mon 2026-11-30 04:00:00 EST)',
    );
  });

  it('takes now from the clock when the call omits it', () => {
    const clock = new ManualClock(et('2026-11-30T10:00'));
    const policy = exactPolicy(clock);
    expect(policy.ttl('price', 'equity').rule).toBe('marketHours');
    clock.set(et('2026-11-30T16:30'));
    expect(policy.ttl('price', 'equity').rule).toBe('afterHours');
  });
});

describe('jitter', () => {
  it('stays within ±10 % by default and uses the whole band', () => {
    const policy = new TtlPolicy({ calendar, random: new SeededRandom(99) });
    const now = et('2026-11-30T10:00');
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 2000; i++) {
      const { ttlMs } = policy.ttl('price', 'equity', now);
      min = Math.min(min, ttlMs);
      max = Math.max(max, ttlMs);
    }
    expect(min).toBeGreaterThanOrEqual(0.9 * 5 * MIN);
    expect(max).toBeLessThanOrEqual(1.1 * 5 * MIN);
    expect(min).toBeLessThan(0.91 * 5 * MIN);
    expect(max).toBeGreaterThan(1.09 * 5 * MIN);
  });

  it('is configurable, and 0 switches it off', () => {
    const now = et('2026-11-30T10:00');
    const wide = new TtlPolicy({ calendar, jitter: 0.5, random: new SeededRandom(5) });
    const ttls = Array.from({ length: 500 }, () => wide.ttl('news', 'crypto', now).ttlMs);
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(5 * MIN);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(15 * MIN);
    expect(Math.max(...ttls) - Math.min(...ttls)).toBeGreaterThan(9 * MIN);
    const off = new TtlPolicy({ calendar, jitter: 0 });
    expect(off.ttl('news', 'crypto', now).ttlMs).toBe(10 * MIN);
  });

  it('is deterministic for a seed', () => {
    const run = (seed: number) => {
      const policy = new TtlPolicy({ calendar, random: new SeededRandom(seed) });
      return Array.from({ length: 20 }, (_, i) =>
        policy.ttl(DATA_TYPES[i % 3]!, i % 2 ? 'equity' : 'crypto', et('2026-11-27T13:05') + i * H),
      ).map((d) => d.ttlMs);
    };
    expect(run(1234)).toEqual(run(1234));
    expect(run(1234)).not.toEqual(run(4321));
  });

  it('only ever shortens a TTL that a limit cut, so clamped keys still spread', () => {
    const policy = new TtlPolicy({ calendar, random: new SeededRandom(3) });
    const sunday = et('2026-11-29T23:59');
    const reopen = et('2026-11-30T04:00');
    const expiries = Array.from(
      { length: 200 },
      () => policy.ttl('price', 'equity', sunday).expiresAt,
    );
    expect(Math.max(...expiries)).toBeLessThanOrEqual(reopen);
    expect(Math.min(...expiries)).toBeGreaterThanOrEqual(reopen - 0.1 * (reopen - sunday));
    expect(new Set(expiries).size).toBeGreaterThan(190);
  });

  it('draws one number per call from the injected Random', () => {
    let draws = 0;
    const counting: Random = {
      next: () => {
        draws++;
        return 0.5;
      },
    };
    const policy = new TtlPolicy({ calendar, random: counting });
    policy.ttl('price', 'equity', et('2026-11-30T10:00'));
    policy.ttl('price', 'crypto', et('2026-11-30T10:00'));
    policy.ttl('price', 'equity', et('2026-11-29T23:59'));
    expect(draws).toBe(3);
  });
});

describe('invariants (fast-check)', () => {
  const instant = fc.integer({ min: et('2025-01-01T00:00'), max: et('2028-12-31T23:59') });
  const dataType = fc.constantFrom(...DATA_TYPES);
  const jitter = fc.double({ min: 0, max: 0.5, noNaN: true });
  const seed = fc.integer({ min: 0, max: 2 ** 32 - 1 });

  it('no equity entry outlives the next open by more than its market-hours TTL', () => {
    fc.assert(
      fc.property(instant, dataType, jitter, seed, (now, type, j, s) => {
        const policy = new TtlPolicy({ calendar, jitter: j, random: new SeededRandom(s) });
        const d = policy.ttl(type, 'equity', now);
        const latest = calendar.nextOpen(now) + DEFAULT_TTL_TABLE[type].marketHours;
        expect(d.expiresAt).toBeLessThanOrEqual(latest);
        expect(d.latestExpiry).toBe(latest);
        expect(Number.isInteger(d.ttlMs) && d.ttlMs >= 1).toBe(true);
        expect(d.expiresAt).toBe(now + d.ttlMs);
        if (d.rule === 'weekendHoliday') expect(d.expiresAt).toBeLessThanOrEqual(d.reopensAt!);
        // the TTL is the rule's base within the jitter band, or, when a limit
        // cut it, the room to that limit jittered only shorter
        if (d.bound === 'none') {
          expect(d.ttlMs).toBeGreaterThanOrEqual(Math.floor(d.baseTtlMs * (1 - j)));
          expect(d.ttlMs).toBeLessThanOrEqual(d.baseTtlMs * (1 + j));
        } else {
          const room = (d.bound === 'reopen' ? d.reopensAt! : latest) - now;
          expect(d.ttlMs).toBeGreaterThanOrEqual(Math.floor(room * (1 - j)));
          expect(d.ttlMs).toBeLessThanOrEqual(Math.min(room, d.baseTtlMs * (1 + j)));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('an equity entry written outside a weekend never lives past the sooner of its base TTL and the limit', () => {
    fc.assert(
      fc.property(instant, dataType, (now, type) => {
        const d = new TtlPolicy({ calendar, jitter: 0 }).ttl(type, 'equity', now);
        const row = DEFAULT_TTL_TABLE[type];
        const session = calendar.sessionAt(now);
        if (session === 'regular') expect(d.ttlMs).toBeLessThanOrEqual(row.marketHours);
        if (session === 'pre-market' || session === 'after-hours') {
          expect(d.ttlMs).toBeLessThanOrEqual(row.afterHours);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('crypto TTLs stay in their column’s jitter band at any instant', () => {
    fc.assert(
      fc.property(instant, dataType, seed, (now, type, s) => {
        const d = new TtlPolicy({ calendar, random: new SeededRandom(s) }).ttl(type, 'crypto', now);
        const base = DEFAULT_TTL_TABLE[type].crypto;
        expect(d.rule).toBe('crypto');
        expect(d.ttlMs).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
        expect(d.ttlMs).toBeLessThanOrEqual(base * 1.1);
        expect(d.nextOpen).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('explainTtl', () => {
  const policy = new TtlPolicy({ calendar, jitter: 0 });

  it.each([
    [
      '2026-11-27T13:05',
      'price',
      'equity',
      'price (equity) written Fri 2026-11-27 13:05:00 EST in the after-hours session (early close: Day after Thanksgiving): after-hours TTL 20 min; no jitter; TTL 20 min, fresh until Fri 2026-11-27 13:25:00 EST.',
    ],
    [
      '2026-11-25T19:00',
      'price',
      'equity',
      'price (equity) written Wed 2026-11-25 19:00:00 EST in the after-hours session: after-hours TTL 20 min; no jitter; TTL 20 min, fresh until Wed 2026-11-25 19:20:00 EST.',
    ],
    [
      '2026-11-29T23:59',
      'price',
      'equity',
      'price (equity) written Sun 2026-11-29 23:59:00 EST while closed for the weekend: weekend/holiday extension: lives until the market reopens Mon 2026-11-30 04:00:00 EST, 4 h 1 min; capped at the reopening, jittered only shorter; no jitter; TTL 4 h 1 min, fresh until Mon 2026-11-30 04:00:00 EST.',
    ],
    [
      '2026-11-30T09:20',
      'price',
      'equity',
      'price (equity) written Mon 2026-11-30 09:20:00 EST in the pre-market session: after-hours TTL 20 min; capped so it does not outlive the next open Mon 2026-11-30 09:30:00 EST by more than the market-hours TTL (latest Mon 2026-11-30 09:35:00 EST), jittered only shorter; no jitter; TTL 15 min, fresh until Mon 2026-11-30 09:35:00 EST.',
    ],
    [
      '2026-11-25T20:30',
      'fundamentals',
      'equity',
      'fundamentals (equity) written Wed 2026-11-25 20:30:00 EST while closed for Thanksgiving Day: after-hours TTL 2 d (longer than the weekend/holiday extension to the reopening Fri 2026-11-27 04:00:00 EST); no jitter; TTL 2 d, fresh until Fri 2026-11-27 20:30:00 EST.',
    ],
    [
      '2026-11-24T22:00',
      'news',
      'equity',
      'news (equity) written Tue 2026-11-24 22:00:00 EST while closed overnight: after-hours TTL 15 min; no jitter; TTL 15 min, fresh until Tue 2026-11-24 22:15:00 EST.',
    ],
    [
      '2026-07-01T10:00',
      'price',
      'crypto',
      'price (crypto) written Wed 2026-07-01 10:00:00 EDT: crypto trades 24/7, crypto TTL 1 min; no jitter; TTL 1 min, fresh until Wed 2026-07-01 10:01:00 EDT.',
    ],
  ] as const)('%s %s %s', (local, dataType, assetType, text) => {
    const explained = policy.explainTtl(dataType, assetType, et(local));
    expect(explained.explanation).toBe(text);
    expect(explained.rule).toBe(policy.ttl(dataType, assetType, et(local)).rule);
  });

  it('names the jitter factor when jitter is on', () => {
    const jittered = new TtlPolicy({ calendar, random: { next: () => 0.75 } });
    const explained = jittered.explainTtl('price', 'equity', et('2026-11-30T10:00'));
    expect(explained.jitterFactor).toBeCloseTo(1.05);
    expect(explained.explanation).toContain('jitter x1.050; TTL 5 min 15 s');
  });
});

describe('bad input', () => {
  const policy = new TtlPolicy({ calendar });
  const now = et('2026-11-30T10:00');

  it('throws a TypeError for unknown data or asset types', () => {
    expect(() => policy.ttl('quotes' as DataType, 'equity', now)).toThrow(
      /unknown data type "quotes"; expected one of price, fundamentals, news/,
    );
    expect(() => policy.ttl('price', 'bond' as AssetType, now)).toThrow(TypeError);
    expect(() => policy.ttl('PRICE' as DataType, 'equity', now)).toThrow(TypeError);
  });

  it('throws a RangeError for a non-instant', () => {
    expect(() => policy.ttl('price', 'equity', Number.NaN)).toThrow(RangeError);
    expect(() =>
      computeTtl(
        { dataType: 'price', assetType: 'crypto', now: Infinity },
        { calendar, table: DEFAULT_TTL_TABLE, jitter: 0, random: new SeededRandom(1) },
      ),
    ).toThrow(RangeError);
  });

  it('validates the table and the jitter once, at construction', () => {
    expect(() => new TtlPolicy({ jitter: 0.6 })).toThrow(/jitter/);
    expect(() => new TtlPolicy({ jitter: -0.1 })).toThrow(RangeError);
    expect(() => new TtlPolicy({ jitter: Number.NaN })).toThrow(RangeError);
    const broken = { ...DEFAULT_TTL_TABLE, news: { ...DEFAULT_TTL_TABLE.news, afterHours: 0 } };
    expect(() => new TtlPolicy({ table: broken })).toThrow(/news.afterHours/);
    const missing = { price: DEFAULT_TTL_TABLE.price, news: DEFAULT_TTL_TABLE.news };
    expect(() => new TtlPolicy({ table: missing as typeof DEFAULT_TTL_TABLE })).toThrow(
      /no row for fundamentals/,
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [1500, '1.5 s'],
    [5 * MIN, '5 min'],
    [31 * H + 30 * MIN, '1 d 7 h 30 min'],
    [63_001, '1 min 3.001 s'],
  ])('%i ms is %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
