import { describe, expect, it } from '@jest/globals';
import {
  earningsEventSchema,
  fundamentalsSchema,
  newsListSchema,
  priceQuoteSchema,
} from '@fiml/providers';
import { SimulatedMarket } from './simulated-market.js';
import { simulatedUniverse } from './universe.js';

const monday = Date.parse('2026-11-23T14:30:00Z');
const aapl = { symbol: 'AAPL', assetType: 'equity' } as const;
const btc = { symbol: 'BTC', assetType: 'crypto' } as const;

describe('simulatedUniverse', () => {
  it('leads with well-known names and fills the market-week sizes with distinct tickers', () => {
    const u = simulatedUniverse(42);
    expect(u.equity).toHaveLength(3_000);
    expect(u.crypto).toHaveLength(100);
    expect(u.equity.slice(0, 2)).toEqual(['AAPL', 'MSFT']);
    expect(u.crypto[0]).toBe('BTC');
    expect(new Set(u.equity).size).toBe(3_000);
    expect(simulatedUniverse(42)).toEqual(u);
    expect(simulatedUniverse(43).equity).not.toEqual(u.equity);
  });
});

describe('SimulatedMarket', () => {
  const market = new SimulatedMarket({ seed: 42 });

  it('quotes the same price for the same seed and minute, from any instance, in any order', () => {
    const other = new SimulatedMarket({ seed: 42 });
    const later = market.quote(aapl, monday + 3_600_000, 'sim');
    const q = market.quote(aapl, monday, 'sim');
    expect(other.quote(aapl, monday + 59_000, 'sim')).toEqual(q);
    expect(other.quote(aapl, monday + 3_600_000, 'sim')).toEqual(later);
    expect(new SimulatedMarket({ seed: 7 }).quote(aapl, monday, 'sim')?.price).not.toBe(q?.price);
    expect(priceQuoteSchema.parse(q)).toEqual(q);
    expect(q).toMatchObject({
      symbol: 'AAPL',
      assetType: 'equity',
      currency: 'USD',
      asOf: monday,
      provider: 'sim',
    });
  });

  it('walks prices plausibly: near the base price at the anchor, a few percent a day', () => {
    expect(market.priceAt(aapl, Date.UTC(2026, 0, 1))).toBeCloseTo(230, 6);
    const moves = Array.from({ length: 200 }, (_, day) => {
      const t = monday + day * 86_400_000;
      return Math.log(market.priceAt(aapl, t + 86_400_000) / market.priceAt(aapl, t));
    });
    const dailyVol = Math.sqrt(moves.reduce((s, x) => s + x * x, 0) / moves.length);
    expect(dailyVol).toBeGreaterThan(0.015);
    expect(dailyVol).toBeLessThan(0.025);
    const q = market.quote(btc, monday, 'sim')!;
    expect(q.changePercent).toBeCloseTo((q.price / (q.price - q.change!) - 1) * 100, 1);
  });

  it('answers undefined (not-found) for symbols outside its universe', () => {
    expect(market.quote({ symbol: 'NOPE1', assetType: 'equity' }, monday, 'sim')).toBeUndefined();
    expect(
      market.fundamentals({ symbol: 'AAPL', assetType: 'crypto' }, monday, 'sim'),
    ).toBeUndefined();
  });

  it('keeps fundamentals and news stable through a day and changes them the next', () => {
    const morning = Date.parse('2026-11-23T01:00:00Z');
    const evening = Date.parse('2026-11-23T23:00:00Z');
    expect(market.fundamentals(aapl, evening, 'sim')).toEqual(
      market.fundamentals(aapl, morning, 'sim'),
    );
    const f = market.fundamentals(aapl, morning, 'sim')!;
    expect(fundamentalsSchema.parse(f)).toEqual(f);
    expect(f).toMatchObject({
      name: 'Apple Inc.',
      sector: 'Technology',
      asOf: Date.UTC(2026, 10, 23),
    });
    expect(market.fundamentals(aapl, morning + 86_400_000, 'sim')?.marketCap).not.toBe(f.marketCap);
    const c = market.fundamentals(btc, morning, 'sim')!;
    expect(c).toMatchObject({ name: 'Bitcoin', circulatingSupply: 19_800_000 });

    let withNews = 0;
    for (const symbol of market.universe.equity.slice(0, 200)) {
      const asset = { symbol, assetType: 'equity' } as const;
      const news = market.news(asset, morning, 'sim')!;
      expect(market.news(asset, evening, 'sim')).toEqual(news);
      expect(newsListSchema.parse(news)).toEqual(news);
      for (const item of news) expect(item.publishedAt).toBeLessThan(Date.UTC(2026, 10, 23));
      if (news.length > 0) withNews += 1;
    }
    expect(withNews).toBeGreaterThan(100);
  });

  it('publishes an earnings calendar with about 2 % of equities a week, on trading days only', () => {
    // Thanksgiving week: Thursday 2026-11-26 is closed, Friday closes at 13:00.
    const week = market.earningsCalendar(
      Date.parse('2026-11-23T00:00:00Z'),
      Date.parse('2026-11-29T00:00:00Z'),
    );
    expect(week.length).toBeGreaterThan(30);
    expect(week.length).toBeLessThan(95);
    const dates = new Set(week.map((e) => e.date));
    expect(dates).not.toContain('2026-11-26');
    expect([...dates].sort()).toEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-27']);
    for (const e of week) {
      expect(earningsEventSchema.parse(e)).toEqual(e);
      const day = market.calendar.exchangeDay(e.date);
      expect(day.status).toBe('trading');
      // The open for before-open releases, the (early) close for after-close ones.
      expect(e.at).toBe(
        e.session === 'before-open' ? day.sessions!.regular.start : day.sessions!.regular.end,
      );
    }
    const friday = week.find((e) => e.date === '2026-11-27' && e.session === 'after-close');
    expect(friday?.at).toBe(Date.parse('2026-11-27T13:00:00-05:00'));
    expect(week.map((e) => e.at)).toEqual([...week.map((e) => e.at)].sort((a, b) => a - b));
    const first = week[0]!;
    expect(market.nextEarningsDate(first.symbol, Date.parse(`${first.date}T00:00:00Z`))).toBe(
      first.date,
    );
    expect(
      market.fundamentals(
        { symbol: first.symbol, assetType: 'equity' },
        Date.parse('2026-11-23T00:00:00Z'),
        'sim',
      )?.nextEarningsDate,
    ).toBe(first.date);
    expect(
      new SimulatedMarket({ seed: 42 }).earningsCalendar(monday, monday + 6 * 86_400_000),
    ).toEqual(market.earningsCalendar(monday, monday + 6 * 86_400_000));
  });
});
