import { type AssetType, hashString, NyseCalendar } from '@fiml/market';
import {
  type AssetRef,
  earningsInstant,
  type EarningsWireEvent,
  type Fundamentals,
  type NewsItem,
  type PriceQuote,
} from '@fiml/providers';
import { walkAt } from './price-walk.js';
import { gaussian, hash32, toSeed, unit } from './random.js';
import {
  WELL_KNOWN_CRYPTO,
  WELL_KNOWN_EQUITIES,
  simulatedUniverse,
  type Universe,
  type UniverseOptions,
} from './universe.js';

const DAY_MS = 86_400_000;

export interface SimulatedMarketOptions extends UniverseOptions {
  readonly seed: number | string;
  /** Explicit symbol lists instead of generated ones (per asset type). */
  readonly universe?: Partial<Universe>;
  /**
   * The instant at which every price equals its base price; the walk runs
   * forward and backward from there, so prices stay plausible near it.
   * @defaultValue 2026-01-01T00:00:00Z
   */
  readonly anchor?: number;
  /** Prices move once per step. @defaultValue 60000 */
  readonly stepMs?: number;
  /** Share of equities with an earnings release in any week. @defaultValue 0.02 (market-week.md) */
  readonly earningsShare?: number;
  /** Puts earnings releases on trading days and at the open or close. @defaultValue a new NyseCalendar() */
  readonly calendar?: NyseCalendar;
}

const TAG = { base: 1, vol: 2, volume: 3, news: 4, earnings: 5, fundamentals: 6 } as const;

const SECTORS = [
  'Technology',
  'Health Care',
  'Financials',
  'Consumer Discretionary',
  'Industrials',
  'Communication Services',
  'Consumer Staples',
  'Energy',
  'Utilities',
  'Real Estate',
  'Materials',
];
const NAME_SUFFIXES = [
  'Holdings Inc.',
  'Corporation',
  'Group plc',
  'Technologies Inc.',
  'Industries Co.',
  'Partners LP',
];
const TOPICS = [
  'quarterly guidance',
  'sector rotation',
  'interest-rate expectations',
  'a new product cycle',
  'supply-chain updates',
  'regulatory news',
  'insider filings',
  'an analyst upgrade',
];
const HEADLINES = [
  (s: string, t: string) => `${s} shares move as traders weigh ${t}`,
  (s: string, t: string) => `Analysts revisit ${s} after ${t}`,
  (s: string, t: string) => `${s}: what ${t} means for holders`,
  (s: string, t: string) => `${s} in focus amid ${t}`,
];
const SOURCES = ['Sim Wire', 'Market Sim Daily', 'Synthetic Street Journal'];

/** Daily volatility of the log price, by asset type. */
const DAILY_VOL: Readonly<Record<AssetType, number>> = { equity: 0.02, crypto: 0.04 };
const STABLECOINS = new Set(['USDT', 'USDC']);

export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);
const dayOf = (t: number): number => Math.floor(t / DAY_MS);
/** Weeks start on Monday; day 0 (1970-01-01) was a Thursday. */
const weekOf = (day: number): number => Math.floor((day + 3) / 7);
const mondayOf = (week: number): number => week * 7 - 3;

function roundPrice(price: number): number {
  return price >= 1 ? Math.round(price * 100) / 100 : Number(price.toPrecision(6));
}

/**
 * The simulated market: prices, fundamentals, news and an earnings calendar,
 * all pure functions of (seed, symbol, time). Nothing is stored per call, so
 * any number of simulated upstreams (and processes) sharing a seed agree.
 *
 * - Price: base price × exp(σ · walk), a Gaussian random walk per symbol in
 *   one-minute steps (σ: 2 %/day for equities, 4 %/day for crypto), anchored
 *   at `anchor`. Change and change percent are against 24 hours earlier. The
 *   walk runs around the clock: the simulator has no exchange calendar.
 * - Fundamentals: a function of the symbol and the UTC day (stable per day).
 * - News: 0-3 items per symbol and UTC day, published during the previous
 *   day, so a day's list never changes and never holds future items.
 * - Earnings: each week, `earningsShare` of the equities report on one
 *   trading day of the week (NYSE calendar: never on a weekend or a holiday
 *   such as Thanksgiving), before the open or after the close.
 */
export class SimulatedMarket {
  readonly seed: number;
  readonly universe: Universe;
  readonly anchor: number;
  readonly stepMs: number;
  readonly earningsShare: number;
  readonly calendar: NyseCalendar;
  readonly #known: Readonly<Record<AssetType, ReadonlySet<string>>>;
  readonly #anchorWalk = new Map<string, number>();

