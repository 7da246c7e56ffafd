import { describe, expect, it } from '@jest/globals';
import { SimulatedMarket } from '@fiml/simulator';
import { MARKET_WEEK_DEFAULTS, MarketWeek, type WorkloadRequest } from './market-week.js';

const HOUR = 3_600_000;
const at = (iso: string): number => Date.parse(iso);

/** Collects a window's requests (keep windows small: the default week is 11 M requests). */
function collect(week: MarketWeek): WorkloadRequest[] {
  return [...week];
}

/** |observed - expected| within `sigmas` standard deviations of a binomial share. */
function expectShare(hits: number, n: number, p: number, sigmas = 5): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(hits / n - p)).toBeLessThanOrEqual(sigmas * sd + 1e-12);
}

describe('MarketWeek: the calendar and the rate profile', () => {
  const week = new MarketWeek({ seed: 7 });

  it('covers Monday 2026-11-23 to Sunday 2026-11-29 in New York, Thanksgiving closed, Friday closing at 13:00', () => {
    expect(week.days.map((d) => `${d.date}:${d.status}`)).toEqual([
      '2026-11-23:trading',
      '2026-11-24:trading',
      '2026-11-25:trading',
      '2026-11-26:holiday',
      '2026-11-27:trading',
      '2026-11-28:weekend',
      '2026-11-29:weekend',
    ]);
    expect(week.weekStart).toBe(at('2026-11-23T00:00:00-05:00'));
    expect(week.weekEnd).toBe(at('2026-11-30T00:00:00-05:00'));
    const friday = week.segments().filter((s) => s.date === '2026-11-27');
    // 10:30-15:00 ends at the 13:00 close, 15:00-close is empty, close-20:00 starts at 13:00.
    expect(friday.map((s) => [new Date(s.start).toISOString(), s.share])).toEqual([
      ['2026-11-27T05:00:00.000Z', 0.05],
      ['2026-11-27T09:00:00.000Z', 0.3],
      ['2026-11-27T14:30:00.000Z', 1],
      ['2026-11-27T15:30:00.000Z', 0.6],
      ['2026-11-27T18:00:00.000Z', 0.2],
      ['2026-11-28T01:00:00.000Z', 0.05],
    ]);
    const thanksgiving = week.segments().filter((s) => s.date === '2026-11-26');
    expect(thanksgiving).toHaveLength(1);
    expect(thanksgiving[0]!.equityRate + thanksgiving[0]!.cryptoRate).toBeCloseTo(3, 10);
    expect(thanksgiving[0]!.cryptoRate).toBeCloseTo(2.4, 10); // mostly crypto
  });

  it('keeps crypto flat at 10 % of a full trading day and equities at the rest of the profile', () => {
    const monday = week.segments().filter((s) => s.date === '2026-11-23');
    // 745 %·h of the peak per full trading day: 2,682,000 requests, 268,200 of them crypto.
    const cryptoRate = (0.1 * 100 * 7.45) / 24;
    for (const s of monday) {
      expect(s.cryptoRate).toBeCloseTo(cryptoRate, 10);
      expect(s.equityRate + s.cryptoRate).toBeCloseTo(s.share * 100, 10);
    }
    const total = monday.reduce(
      (sum, s) => sum + ((s.equityRate + s.cryptoRate) * (s.end - s.start)) / 1000,
      0,
    );
    expect(total).toBeCloseTo(2_682_000, 0);
  });

  it('puts local times on the right instants across a DST switch (luxon, America/New_York)', () => {
    // DST starts on Sunday 2026-03-08: the Friday before opens at 14:30Z, the Monday after at 13:30Z.
    const march = new MarketWeek({ startDate: '2026-03-06', days: 4, peakRate: 1 });
    expect(march.days.map((d) => (d.end - d.start) / HOUR)).toEqual([24, 24, 23, 24]);
    expect(march.days[0]!.open).toBe(at('2026-03-06T14:30:00Z'));
    expect(march.days[3]!.open).toBe(at('2026-03-09T13:30:00Z'));
    const mondayPreMarket = march.segments().find((s) => s.date === '2026-03-09' && s.index === 1)!;
    expect(mondayPreMarket.start).toBe(at('2026-03-09T08:00:00Z')); // 04:00 EDT
  });

  it('rejects bad options with a message that names them', () => {
    expect(() => new MarketWeek({ startDate: '23/11/2026' })).toThrow(/startDate/);
    expect(
      () => new MarketWeek({ dataTypes: { price: 0.9, news: 0.1, fundamentals: 0.1 } }),
    ).toThrow(/add up to 1/);
    expect(
      () =>
        new MarketWeek({
          profile: [
            { from: '00:00', to: '12:00', share: 0.1 },
            { from: '13:00', to: '24:00', share: 0.1 },
          ],
        }),
    ).toThrow(/must follow each other/);
    expect(() => new MarketWeek({ window: { from: '2026-11-23T10:00:00' } })).toThrow(/offset/);
    expect(() => new MarketWeek({ batchMax: 200 })).toThrow(/batchMax/);
  });

  it('documents every default of the workload file', () => {
    expect(week.parameters).toMatchObject({
      equities: 3000,
      crypto: 100,
      equityZipf: 1.1,
      cryptoZipf: 1,
      dailyReshuffle: 0.05,
      earningsShare: 0.02,
      earningsMultiplier: 20,
      peakRate: 100,
      offDayShare: 0.03,
      cryptoShare: 0.1,
      dataTypes: { price: 0.85, news: 0.1, fundamentals: 0.05 },
      batchShare: 0.05,
      batchMin: 10,
      batchMax: 50,
      window: { from: '2026-11-23T05:00:00.000Z', to: '2026-11-30T05:00:00.000Z' },
    });
    expect(MARKET_WEEK_DEFAULTS.startDate).toBe('2026-11-23');
  });
});

