import { describe, expect, it } from '@jest/globals';
import { PROFILE_BUCKETS, type AccessStats } from '@fiml/cache';
import { ManualClock, NyseCalendar, type AssetType, type DataType } from '@fiml/market';
import {
  WARM_SKIP_CODES,
  bucketAt,
  openWindow,
  planWarming,
  preOpenRunAt,
  sliceWindow,
  type L2State,
  type PlannerEarningsEvent,
  type ProviderBudget,
  type WarmPlanInput,
} from '../src/planner/index.js';

const calendar = new NyseCalendar();
const DAY = 86_400_000;
const MIN = 60_000;
const HALF_LIFE = 7 * DAY;
/** "2026-11-24 09:00" on the exchange clock (EST in November, EDT in summer). */
const et = (local: string, offset = '-05:00') =>
  Date.parse(`${local.replace(' ', 'T')}:00${offset}`);

/** Bucket of a wall-clock "HH:MM" in the exchange zone. */
const bucketOf = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 2 + (m! >= 30 ? 1 : 0);
};

interface StatsSpec {
  readonly symbol: string;
  readonly assetType?: AssetType;
  readonly dataType?: DataType;
  /** Decayed reads per bucket, by wall-clock "HH:MM" of the bucket's start. */
  readonly buckets: Readonly<Record<string, number>>;
  readonly lastAccessAt: number;
}

function stats(spec: StatsSpec): AccessStats {
  const assetType = spec.assetType ?? 'equity';
  const dataType = spec.dataType ?? 'price';
  const profile = new Array<number>(PROFILE_BUCKETS).fill(0);
  for (const [hhmm, count] of Object.entries(spec.buckets)) profile[bucketOf(hhmm)] = count;
  return {
    key: `${dataType}:${assetType}:${spec.symbol}`,
    dataType,
    assetType,
    symbol: spec.symbol,
    frequency: profile.reduce((a, b) => a + b, 0),
    profile,
    lastAccessAt: spec.lastAccessAt,
    asOf: spec.lastAccessAt,
  };
}

/**
 * About 10 reads per trading day at the open: a decayed count of 70 over a
 * 7-day half-life (see expected-reads.ts: 70 × 1.45 d / 10.1 d).
 */
const HOT_AT_OPEN = { '09:30': 70 };

const roomy = new Map<string, ProviderBudget>([
  ['sim-equities', { remainingCalls: 300, maxBatchSize: 100 }],
  ['sim-crypto', { remainingCalls: 30, maxBatchSize: 250 }],
  ['sim-reference', { remainingCalls: 60, maxBatchSize: 1 }],
]);
const route = (assetType: AssetType, dataType: DataType) =>
  dataType === 'price' ? (assetType === 'equity' ? 'sim-equities' : 'sim-crypto') : 'sim-reference';

function input(overrides: Partial<WarmPlanInput> & Pick<WarmPlanInput, 'now' | 'window'>) {
  return {
    mode: 'scheduled',
    stats: [],
    l2: new Map<string, L2State>(),
    events: [],
    calendar,
    halfLifeMs: HALF_LIFE,
    route,
    budgets: roomy,
    maxKeys: 100,
    ...overrides,
  } satisfies WarmPlanInput;
}

/** A pre-open run of an exchange date: at preOpenRunAt, for the open's first half hour. */
function preOpen(day: string, overrides: Partial<WarmPlanInput> = {}) {
  const now = preOpenRunAt(day, calendar, 30) ?? et(`${day} 09:00`);
  const window = openWindow(day, calendar) ?? {
    start: et(`${day} 09:30`),
    end: et(`${day} 10:00`),
  };
  return planWarming(input({ mode: 'pre-open', now, window, ...overrides }));
}