  constructor(options: SimulatedMarketOptions) {
    this.seed = toSeed(options.seed);
    const generated = simulatedUniverse(options.seed, options);
    this.universe = {
      equity: options.universe?.equity ?? generated.equity,
      crypto: options.universe?.crypto ?? generated.crypto,
    };
    this.#known = { equity: new Set(this.universe.equity), crypto: new Set(this.universe.crypto) };
    this.anchor = options.anchor ?? Date.UTC(2026, 0, 1);
    this.stepMs = options.stepMs ?? 60_000;
    this.earningsShare = options.earningsShare ?? 0.02;
    this.calendar = options.calendar ?? new NyseCalendar();
  }

  knows(asset: AssetRef): boolean {
    return this.#known[asset.assetType].has(asset.symbol);
  }

  /** The (unrounded) price at an instant. */
  priceAt(asset: AssetRef, at: number): number {
    const key = `${asset.assetType}:${asset.symbol}`;
    const h = hashString(key);
    const step = Math.floor(at / this.stepMs);
    let anchored = this.#anchorWalk.get(key);
    if (anchored === undefined) {
      anchored = walkAt(this.seed, h, Math.floor(this.anchor / this.stepMs));
      this.#anchorWalk.set(key, anchored);
    }
    const sigma = this.#dailyVol(asset) / Math.sqrt(DAY_MS / this.stepMs);
    return this.#basePrice(asset, h) * Math.exp(sigma * (walkAt(this.seed, h, step) - anchored));
  }

  quote(asset: AssetRef, now: number, provider: string): PriceQuote | undefined {
    if (!this.knows(asset)) return undefined;
    const asOf = Math.floor(now / this.stepMs) * this.stepMs;
    const price = roundPrice(this.priceAt(asset, asOf));
    const previous = roundPrice(this.priceAt(asset, asOf - DAY_MS));
    const h = hashString(`${asset.assetType}:${asset.symbol}`);
    const day = dayOf(asOf);
    const dailyVolume = Math.exp(
      Math.log(asset.assetType === 'equity' ? 2e6 : 5e7) +
        1.2 * gaussian(hash32(this.seed, h, TAG.volume)),
    );
    const todayFactor = 0.5 + unit(hash32(this.seed, h, TAG.volume, day));
    // Equity volume accumulates over the day; crypto volume is a rolling 24 hours (as CoinGecko reports).
    const elapsed = asset.assetType === 'equity' ? (asOf - day * DAY_MS) / DAY_MS : 1;
    return {
      symbol: asset.symbol,
      assetType: asset.assetType,
      price,
      currency: 'USD',
      change: Number((price - previous).toPrecision(6)),
      changePercent: Math.round((price / previous - 1) * 100 * 10_000) / 10_000,
      volume: Math.round(dailyVolume * todayFactor * elapsed),
      asOf,
      provider,
    };
  }

  fundamentals(asset: AssetRef, now: number, provider: string): Fundamentals | undefined {
    if (!this.knows(asset)) return undefined;
    const day = dayOf(now);
    const asOf = day * DAY_MS;
    const h = hashString(`${asset.assetType}:${asset.symbol}`);
    const draw = (i: number) => unit(hash32(this.seed, h, TAG.fundamentals, i));
    const price = this.priceAt(asset, asOf);
    if (asset.assetType === 'crypto') {
      const known = WELL_KNOWN_CRYPTO[asset.symbol];
      const supply =
        known?.supply ??
        Math.round(Math.exp(Math.log(1e9) + 2 * gaussian(hash32(this.seed, h, TAG.fundamentals))));
      return {
        symbol: asset.symbol,
        assetType: 'crypto',
        name: known?.name ?? `${asset.symbol} Token`,
        currency: 'USD',
        circulatingSupply: supply,
        marketCap: Math.round(price * supply),
        asOf,
        provider,
      };
    }
    const known = WELL_KNOWN_EQUITIES[asset.symbol];
    const shares = Math.round(
      Math.exp(Math.log(5e8) + gaussian(hash32(this.seed, h, TAG.fundamentals))),
    );
    const targetPe = 8 + 32 * draw(1);
    const eps = Math.round((((draw(2) < 0.15 ? -0.3 : 1) * price) / targetPe) * 100) / 100;
    const nextEarningsDate = this.nextEarningsDate(asset.symbol, now);
    return {
      symbol: asset.symbol,
      assetType: 'equity',
      name:
        known?.name ??
        `${asset.symbol} ${NAME_SUFFIXES[Math.floor(draw(3) * NAME_SUFFIXES.length)]!}`,
      currency: 'USD',
      sector: known?.sector ?? SECTORS[Math.floor(draw(4) * SECTORS.length)]!,
      sharesOutstanding: shares,
      marketCap: Math.round(price * shares),
      eps,
      ...(eps > 0 ? { peRatio: Math.round((price / eps) * 100) / 100 } : {}),
      dividendYield: draw(5) < 0.4 ? 0 : Math.round(draw(6) * 400) / 100,
      ...(nextEarningsDate === undefined ? {} : { nextEarningsDate }),
      asOf,
      provider,
    };
  }