describe('MarketWeek: the request stream', () => {
  // One market open: 09:30-10:30 on Monday, about 360,000 requests.
  const open = new MarketWeek({
    seed: 11,
    window: { from: '2026-11-23T09:30:00-05:00', to: '2026-11-23T10:30:00-05:00' },
  });
  const requests = collect(open);

  it('has Poisson arrivals at the profile rate, in time order, inside the window', () => {
    const expected = open.expectedRequests();
    expect(expected).toBeGreaterThan(360_000); // 100 req/s plus the earnings names' extra reads
    expect(Math.abs(requests.length - expected)).toBeLessThan(5 * Math.sqrt(expected));
    let previous = open.from;
    let sumGap = 0;
    let sumSquares = 0;
    let outOfOrder = 0;
    for (const r of requests) {
      if (r.at < previous) outOfOrder++;
      sumGap += r.at - previous;
      sumSquares += (r.at - previous) ** 2;
      previous = r.at;
    }
    expect(outOfOrder).toBe(0);
    expect(previous).toBeLessThan(open.to);
    // Exponential gaps: standard deviation equal to the mean (arrival times are whole ms, so
    // the mean gap of about 10 ms comes out slightly coarse).
    const mean = sumGap / requests.length;
    const sd = Math.sqrt(sumSquares / requests.length - mean * mean);
    expect(sd / mean).toBeGreaterThan(0.95);
    expect(sd / mean).toBeLessThan(1.08);
  });

  it('mixes data types 85/10/5, 5 % batch reads of 10-50 distinct assets of one type, 10 % of them crypto-rate', () => {
    const n = requests.length;
    expectShare(requests.filter((r) => r.dataType === 'price').length, n, 0.85);
    expectShare(requests.filter((r) => r.dataType === 'news').length, n, 0.1);
    expectShare(requests.filter((r) => r.dataType === 'fundamentals').length, n, 0.05);
    const batches = requests.filter((r) => r.batch);
    expectShare(batches.length, n, 0.05);
    const sizes = new Map<number, number>();
    let badBatches = 0;
    for (const b of batches) {
      const distinct = new Set(b.assets).size === b.assets.length;
      const oneType = b.assets.every((a) => a.assetType === b.assetType);
      if (!distinct || !oneType) badBatches++;
      sizes.set(b.assets.length, (sizes.get(b.assets.length) ?? 0) + 1);
    }
    expect(badBatches).toBe(0);
    // Uniform over 10..50: every size, each about 1/41 of the batches.
    expect([...sizes.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 41 }, (_, i) => 10 + i),
    );
    for (const count of sizes.values()) expectShare(count, batches.length, 1 / 41);
    expect(requests.filter((r) => !r.batch && r.assets.length !== 1)).toHaveLength(0);
    // At the open crypto's flat 3.1 req/s is 3.1 / (100 + earnings extra) of the requests.
    const segment = open.segments().find((s) => s.start <= open.from && s.end > open.from)!;
    const cryptoP =
      segment.cryptoRate / (segment.cryptoRate + segment.equityRate + segment.earningsRate);
    expectShare(requests.filter((r) => r.assetType === 'crypto').length, n, cryptoP);
  });

  it('draws equities from Zipf(1.1) over the day ranking and crypto from Zipf(1.0)', () => {
    const ranking = open.equityRanking(0);
    const counts = new Map<string, number>();
    let equityReads = 0;
    const earnings = new Set(
      open
        .earningsCalendar()
        .filter((e) => e.date === '2026-11-23')
        .map((e) => e.symbol),
    );
    for (const r of requests) {
      if (r.assetType !== 'equity' || r.batch) continue;
      const symbol = r.assets[0]!.symbol;
      if (earnings.has(symbol)) continue; // their extra reads are the x20, tested below
      equityReads++;
      counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
    }
    let h = 0;
    for (let k = 1; k <= 3000; k++) h += k ** -1.1;
    const nonEarningsMass = ranking.reduce(
      (sum, symbol, r) => sum + (earnings.has(symbol) ? 0 : (r + 1) ** -1.1 / h),
      0,
    );
    for (const rank of [0, 1, 9, 99]) {
      const symbol = ranking[rank]!;
      if (earnings.has(symbol)) continue;
      expectShare(counts.get(symbol) ?? 0, equityReads, (rank + 1) ** -1.1 / h / nonEarningsMass);
    }
    let hc = 0;
    for (let k = 1; k <= 100; k++) hc += 1 / k;
    const crypto = requests.filter((r) => r.assetType === 'crypto' && !r.batch);
    const btc = crypto.filter((r) => r.assets[0]!.symbol === 'BTC').length;
    expectShare(btc, crypto.length, 1 / hc);
  });

  it('reads an earnings name x20 from the open to the close of its day', () => {
    const monday = open.earningsCalendar().filter((e) => e.date === '2026-11-23');
    expect(monday.length).toBeGreaterThan(0);
    const asset = (symbol: string) => open.assets.find((a) => a.symbol === symbol)!;
    for (const e of monday.slice(0, 3)) {
      const a = asset(e.symbol);
      const during = open.expectedSingleReadRate(a, 'price', at('2026-11-23T10:00:00-05:00'));
      const ranking = open.equityRanking(0);
      const rank = ranking.indexOf(e.symbol);
      let h = 0;
      for (let k = 1; k <= 3000; k++) h += k ** -1.1;
      const segment = open.segments().find((s) => s.date === '2026-11-23' && s.index === 2)!;
      const base = segment.equityRate * 0.95 * 0.85 * ((rank + 1) ** -1.1 / h);
      expect(during / base).toBeCloseTo(20, 6);
      // Before the open the name is read at its base rate.
      const before = open.expectedSingleReadRate(a, 'price', at('2026-11-23T09:00:00-05:00'));
      const preSegment = open.segments().find((s) => s.date === '2026-11-23' && s.index === 1)!;
      expect(before / (base * (preSegment.equityRate / segment.equityRate))).toBeCloseTo(1, 6);
    }
    // Observed: the earnings names' single reads during the hour match the model (Poisson, 5 sd).
    let observed = 0;
    let expected = 0;
    for (const e of monday) {
      const a = asset(e.symbol);
      for (const dataType of ['price', 'news', 'fundamentals'] as const) {
        expected +=
          (open.expectedSingleReadRate(a, dataType, open.from) * (open.to - open.from)) / 1000;
      }
    }
    const names = new Set(monday.map((e) => e.symbol));
    for (const r of requests) if (!r.batch && names.has(r.assets[0]!.symbol)) observed++;
    expect(Math.abs(observed - expected)).toBeLessThan(5 * Math.sqrt(expected));
  });

  it('takes the earnings calendar from the simulated market of the same seed, on trading days', () => {
    const market = new SimulatedMarket({ seed: 11 });
    const events = market.earningsCalendar(at('2026-11-23T00:00:00Z'), at('2026-11-29T00:00:00Z'));
    expect(open.earningsCalendar()).toEqual(events);
    for (const e of events)
      expect(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-27']).toContain(e.date);
    // About 2 % of 3,000 equities (binomial: 60 +- 8).
    expect(events.length).toBeGreaterThan(30);
    expect(events.length).toBeLessThan(90);
  });
});