describe('planWarming: the market clock', () => {
  const friday = et('2026-11-20 16:00');
  const aapl = stats({ symbol: 'AAPL', buckets: HOT_AT_OPEN, lastAccessAt: friday });

  it.each([
    // A trading day: warmed at 09:00 for the 09:30 open.
    ['Tuesday 2026-11-24', '2026-11-24', 1],
    // Monday after the weekend: the Friday read is not stale (weekends are excused).
    ['Monday 2026-11-23', '2026-11-23', 1],
    // Thanksgiving: no session, so no session reads to prepare for.
    ['Thanksgiving 2026-11-26', '2026-11-26', 0],
    ['Saturday 2026-11-28', '2026-11-28', 0],
  ])('a symbol hot at the open, on %s: %i key(s) warmed', (_name, day, warmed) => {
    const clock = new ManualClock(preOpenRunAt(day, calendar, 30) ?? et(`${day} 09:00`));
    const plan = preOpen(day, { now: clock.now(), stats: [aapl] });
    expect(plan.choices).toHaveLength(warmed);
    if (warmed === 1) {
      expect(plan.choices[0]).toMatchObject({
        key: 'price:equity:AAPL',
        provider: 'sim-equities',
        reason: { code: 'missing' },
      });
      expect(plan.choices[0]!.reason.detail).toContain('09:30-10:00 ET');
      expect(plan.choices[0]!.expectedReads).toBeGreaterThan(5);
    } else {
      expect(plan.skipped.unlikely).toBe(1);
    }
  });

  it('has no pre-open run on Thanksgiving at all', () => {
    expect(preOpenRunAt('2026-11-26', calendar, 30)).toBeUndefined();
    expect(openWindow('2026-11-26', calendar)).toBeUndefined();
    expect(preOpenRunAt('2026-11-24', calendar, 30)).toBe(et('2026-11-24 09:00'));
  });

  it('keeps crypto reads on a holiday (it trades every day) but leaves it out of pre-open runs', () => {
    const btc = stats({
      symbol: 'BTC',
      assetType: 'crypto',
      buckets: { '09:30': 50 },
      lastAccessAt: et('2026-11-25 20:00'),
    });
    const now = et('2026-11-26 09:00');
    const window = { start: now, end: et('2026-11-26 10:00') };
    const scheduled = planWarming(input({ now, window, stats: [aapl, btc] }));
    expect(scheduled.choices.map((c) => c.key)).toEqual(['price:crypto:BTC']);
    expect(scheduled.skipped.unlikely).toBe(1);
    const pre = preOpen('2026-11-24', { stats: [btc] });
    expect(pre.choices).toHaveLength(0);
    expect(pre.skipped.mode).toBe(1);
  });

  it('drops session buckets after an early close (Black Friday closes at 13:00, after-hours at 17:00)', () => {
    const evening = stats({ symbol: 'NVDA', buckets: { '17:30': 70 }, lastAccessAt: friday });
    const window = (day: string) => ({ start: et(`${day} 17:00`), end: et(`${day} 18:00`) });
    const normal = planWarming(
      input({ now: et('2026-11-24 16:55'), window: window('2026-11-24'), stats: [evening] }),
    );
    const blackFriday = planWarming(
      input({ now: et('2026-11-27 16:55'), window: window('2026-11-27'), stats: [evening] }),
    );
    expect(normal.choices).toHaveLength(1);
    expect(blackFriday.choices).toHaveLength(0);
  });
});

