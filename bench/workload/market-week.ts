/**
 * The market-week request stream (../shared/workloads/market-week.md), generated lazily from a
 * seed. A default week is about 11 million requests (27 million asset reads): the stream is an
 * iterator and never held in memory.
 *
 *   const week = new MarketWeek({ seed: 1 });
 *   for (const request of week) { ... }           // time order, epoch ms in `request.at`
 *   week.earningsCalendar()                        // the x20 names, as the providers report them
 *   new MarketWeek({ seed: 1, window: { from: '2026-11-23T09:00:00-05:00', to: '2026-11-23T11:00:00-05:00' } })
 *
 * The model, parameter by parameter (every one an option, defaults from the workload file):
 *
 * - Universe: `simulatedUniverse(seed)` of @fiml/providers (well-known names first, then seeded
 *   tickers), so the simulated provider with the same seed knows every symbol asked for.
 * - Popularity: Zipf(s) over ranks (s = 1.1 equities, 1.0 crypto). Day 0 ranks the universe in
 *   its order; at each later local midnight `dailyReshuffle` of the equity rank positions (5 %,
 *   chosen at random) swap their symbols among themselves in a random permutation, so names
 *   from the tail land on hot ranks.
 * - Earnings: the simulated market's own calendar for the seed (`SimulatedMarket.earningsCalendar`),
 *   so the warmer and the workload see the same releases: each equity reports in a week with
 *   probability `earningsShare` (2 %), on one of the week's trading days. On that exchange date its
 *   request rate is multiplied by `earningsMultiplier` (x20) from the regular open to the close.
 *   The boost adds to the profile's rate (the other names keep theirs).
 * - Rate: a step function of New York local time (luxon, DST-correct) given as periods between
 *   clock times or the day's `open` / `close` from the NYSE calendar (so the Friday after
 *   Thanksgiving closes at 13:00: the 10:30-15:00 period ends at the close and 15:00-close is
 *   empty). Periods nominally inside regular hours are clipped to the day's session, the others
 *   to the hours outside it. Holidays and weekends run at `offDayShare` (3 %) of the peak,
 *   `offDayCryptoShare` (80 %, "mostly crypto") of it crypto.
 * - Crypto on trading days: a flat rate, `cryptoShare` (10 %) of a full trading day's requests
 *   spread evenly over 24 hours (3.1 requests/s at the defaults); equities take the rest of the
 *   profile's rate at each instant (never below zero).
 * - Arrivals: a Poisson process per period (exponential gaps), crypto and equity superposed;
 *   each arrival is a batch read with probability `batchShare` (5 %) of `batchMin`..`batchMax`
 *   (10-50, uniform) distinct assets of one asset type and one data type, else a single read.
 *   Data types 85 / 10 / 5 % price / news / fundamentals, per request.
 *
 * Determinism: each (day, period) draws from its own generator seeded from (seed, day, period),
 * so a time window yields exactly the requests of the full week that fall inside it (the
 * generator replays its period from the period's start and drops what is before the window).
 */
import { DateTime } from 'luxon';
import { AssetType, DataType, NyseCalendar } from '@fiml/market';
import { type EarningsWireEvent } from '@fiml/providers';
import { SimulatedMarket } from '@fiml/simulator';
import { Prng } from '../lib/prng.js';

const ZONE = 'America/New_York';

/** One period of the trading-day rate profile: from a local time to another, at a share of the peak. */
export interface RatePeriod {
  /** Local "HH:MM", or the day's regular `open` / `close` from the NYSE calendar. */
  readonly from: string;
  /** Local "HH:MM" ("24:00" is the next midnight), `open` or `close`. */
  readonly to: string;
  /** Share of `peakRate`, 0..1 or above. */
  readonly share: number;
}

/** The trading-day profile of market-week.md. */
export const MARKET_WEEK_PROFILE: readonly RatePeriod[] = Object.freeze([
  { from: '00:00', to: '04:00', share: 0.05 },
  { from: '04:00', to: 'open', share: 0.3 },
  { from: 'open', to: '10:30', share: 1 },
  { from: '10:30', to: '15:00', share: 0.6 },
  { from: '15:00', to: 'close', share: 0.9 },
  { from: 'close', to: '20:00', share: 0.2 },
  { from: '20:00', to: '24:00', share: 0.05 },
]);