describe('MarketWeek: seeds, reshuffles and windows', () => {
  it('reshuffles 5 % of the equity ranks each day, so new names get hot', () => {
    const week = new MarketWeek({ seed: 3 });
    for (let day = 1; day < 7; day++) {
      const before = week.equityRanking(day - 1);
      const after = week.equityRanking(day);
      const moved = before.filter((symbol, rank) => after[rank] !== symbol).length;
      expect(moved).toBeLessThanOrEqual(150);
      expect(moved).toBeGreaterThan(140); // a random permutation of 150 fixes about one
      expect(new Set(after).size).toBe(3000);
    }
    expect(week.equityRanking(0).slice(0, 3)).toEqual(['AAPL', 'MSFT', 'NVDA']);
  });

  it('replays the same requests for the same seed, and others for another seed', () => {
    const first = (seed: number) =>
      collect(new MarketWeek({ seed, peakRate: 1, window: { to: '2026-11-23T10:00:00-05:00' } }))
        .slice(0, 200)
        .map((r) => `${r.at}:${r.dataType}:${r.assets.map((a) => a.symbol).join(',')}`);
    expect(first(5)).toEqual(first(5));
    expect(first(5)).not.toEqual(first(6));
  });

  it('yields in a window exactly the requests of the whole stream that fall inside it', () => {
    const options = { seed: 9, peakRate: 1, days: 2 };
    const line = (r: WorkloadRequest) =>
      `${r.at}:${r.dataType}:${r.assetType}:${r.assets.map((a) => a.symbol).join(',')}`;
    const all = collect(new MarketWeek(options));
    const from = at('2026-11-23T09:45:00-05:00');
    const to = at('2026-11-24T03:10:00-05:00');
    const windowed = collect(new MarketWeek({ ...options, window: { from, to } }));
    expect(windowed.length).toBeGreaterThan(1000);
    expect(windowed.map(line)).toEqual(all.filter((r) => r.at >= from && r.at < to).map(line));
  });
});