describe('planWarming: DST switch days bucket on the wall clock', () => {
  it.each([
    // Spring forward, Sunday 2026-03-08: 01:59 EST is followed by 03:00 EDT.
    ['2026-03-08T06:59:00Z', '01:30'],
    ['2026-03-08T07:00:00Z', '03:00'],
    ['2026-03-09T13:30:00Z', '09:30'],
    // Fall back, Sunday 2026-11-01: 01:30 happens twice (EDT, then EST).
    ['2026-11-01T05:30:00Z', '01:30'],
    ['2026-11-01T06:30:00Z', '01:30'],
    ['2026-11-01T07:00:00Z', '02:00'],
    ['2026-11-02T14:30:00Z', '09:30'],
    ['2026-07-01T13:30:00Z', '09:30'],
  ])('%s is in the %s bucket', (instant, hhmm) => {
    expect(bucketAt(Date.parse(instant))).toBe(bucketOf(hhmm));
  });

  it('cuts the 23-hour and 25-hour days into 46 and 50 half hours', () => {
    const march = calendar.exchangeDay('2026-03-08').range;
    const november = calendar.exchangeDay('2026-11-01').range;
    const marchSlices = sliceWindow(march, calendar);
    const novemberSlices = sliceWindow(november, calendar);
    expect(marchSlices).toHaveLength(46);
    expect(marchSlices.map((s) => s.bucket)).not.toContain(bucketOf('02:00'));
    expect(novemberSlices).toHaveLength(50);
    expect(novemberSlices.filter((s) => s.bucket === bucketOf('01:00'))).toHaveLength(2);
  });

  it('expects the 02:00 bucket never on 2026-03-08 and the 01:00 bucket twice on 2026-11-01', () => {
    const night = (symbol: string, hhmm: string) =>
      stats({ symbol, assetType: 'crypto', buckets: { [hhmm]: 30 }, lastAccessAt: 0 });
    const plan = (day: string, dayBefore: string) => {
      const { start } = calendar.exchangeDay(day).range;
      const window = { start, end: start + 6 * 3_600_000 };
      return planWarming(
        input({
          now: start,
          window,
          stats: [night('TWO', '02:00'), night('ONE', '01:00')].map((s) => ({
            ...s,
            lastAccessAt: calendar.exchangeDay(dayBefore).range.start,
            asOf: start,
          })),
          tuning: { minProbability: { scheduled: 0 } },
        }),
      );
    };
    const reads = (p: ReturnType<typeof plan>) =>
      Object.fromEntries(p.choices.map((c) => [c.symbol, c.expectedReads]));
    const ordinary = reads(plan('2026-10-31', '2026-10-30'));
    const spring = reads(plan('2026-03-08', '2026-03-07'));
    const fall = reads(plan('2026-11-01', '2026-10-31'));
    expect(spring.TWO).toBeUndefined();
    expect(spring.ONE).toBeCloseTo(ordinary.ONE!, 9);
    expect(fall.ONE).toBeCloseTo(2 * ordinary.ONE!, 9);
    expect(fall.TWO).toBeCloseTo(ordinary.TWO!, 9);
  });

  it('warms for 09:30 EDT on the Monday after the spring switch', () => {
    const window = openWindow('2026-03-09', calendar)!;
    expect(window.start).toBe(Date.parse('2026-03-09T13:30:00Z'));
    const plan = preOpen('2026-03-09', {
      stats: [
        stats({ symbol: 'AAPL', buckets: HOT_AT_OPEN, lastAccessAt: et('2026-03-06 16:00') }),
      ],
    });
    expect(plan.now).toBe(Date.parse('2026-03-09T13:00:00Z'));
    expect(plan.choices.map((c) => c.symbol)).toEqual(['AAPL']);
  });
});