  news(asset: AssetRef, now: number, provider: string): NewsItem[] | undefined {
    if (!this.knows(asset)) return undefined;
    const day = dayOf(now);
    const h = hashString(`${asset.assetType}:${asset.symbol}`);
    const count = Math.floor(unit(hash32(this.seed, h, TAG.news, day)) * 4);
    const items: NewsItem[] = [];
    for (let i = 0; i < count; i += 1) {
      const itemHash = hash32(this.seed, h, TAG.news, day, i);
      const draw = (j: number) => unit(hash32(itemHash, j));
      const id = `sim-${itemHash.toString(16).padStart(8, '0')}`;
      const topic = TOPICS[Math.floor(draw(1) * TOPICS.length)]!;
      items.push({
        id,
        symbol: asset.symbol,
        headline: HEADLINES[Math.floor(draw(2) * HEADLINES.length)]!(asset.symbol, topic),
        summary: `Simulated story about ${asset.symbol} and ${topic}.`,
        url: `https://news.example.com/sim/${asset.symbol.toLowerCase()}/${id}`,
        source: SOURCES[Math.floor(draw(3) * SOURCES.length)]!,
        publishedAt: (day - 1) * DAY_MS + Math.floor(draw(4) * DAY_MS),
        provider,
      });
    }
    return items.sort((a, b) => b.publishedAt - a.publishedAt);
  }

  /**
   * The earnings release of an equity in a week (weeks start Monday), if it
   * reports that week: on one of the week's trading days (a week without
   * one, which the NYSE has never had, has no releases).
   */
  earningsInWeek(
    symbol: string,
    week: number,
  ): (EarningsWireEvent & { readonly day: number }) | undefined {
    const h = hashString(`equity:${symbol}`);
    if (unit(hash32(this.seed, h, TAG.earnings, week)) >= this.earningsShare) return undefined;
    const tradingDays = this.#tradingDaysOfWeek(week);
    if (tradingDays.length === 0) return undefined;
    const pick = hash32(this.seed, h, TAG.earnings, week, 1);
    const day = tradingDays[pick % tradingDays.length]!;
    const date = isoDay(day);
    const session = (pick >>> 3) % 2 === 0 ? 'before-open' : 'after-close';
    return {
      symbol,
      assetType: 'equity',
      date,
      session,
      at: earningsInstant(this.calendar, date, session),
      day,
    };
  }

  /** The first earnings date on or after the day of `now`, looking a year ahead. */
  nextEarningsDate(symbol: string, now: number): string | undefined {
    const today = dayOf(now);
    const first = weekOf(today);
    for (let week = first; week <= first + 52; week += 1) {
      const event = this.earningsInWeek(symbol, week);
      if (event && event.day >= today) return event.date;
    }
    return undefined;
  }

  /**
   * Every equity in the universe reporting on the days from the day of
   * `from` to the day of `to` (inclusive), sorted by `at`, then symbol.
   */
  earningsCalendar(from: number, to: number): EarningsWireEvent[] {
    const firstDay = dayOf(from);
    const lastDay = dayOf(to);
    const events: EarningsWireEvent[] = [];
    for (let week = weekOf(firstDay); week <= weekOf(lastDay); week += 1) {
      for (const symbol of this.universe.equity) {
        const event = this.earningsInWeek(symbol, week);
        if (event && event.day >= firstDay && event.day <= lastDay) {
          const { day: _day, ...wire } = event;
          events.push(wire);
        }
      }
    }
    return events.sort((a, b) => a.at - b.at || a.symbol.localeCompare(b.symbol));
  }

  /**
   * UTC day numbers of the week's NYSE trading days (the date of a day number
   * is its exchange date). Outside the calendar's years (1998-2199) none: a
   * simulation run there has no earnings rather than a calendar error.
   */
  #tradingDaysOfWeek(week: number): number[] {
    const days: number[] = [];
    for (let day = mondayOf(week); day < mondayOf(week) + 5; day += 1) {
      const date = isoDay(day);
      const year = Number(date.slice(0, 4));
      if (year < 1998 || year > 2199) continue;
      if (this.calendar.isTradingDay(date)) days.push(day);
    }
    return days;
  }

  #dailyVol(asset: AssetRef): number {
    if (asset.assetType === 'crypto' && STABLECOINS.has(asset.symbol)) return 0.0005;
    return DAILY_VOL[asset.assetType];
  }

  #basePrice(asset: AssetRef, h: number): number {
    const known =
      asset.assetType === 'equity'
        ? WELL_KNOWN_EQUITIES[asset.symbol]
        : WELL_KNOWN_CRYPTO[asset.symbol];
    if (known) return known.price;
    const g = gaussian(hash32(this.seed, h, TAG.base));
    return asset.assetType === 'equity'
      ? Math.min(2000, Math.max(2, Math.exp(Math.log(60) + g)))
      : Math.exp(Math.log(1) + 2.5 * g);
  }
}