export interface DataTypeMix {
  readonly price: number;
  readonly news: number;
  readonly fundamentals: number;
}

export interface MarketWeekOptions {
  /** Seeds everything: the universe, earnings, reshuffles and arrivals. @defaultValue 1 */
  readonly seed?: number;
  /** @defaultValue 3000 */
  readonly equities?: number;
  /** @defaultValue 100 */
  readonly crypto?: number;
  /** Zipf exponent of equity popularity. @defaultValue 1.1 */
  readonly equityZipf?: number;
  /** Zipf exponent of crypto popularity. @defaultValue 1.0 */
  readonly cryptoZipf?: number;
  /** Share of equity rank positions reshuffled at each local midnight after the first day. @defaultValue 0.05 */
  readonly dailyReshuffle?: number;
  /** Share of equities with an earnings release in a week (expected; per name, as the simulated market draws it). @defaultValue 0.02 */
  readonly earningsShare?: number;
  /** Rate multiplier of an earnings name on its day, open to close. @defaultValue 20 */
  readonly earningsMultiplier?: number;
  /** First local day, "YYYY-MM-DD" (America/New_York). @defaultValue '2026-11-23' */
  readonly startDate?: string;
  /** Number of local days. @defaultValue 7 */
  readonly days?: number;
  /** Requests per second at share 1. @defaultValue 100 */
  readonly peakRate?: number;
  /** Trading-day rate profile. @defaultValue MARKET_WEEK_PROFILE */
  readonly profile?: readonly RatePeriod[];
  /** Rate on weekends and holidays, as a share of the peak. @defaultValue 0.03 */
  readonly offDayShare?: number;
  /** Share of the weekend/holiday rate that is crypto. @defaultValue 0.8 */
  readonly offDayCryptoShare?: number;
  /** Crypto's share of a full trading day's requests, at a flat rate. @defaultValue 0.1 */
  readonly cryptoShare?: number;
  /** @defaultValue { price: 0.85, news: 0.1, fundamentals: 0.05 } */
  readonly dataTypes?: DataTypeMix;
  /** Share of requests that are batch reads. @defaultValue 0.05 */
  readonly batchShare?: number;
  /** @defaultValue 10 */
  readonly batchMin?: number;
  /** @defaultValue 50 */
  readonly batchMax?: number;
  /**
   * Only the requests at or after `from` and before `to` (epoch ms or ISO instants with an
   * offset). @defaultValue the whole week
   */
  readonly window?: { readonly from?: number | string; readonly to?: number | string };
}

/** Every option resolved, as results print them. */
export type MarketWeekParameters = Required<Omit<MarketWeekOptions, 'window'>> & {
  readonly window: { readonly from: string; readonly to: string };
};

export const MARKET_WEEK_DEFAULTS: Required<Omit<MarketWeekOptions, 'window'>> = Object.freeze({
  seed: 1,
  equities: 3000,
  crypto: 100,
  equityZipf: 1.1,
  cryptoZipf: 1.0,
  dailyReshuffle: 0.05,
  earningsShare: 0.02,
  earningsMultiplier: 20,
  startDate: '2026-11-23',
  days: 7,
  peakRate: 100,
  profile: MARKET_WEEK_PROFILE,
  offDayShare: 0.03,
  offDayCryptoShare: 0.8,
  cryptoShare: 0.1,
  dataTypes: Object.freeze({ price: 0.85, news: 0.1, fundamentals: 0.05 }),
  batchShare: 0.05,
  batchMin: 10,
  batchMax: 50,
});

/** An asset as the request names it; one frozen object per universe symbol. */
export interface WorkloadAsset {
  readonly assetType: AssetType;
  readonly symbol: string;
  /** Dense index into `MarketWeek.assets` (equities first, in universe order), for array bookkeeping. */
  readonly id: number;
}

/** One request of the stream. */
export interface WorkloadRequest {
  /** Epoch ms of the arrival (virtual time). */
  readonly at: number;
  readonly dataType: DataType;
  /** All of one asset type; one asset for a single read, 10-50 distinct ones for a batch. */
  readonly assetType: AssetType;
  readonly assets: readonly WorkloadAsset[];
  readonly batch: boolean;
}