describe('planWarming: the entry in L2', () => {
  const now = et('2026-11-24 09:00');
  const window = { start: now, end: et('2026-11-24 10:00') };
  const hot = (symbol: string) =>
    stats({ symbol, buckets: { '09:00': 70, '09:30': 70 }, lastAccessAt: now - 3_600_000 });
  const entry = (softExpiresAt: number): L2State => ({
    softExpiresAt,
    hardExpiresAt: softExpiresAt + 3_600_000,
  });

  it('skips keys fresh through the window and picks missing, stale and expiring ones, saying why', () => {
    const plan = planWarming(
      input({
        now,
        window,
        stats: [hot('FRESH'), hot('MISSING'), hot('STALE'), hot('EXPIRING'), hot('GONE')],
        l2: new Map([
          ['price:equity:FRESH', entry(et('2026-11-24 10:00'))],
          ['price:equity:STALE', entry(et('2026-11-24 08:50'))],
          ['price:equity:EXPIRING', entry(et('2026-11-24 09:42'))],
          // Past its hard expiry: gone, so missing.
          ['price:equity:GONE', { softExpiresAt: now - 7_200_000, hardExpiresAt: now - 1 }],
        ]),
      }),
    );
    expect(plan.skipped.fresh).toBe(1);
    const reasons = Object.fromEntries(plan.choices.map((c) => [c.symbol, c.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['EXPIRING', 'GONE', 'MISSING', 'STALE']);
    expect(reasons.MISSING).toEqual({
      code: 'missing',
      detail: expect.stringMatching(/^missing, \d+\.\d reads expected 09:00-10:00 ET/),
    });
    expect(reasons.GONE?.code).toBe('missing');
    expect(reasons.STALE?.code).toBe('stale');
    expect(reasons.STALE?.detail).toContain('stale since 08:50');
    expect(reasons.EXPIRING).toEqual({
      code: 'expiring',
      detail: expect.stringContaining('fresh until 09:42, '),
    });
    // Only the reads after 09:42 count for the expiring key.
    expect(reasons.EXPIRING?.detail).toContain('09:42-10:00 ET');
    const expiring = plan.choices.find((c) => c.symbol === 'EXPIRING')!;
    const missing = plan.choices.find((c) => c.symbol === 'MISSING')!;
    expect(expiring.expectedReads).toBeCloseTo((missing.expectedReads * 18) / 60, 9);
    for (const choice of plan.choices) {
      expect(choice.reason.detail.length).toBeGreaterThan(10);
      expect(choice.probability).toBeGreaterThan(0);
      expect(choice.score).toBeLessThanOrEqual(choice.probability);
    }
  });

  it('makes no refresh that would go stale before the reads it is for', () => {
    // A price written at 09:00 pre-market keeps 20 minutes: stale before the 09:30 open.
    const early = preOpen('2026-11-24', {
      stats: [stats({ symbol: 'AAPL', buckets: HOT_AT_OPEN, lastAccessAt: now - DAY })],
      freshUntilIfWarmed: (_s, writtenAt) => writtenAt + 20 * MIN,
    });
    expect(early.choices).toHaveLength(0);
    expect(early.skipped['expires-first']).toBe(1);
    const later = preOpen('2026-11-24', {
      now: et('2026-11-24 09:20'),
      stats: [stats({ symbol: 'AAPL', buckets: HOT_AT_OPEN, lastAccessAt: now - DAY })],
      freshUntilIfWarmed: (_s, writtenAt) => writtenAt + 20 * MIN,
    });
    expect(later.choices[0]?.reason.detail).toContain('09:30-09:40 ET');
  });

  it('refresh-ahead renews cached hot keys expiring before the next run, never missing ones', () => {
    const at = et('2026-11-24 09:45');
    const plan = planWarming(
      input({
        mode: 'refresh-ahead',
        now: at,
        window: { start: at, end: at + 70_000 },
        stats: [
          stats({ symbol: 'SOON', buckets: { '09:30': 700 }, lastAccessAt: at - MIN }),
          stats({ symbol: 'LATER', buckets: { '09:30': 700 }, lastAccessAt: at - MIN }),
          stats({ symbol: 'ABSENT', buckets: { '09:30': 700 }, lastAccessAt: at - MIN }),
          stats({ symbol: 'COOL', buckets: { '09:30': 1 }, lastAccessAt: at - MIN }),
        ],
        l2: new Map([
          ['price:equity:SOON', entry(at + 30_000)],
          ['price:equity:LATER', entry(at + 5 * MIN)],
          ['price:equity:COOL', entry(at + 30_000)],
        ]),
      }),
    );
    expect(plan.choices.map((c) => [c.symbol, c.reason.code])).toEqual([['SOON', 'expiring']]);
    expect(plan.skipped).toMatchObject({ fresh: 1, mode: 1, unlikely: 1 });
  });
});

describe('planWarming: scores', () => {
  const now = et('2026-11-24 09:00');
  const window = { start: et('2026-11-24 09:30'), end: et('2026-11-24 10:00') };
  /** About 0.7 reads expected at the open: p ≈ 0.5. */
  const WARM = { '09:30': 5 };

  it('raises a symbol with earnings around the window above an equal one without', () => {
    const events: PlannerEarningsEvent[] = [
      { symbol: 'ERN', date: '2026-11-24', session: 'before-open', at: window.start },
      // Too far ahead to matter.
      { symbol: 'LATE', date: '2026-12-08', session: 'before-open', at: et('2026-12-08 09:30') },
    ];
    const plan = planWarming(
      input({
        now,
        window,
        events,
        stats: ['AAA', 'ERN', 'LATE'].map((symbol) =>
          stats({ symbol, buckets: WARM, lastAccessAt: now - 3_600_000 }),
        ),
        maxKeys: 1,
      }),
    );
    expect(plan.choices.map((c) => c.symbol)).toEqual(['ERN']);
    expect(plan.choices[0]!.earnings).toEqual(events[0]);
    expect(plan.choices[0]!.reason.detail).toContain('earnings 2026-11-24 before-open');
    expect(plan.skipped.cap).toBe(2);
  });

  it('lifts a key below the threshold over it when its earnings come', () => {
    const quiet = stats({ symbol: 'QUIET', buckets: { '09:30': 1.5 }, lastAccessAt: now - DAY });
    const without = planWarming(input({ now, window, stats: [quiet] }));
    const withEarnings = planWarming(
      input({
        now,
        window,
        stats: [quiet],
        events: [
          {
            symbol: 'QUIET',
            date: '2026-11-23',
            session: 'after-close',
            at: et('2026-11-23 16:00'),
          },
        ],
      }),
    );
    expect(without.choices).toHaveLength(0);
    expect(without.skipped.unlikely).toBe(1);
    expect(withEarnings.choices.map((c) => c.symbol)).toEqual(['QUIET']);
  });

  it('ranks a key not read for days below an equally hot one read yesterday', () => {
    // Figures as of now, as the access store reports them when read for the run.
    const recent = {
      ...stats({ symbol: 'NEW', buckets: WARM, lastAccessAt: et('2026-11-23 12:00') }),
      asOf: now,
    };
    const old = {
      ...stats({ symbol: 'OLD', buckets: WARM, lastAccessAt: et('2026-11-17 12:00') }),
      asOf: now,
    };
    const plan = planWarming(
      input({ now, window, stats: [old, recent], tuning: { minProbability: { scheduled: 0 } } }),
    );
    expect(plan.choices.map((c) => c.symbol)).toEqual(['NEW', 'OLD']);
    expect(plan.choices[1]!.score).toBeLessThan(plan.choices[0]!.score / 2);
    expect(plan.choices[1]!.probability).toBeCloseTo(plan.choices[0]!.probability, 9);
  });

  it('skips and counts corrupted or foreign records, never throws', () => {
    const good = stats({ symbol: 'AAPL', buckets: HOT_AT_OPEN, lastAccessAt: now });
    const plan = planWarming(
      input({
        now,
        window,
        stats: [
          good,
          { ...good, key: 'price:equity:SHORT', profile: [1, 2, 3] },
          { ...good, key: 'price:equity:NAN', frequency: Number.NaN },
          { ...good, key: 'bond:x', assetType: 'bond' as AssetType },
          { ...good, key: 'price:equity:NEG', profile: good.profile.map(() => -1) },
        ],
      }),
    );
    expect(plan.choices.map((c) => c.key)).toEqual(['price:equity:AAPL']);
    expect(plan.skipped.invalid).toBe(4);
    expect(plan.considered).toBe(5);
  });
});

describe('planWarming: the budget', () => {
  const now = et('2026-11-24 09:00');
  const window = { start: et('2026-11-24 09:30'), end: et('2026-11-24 10:00') };
  const hot = (symbol: string, assetType: AssetType = 'equity', dataType: DataType = 'price') =>
    stats({ symbol, assetType, dataType, buckets: HOT_AT_OPEN, lastAccessAt: now - DAY });
  const equities = Array.from({ length: 500 }, (_, i) => hot(`E${i}`));
  const fundamentals = Array.from({ length: 40 }, (_, i) => hot(`E${i}`, 'equity', 'fundamentals'));
  const cryptos = Array.from({ length: 300 }, (_, i) => hot(`C${i}`, 'crypto'));
  const all = [...equities, ...fundamentals, ...cryptos];

  it.each([
    // [equities calls, reserve, batch] [crypto calls, batch] [reference calls] cap
    [{ calls: 3, reserve: 1, batch: 100 }, { calls: 1, batch: 250 }, 5, 1000],
    [{ calls: 0, reserve: 0, batch: 100 }, { calls: 2, batch: 100 }, 0, 1000],
    [{ calls: 10, reserve: 0, batch: 100 }, { calls: 10, batch: 250 }, 60, 120],
    [{ calls: 2.9, reserve: 0.5, batch: 7 }, { calls: 1, batch: 3 }, 3, 1000],
    [{ calls: 5, reserve: 9, batch: 100 }, { calls: 1, batch: 1 }, 1, 1000],
  ])(
    'never more keys than calls × batch size per provider, nor above the cap (%o, %o, %i, cap %i)',
    (eq, cr, refCalls, cap) => {
      const budgets = new Map<string, ProviderBudget>([
        [
          'sim-equities',
          { remainingCalls: eq.calls, reserveCalls: eq.reserve, maxBatchSize: eq.batch },
        ],
        ['sim-crypto', { remainingCalls: cr.calls, maxBatchSize: cr.batch }],
        ['sim-reference', { remainingCalls: refCalls, maxBatchSize: 1 }],
      ]);
      const plan = planWarming(
        input({ mode: 'scheduled', now, window, stats: all, budgets, maxKeys: cap }),
      );
      const count = (provider: string) =>
        plan.choices.filter((c) => c.provider === provider).length;
      const allowed = {
        'sim-equities': Math.max(0, Math.floor(eq.calls - eq.reserve)),
        'sim-crypto': cr.calls,
        'sim-reference': refCalls,
      };
      expect(count('sim-equities')).toBeLessThanOrEqual(allowed['sim-equities'] * eq.batch);
      expect(count('sim-crypto')).toBeLessThanOrEqual(allowed['sim-crypto'] * cr.batch);
      expect(count('sim-reference')).toBeLessThanOrEqual(allowed['sim-reference']);
      expect(plan.choices.length).toBeLessThanOrEqual(cap);
      for (const p of plan.providers) {
        expect(p.calls).toBeLessThanOrEqual(p.allowedCalls);
        expect(p.allowedCalls).toBe(allowed[p.provider as keyof typeof allowed]);
        expect(p.keys).toBe(count(p.provider));
      }
      // Every candidate is accounted for: chosen or skipped with a reason.
      const skippedTotal = WARM_SKIP_CODES.reduce((n, code) => n + plan.skipped[code], 0);
      expect(plan.choices.length + skippedTotal).toBe(all.length);
      // Filled as far as the budget and cap allow (all candidates score alike).
      const possible = Math.min(
        cap,
        Math.min(equities.length, allowed['sim-equities'] * eq.batch) +
          Math.min(cryptos.length, allowed['sim-crypto'] * cr.batch) +
          Math.min(fundamentals.length, allowed['sim-reference']),
      );
      expect(plan.choices.length).toBe(possible);
    },
  );

  it('counts a call per batch of each data type: one call cannot carry price and fundamentals', () => {
    const budgets = new Map<string, ProviderBudget>([
      ['shared', { remainingCalls: 1, maxBatchSize: 10 }],
    ]);
    const plan = planWarming(
      input({
        now,
        window,
        // The fundamentals key is the least hot: the two price keys take the one call first.
        stats: [
          hot('A'),
          { ...hot('B', 'equity', 'fundamentals'), profile: hot('B').profile.map((n) => n / 4) },
          hot('C'),
        ],
        route: () => 'shared',
        budgets,
      }),
    );
    expect(plan.choices.map((c) => c.dataType).sort()).toEqual(['price', 'price']);
    expect(plan.skipped.budget).toBe(1);
    expect(plan.providers).toEqual([{ provider: 'shared', calls: 1, keys: 2, allowedCalls: 1 }]);
  });

  it('skips keys no provider serves, and keys of a provider without a budget', () => {
    const plan = planWarming(
      input({
        now,
        window,
        stats: [hot('A'), hot('B', 'crypto')],
        route: (assetType) => (assetType === 'equity' ? undefined : 'unbudgeted'),
      }),
    );
    expect(plan.choices).toHaveLength(0);
    expect(plan.skipped).toMatchObject({ 'no-route': 1, budget: 1 });
  });

  it('is deterministic: the same input gives the same plan', () => {
    const a = planWarming(input({ now, window, stats: all, maxKeys: 50 }));
    const b = planWarming(input({ now, window, stats: [...all].reverse(), maxKeys: 50 }));
    expect(b.choices.map((c) => c.key)).toEqual(a.choices.map((c) => c.key));
  });
});