/** A stretch of time at constant rates (requests per second). */
export interface RateSegment {
  /** Index of the local day from `startDate`. */
  readonly day: number;
  readonly date: string;
  readonly dayStatus: 'trading' | 'weekend' | 'holiday';
  /** Index of the segment within its day (the profile period, or 0 on an off day). */
  readonly index: number;
  readonly start: number;
  readonly end: number;
  /** The profile's share of the peak (the off-day share on weekends and holidays). */
  readonly share: number;
  readonly equityRate: number;
  readonly cryptoRate: number;
  /** The extra rate the earnings names add (x multiplier - 1 on their base rate). */
  readonly earningsRate: number;
}

interface Sampler {
  /** Cumulative weights, last = total. */
  readonly cdf: Float64Array;
  readonly total: number;
}

function zipfSampler(n: number, s: number): Sampler {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += (k + 1) ** -s;
    cdf[k] = total;
  }
  return { cdf, total };
}

function draw(sampler: Sampler, u: number): number {
  const { cdf } = sampler;
  const target = u * sampler.total;
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** splitmix-style mixing of a seed and indices into one 32-bit seed. */
function mixSeed(...parts: readonly number[]): number {
  let h = 0x2545f491;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

const STREAM = { arrivals: 1, content: 2, reshuffle: 3 } as const;

function toInstant(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${what} is not a finite epoch ms: ${value}`);
    return value;
  }
  const parsed = DateTime.fromISO(value, { setZone: true });
  if (!parsed.isValid || !/(?:Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    throw new RangeError(`${what} must be epoch ms or an ISO instant with an offset, got ${value}`);
  }
  return parsed.toMillis();
}

function assertShare(value: number, what: string, max = 1): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= max)) {
    throw new RangeError(`${what} must be between 0 and ${max}, got ${value}`);
  }
}

function assertPositiveInt(value: number, what: string): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`${what} must be a positive integer, got ${value}`);
  }
}

const CLOCK = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;

/** Minutes after midnight of a profile boundary on a nominal day (open 09:30, close 16:00). */
function nominalMinutes(boundary: string): number {
  if (boundary === 'open') return 9 * 60 + 30;
  if (boundary === 'close') return 16 * 60;
  if (!CLOCK.test(boundary)) {
    throw new RangeError(`a profile boundary is "HH:MM", "open" or "close", got "${boundary}"`);
  }
  return Number(boundary.slice(0, 2)) * 60 + Number(boundary.slice(3, 5));
}

function assertProfile(profile: readonly RatePeriod[]): void {
  if (profile.length === 0) throw new RangeError('the rate profile has no periods');
  let previous = 0;
  for (const [i, period] of profile.entries()) {
    const from = nominalMinutes(period.from);
    const to = nominalMinutes(period.to);
    if (from !== previous) {
      throw new RangeError(
        `rate profile period ${i} starts at ${period.from}; periods must follow each other from 00:00`,
      );
    }
    if (to <= from) throw new RangeError(`rate profile period ${i} ends before it starts`);
    assertShare(period.share, `rate profile period ${i} share`, 100);
    previous = to;
  }
  if (previous !== 24 * 60) throw new RangeError('the rate profile must end at 24:00');
}

/**
 * The market-week request stream of a seed. Iterate it (or `requests()`) for the requests in
 * time order; the other members describe the week for reports and for the simulators.
 */
export class MarketWeek implements Iterable<WorkloadRequest> {
  readonly parameters: MarketWeekParameters;
  readonly calendar: NyseCalendar;
  readonly market: SimulatedMarket;
  /** Equity then crypto assets, in universe order (the initial ranks); `id` is the index here. */
  readonly assets: readonly WorkloadAsset[];
  /** First instant of the week (local midnight of `startDate`) and the instant after its last day. */
  readonly weekStart: number;
  readonly weekEnd: number;
  /** The requested window, clipped to the week. */
  readonly from: number;
  readonly to: number;
  /** The local days: date, range and status. */
  readonly days: readonly {
    readonly date: string;
    readonly start: number;
    readonly end: number;
    readonly status: 'trading' | 'weekend' | 'holiday';
    readonly open?: number;
    readonly close?: number;
  }[];

  readonly #equity: readonly WorkloadAsset[];
  readonly #crypto: readonly WorkloadAsset[];
  readonly #equityZipf: Sampler;
  readonly #cryptoZipf: Sampler;
  readonly #earnings: readonly EarningsWireEvent[];
  readonly #segments: readonly RateSegment[];
  /** rank -> equity index, per day. */
  readonly #rankings: readonly Int32Array[];
  /** Per trading day: the earnings names (equity indices) and their weights. */
  readonly #earningsByDay: readonly { names: Int32Array; sampler: Sampler }[];
  readonly #dataCdf: readonly [number, number];

  constructor(options: MarketWeekOptions = {}) {
    const o = { ...MARKET_WEEK_DEFAULTS, ...definedOnly(options) };
    if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
    assertPositiveInt(o.equities, 'equities');
    assertPositiveInt(o.crypto, 'crypto');
    assertPositiveInt(o.days, 'days');
    assertShare(o.equityZipf, 'equityZipf', 10);
    assertShare(o.cryptoZipf, 'cryptoZipf', 10);
    assertShare(o.dailyReshuffle, 'dailyReshuffle');
    assertShare(o.earningsShare, 'earningsShare');
    if (!(Number.isFinite(o.earningsMultiplier) && o.earningsMultiplier >= 1)) {
      throw new RangeError(`earningsMultiplier must be >= 1, got ${o.earningsMultiplier}`);
    }
    if (!(Number.isFinite(o.peakRate) && o.peakRate > 0)) {
      throw new RangeError(`peakRate must be > 0 requests/s, got ${o.peakRate}`);
    }
    assertProfile(o.profile);
    assertShare(o.offDayShare, 'offDayShare', 100);
    assertShare(o.offDayCryptoShare, 'offDayCryptoShare');
    assertShare(o.cryptoShare, 'cryptoShare');
    assertShare(o.batchShare, 'batchShare');
    const mix = o.dataTypes;
    for (const k of ['price', 'news', 'fundamentals'] as const)
      assertShare(mix[k], `dataTypes.${k}`);
    const mixTotal = mix.price + mix.news + mix.fundamentals;
    if (Math.abs(mixTotal - 1) > 1e-9) {
      throw new RangeError(`dataTypes must add up to 1, got ${mixTotal}`);
    }
    assertPositiveInt(o.batchMin, 'batchMin');
    assertPositiveInt(o.batchMax, 'batchMax');
    if (o.batchMin > o.batchMax) throw new RangeError('batchMin must be <= batchMax');
    if (o.batchMax > o.equities || (o.batchMax > o.crypto && o.batchShare > 0)) {
      throw new RangeError(
        `batchMax (${o.batchMax}) must not exceed the universe of either asset type (${o.equities} equities, ${o.crypto} crypto)`,
      );
    }
    const first = DateTime.fromISO(o.startDate, { zone: ZONE });
    if (!/^\d{4}-\d{2}-\d{2}$/.test(o.startDate) || !first.isValid) {
      throw new RangeError(`startDate must be "YYYY-MM-DD", got "${o.startDate}"`);
    }

    this.calendar = new NyseCalendar();
    this.market = new SimulatedMarket({
      seed: o.seed,
      equities: o.equities,
      crypto: o.crypto,
      earningsShare: o.earningsShare,
      calendar: this.calendar,
    });
    let id = 0;
    const asset = (assetType: AssetType, symbol: string): WorkloadAsset =>
      Object.freeze({ assetType, symbol, id: id++ });
    this.#equity = this.market.universe.equity.map((s) => asset(AssetType.EQUITY, s));
    this.#crypto = this.market.universe.crypto.map((s) => asset(AssetType.CRYPTO, s));
    this.assets = [...this.#equity, ...this.#crypto];
    this.#equityZipf = zipfSampler(o.equities, o.equityZipf);
    this.#cryptoZipf = zipfSampler(o.crypto, o.cryptoZipf);
    this.#dataCdf = [mix.price, mix.price + mix.news];

    // Local days, DST-correct (a day is 23 or 25 hours on a switch day).
    const days: MarketWeek['days'][number][] = [];
    for (let d = 0; d < o.days; d++) {
      const start = first.plus({ days: d }).startOf('day');
      const date = start.toISODate();
      const day = this.calendar.exchangeDay(date);
      const regular = day.sessions?.regular;
      days.push({
        date,
        start: day.range.start,
        end: day.range.end,
        status: day.status,
        ...(regular ? { open: regular.start, close: regular.end } : {}),
      });
    }
    this.days = days;
    this.weekStart = days[0]!.start;
    this.weekEnd = days.at(-1)!.end;
    const from = Math.max(
      this.weekStart,
      toInstant(o.window?.from ?? this.weekStart, 'window.from'),
    );
    const to = Math.min(this.weekEnd, toInstant(o.window?.to ?? this.weekEnd, 'window.to'));
    if (to < from) throw new RangeError('window.to is before window.from');
    this.from = from;
    this.to = to;

    this.#earnings = this.market.earningsCalendar(
      Date.parse(`${days[0]!.date}T00:00:00Z`),
      Date.parse(`${days.at(-1)!.date}T00:00:00Z`),
    );
    this.#rankings = this.#buildRankings(o.seed, o.equities, o.days, o.dailyReshuffle);
    this.#earningsByDay = this.#buildEarnings(o.equityZipf);
    this.#segments = this.#buildSegments(o);
    this.parameters = Object.freeze({
      ...o,
      window: {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
      },
    });
  }

  /** The earnings releases of the week (the names whose rate is x`earningsMultiplier` on their date). */
  earningsCalendar(): readonly EarningsWireEvent[] {
    return this.#earnings;
  }

  /** Equity symbols by rank (most popular first) on a day of the week (0-based). */
  equityRanking(day: number): readonly string[] {
    const ranking = this.#rankings[Math.max(0, Math.min(this.#rankings.length - 1, day))]!;
    return Array.from(ranking, (i) => this.#equity[i]!.symbol);
  }

  /** The constant-rate stretches of the week (not clipped to the window). */
  segments(): readonly RateSegment[] {
    return this.#segments;
  }

  /** The expected number of requests in the window (the Poisson means summed). */
  expectedRequests(): number {
    let total = 0;
    for (const s of this.#segments) {
      const overlap = Math.max(0, Math.min(s.end, this.to) - Math.max(s.start, this.from));
      total += ((s.equityRate + s.cryptoRate + s.earningsRate) * overlap) / 1000;
    }
    return total;
  }

  /**
   * The expected rate (per second) of single reads of one key at an instant, from the model's
   * rates and popularity: for checks. Batch reads are left out because a batch names a symbol
   * once, which caps the hottest names' share of batch reads below their popularity.
   */
  expectedSingleReadRate(asset: WorkloadAsset, dataType: DataType, at: number): number {
    const segment = this.#segmentAt(at);
    if (segment === undefined) return 0;
    const p = this.parameters;
    const singles = (1 - p.batchShare) * p.dataTypes[dataType];
    if (asset.assetType === AssetType.CRYPTO) {
      const rank = asset.id - this.#equity.length;
      return (
        segment.cryptoRate * singles * (weight(this.#cryptoZipf, rank) / this.#cryptoZipf.total)
      );
    }
    const rank = this.#rankings[segment.day]!.indexOf(asset.id);
    const base = weight(this.#equityZipf, rank) / this.#equityZipf.total;
    const boosted =
      segment.earningsRate > 0 && this.#earningsByDay[segment.day]!.names.includes(asset.id);
    return segment.equityRate * singles * base * (boosted ? p.earningsMultiplier : 1);
  }

  [Symbol.iterator](): Iterator<WorkloadRequest> {
    return this.requests();
  }

  /** The requests in the window, in time order. */
  *requests(): Generator<WorkloadRequest, void, undefined> {
    const p = this.parameters;
    for (const segment of this.#segments) {
      if (segment.end <= this.from || segment.start >= this.to) continue;
      const total = segment.equityRate + segment.cryptoRate + segment.earningsRate;
      if (total <= 0) continue;
      const meanGapMs = 1000 / total;
      const cryptoCut = segment.cryptoRate / total;
      const equityTotal = segment.equityRate + segment.earningsRate;
      const earningsCut = equityTotal > 0 ? segment.earningsRate / equityTotal : 0;
      const ranking = this.#rankings[segment.day]!;
      const earnings = this.#earningsByDay[segment.day]!;
      const arrivals = new Prng(mixSeed(p.seed, STREAM.arrivals, segment.day, segment.index));
      const content = new Prng(mixSeed(p.seed, STREAM.content, segment.day, segment.index));
      // An equity read is an earnings name's extra read (weighted by its popularity) with the
      // earnings share of the equity rate, else a draw from the day's Zipf ranking.
      const pickEquity = (): WorkloadAsset =>
        content.next() < earningsCut
          ? this.#equity[earnings.names[draw(earnings.sampler, content.next())]!]!
          : this.#equity[ranking[draw(this.#equityZipf, content.next())]!]!;
      const pickCrypto = (): WorkloadAsset => this.#crypto[draw(this.#cryptoZipf, content.next())]!;
      let t = segment.start;
      for (;;) {
        t += -Math.log(1 - arrivals.next()) * meanGapMs;
        if (t >= segment.end || t >= this.to) break;
        const crypto = content.next() < cryptoCut;
        const pick = crypto ? pickCrypto : pickEquity;
        const u = content.next();
        const dataType =
          u < this.#dataCdf[0]
            ? DataType.PRICE
            : u < this.#dataCdf[1]
              ? DataType.NEWS
              : DataType.FUNDAMENTALS;
        const batch = content.next() < p.batchShare;
        let assets: WorkloadAsset[];
        if (batch) {
          const size = p.batchMin + content.nextInt(p.batchMax - p.batchMin + 1);
          const chosen = new Set<WorkloadAsset>();
          // Distinct assets; a draw that repeats one is drawn again (a watchlist names a symbol once).
          while (chosen.size < size) chosen.add(pick());
          assets = [...chosen];
        } else {
          assets = [pick()];
        }
        if (t < this.from) continue;
        yield {
          at: Math.floor(t),
          dataType,
          assetType: crypto ? AssetType.CRYPTO : AssetType.EQUITY,
          assets,
          batch,
        };
      }
    }
  }

  #segmentAt(at: number): RateSegment | undefined {
    return this.#segments.find((s) => at >= s.start && at < s.end);
  }

  #buildRankings(seed: number, n: number, days: number, reshuffle: number): Int32Array[] {
    const rankings: Int32Array[] = [];
    let current = new Int32Array(n);
    for (let i = 0; i < n; i++) current[i] = i;
    rankings.push(current);
    const k = Math.round(reshuffle * n);
    for (let d = 1; d < days; d++) {
      const next = current.slice();
      const rng = new Prng(mixSeed(seed, STREAM.reshuffle, d));
      // k distinct rank positions (partial Fisher-Yates), then a random permutation of their symbols.
      const positions = new Int32Array(n);
      for (let i = 0; i < n; i++) positions[i] = i;
      for (let i = 0; i < k; i++) {
        const j = i + rng.nextInt(n - i);
        const t = positions[i]!;
        positions[i] = positions[j]!;
        positions[j] = t;
      }
      const chosen = positions.subarray(0, k);
      const symbols = Array.from(chosen, (pos) => current[pos]!);
      for (let i = symbols.length - 1; i > 0; i--) {
        const j = rng.nextInt(i + 1);
        const t = symbols[i]!;
        symbols[i] = symbols[j]!;
        symbols[j] = t;
      }
      for (let i = 0; i < k; i++) next[chosen[i]!] = symbols[i]!;
      rankings.push(next);
      current = next;
    }
    return rankings;
  }

  #buildEarnings(s: number): { names: Int32Array; sampler: Sampler }[] {
    const index = new Map(this.#equity.map((a) => [a.symbol, a.id]));
    return this.days.map((day, d) => {
      const ranking = this.#rankings[d]!;
      const rankOf = new Int32Array(ranking.length);
      for (let r = 0; r < ranking.length; r++) rankOf[ranking[r]!] = r;
      const names = Int32Array.from(
        this.#earnings.filter((e) => e.date === day.date).map((e) => index.get(e.symbol)!),
      );
      const cdf = new Float64Array(names.length);
      let total = 0;
      for (let i = 0; i < names.length; i++) {
        total += (rankOf[names[i]!]! + 1) ** -s;
        cdf[i] = total;
      }
      return { names, sampler: { cdf, total } };
    });
  }

  #buildSegments(o: Required<Omit<MarketWeekOptions, 'window'>>): RateSegment[] {
    // Crypto's flat trading-day rate: its share of a full trading day's requests, over 24 hours.
    let fullDayShareHours = 0;
    for (const period of o.profile) {
      fullDayShareHours +=
        (period.share * (nominalMinutes(period.to) - nominalMinutes(period.from))) / 60;
    }
    const cryptoRate = (o.cryptoShare * o.peakRate * fullDayShareHours) / 24;
    const segments: RateSegment[] = [];
    for (const [d, day] of this.days.entries()) {
      if (day.status !== 'trading') {
        const total = o.offDayShare * o.peakRate;
        segments.push({
          day: d,
          date: day.date,
          dayStatus: day.status,
          index: 0,
          start: day.start,
          end: day.end,
          share: o.offDayShare,
          equityRate: total * (1 - o.offDayCryptoShare),
          cryptoRate: total * o.offDayCryptoShare,
          earningsRate: 0,
        });
        continue;
      }
      const open = day.open!;
      const close = day.close!;
      const local = DateTime.fromMillis(day.start, { zone: ZONE });
      const at = (boundary: string): number => {
        if (boundary === 'open') return open;
        if (boundary === 'close') return close;
        if (boundary === '24:00') return day.end;
        return local
          .set({ hour: Number(boundary.slice(0, 2)), minute: Number(boundary.slice(3, 5)) })
          .toMillis();
      };
      const earnings = this.#earningsByDay[d]!;
      const earningsWeight = earnings.sampler.total / this.#equityZipf.total;
      for (const [index, period] of o.profile.entries()) {
        const nominalFrom = nominalMinutes(period.from);
        const nominalTo = nominalMinutes(period.to);
        const inSession = nominalFrom >= 9 * 60 + 30 && nominalTo <= 16 * 60;
        let start = at(period.from);
        let end = at(period.to);
        if (inSession) {
          start = Math.max(start, open);
          end = Math.min(end, close);
        } else if (nominalTo <= 9 * 60 + 30) {
          end = Math.min(end, open);
        } else if (nominalFrom >= 16 * 60) {
          start = Math.max(start, close);
        }
        if (end <= start) continue;
        const equityRate = Math.max(0, period.share * o.peakRate - cryptoRate);
        const boosted = inSession && start >= open && end <= close;
        segments.push({
          day: d,
          date: day.date,
          dayStatus: 'trading',
          index,
          start,
          end,
          share: period.share,
          equityRate,
          cryptoRate,
          earningsRate: boosted ? (o.earningsMultiplier - 1) * equityRate * earningsWeight : 0,
        });
      }
    }
    return segments;
  }
}

function weight(sampler: Sampler, rank: number): number {
  if (rank < 0) return 0;
  return sampler.cdf[rank]! - (rank === 0 ? 0 : sampler.cdf[rank - 1]!);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}

/**
 * Maps virtual time onto a compressed wall-clock schedule for replay: the request at `at` is due
 * `(at - origin) / factor` ms after the replay starts. A factor of 60 plays a market open's hour
 * in a minute.
 */
export function compressedOffset(at: number, origin: number, factor: number): number {
  if (!(Number.isFinite(factor) && factor > 0)) {
    throw new RangeError(`compression factor must be > 0, got ${factor}`);
  }
  return (at - origin) / factor;
}

/** Every symbol's logical cache key for a data type: `<dataType>:<assetType>:<SYMBOL>`. */
export function workloadKey(dataType: DataType, asset: WorkloadAsset): string {
  return `${dataType}:${asset.assetType}:${asset.symbol}`;
}
