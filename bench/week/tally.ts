/**
 * The figures of one simulated configuration: reads by how they were answered, requests and
 * their latency, upstream calls and 429s, per day and per data type, and an hourly series for
 * the charts. Latencies go into the cache package's own LogLinearHistogram (0.8 % relative
 * error on any quantile, constant memory), the one the api's analytics use.
 */
import { LogLinearHistogram } from '@fiml/cache';
import { DATA_TYPES, type DataType } from '@fiml/market';

/** How one key read was answered. */
export const READ_OUTCOMES = [
  /** Fresh from L1 or L2: a hit. */
  'l1',
  'l2',
  /** Past freshness but inside its stale-while-revalidate grace: served at once, refreshed behind. */
  'l1-stale',
  'l2-stale',
  /** Fetched upstream (a miss that succeeded). */
  'upstream',
  /** The fetch failed (budget, 429, 5xx) and a stale-if-error entry stood in. */
  'stale-fallback',
  /** Nothing could answer it. */
  'failed',
] as const;
export type ReadOutcome = (typeof READ_OUTCOMES)[number];
const OUTCOME_INDEX = Object.fromEntries(READ_OUTCOMES.map((o, i) => [o, i])) as Record<
  ReadOutcome,
  number
>;

export const PROVIDERS = ['sim-equities', 'sim-crypto', 'sim-reference'] as const;
export type ProviderId = (typeof PROVIDERS)[number];
/** Who made an upstream call. */
export const CALLERS = ['read', 'scheduler', 'warm'] as const;
export type Caller = (typeof CALLERS)[number];

const histogram = (): LogLinearHistogram =>
  new LogLinearHistogram({ resolution: 0.0001, highest: 600_000, subBuckets: 64 });

/** Counters of one (day, data type) cell. */
export class Cell {
  readonly reads = new Float64Array(READ_OUTCOMES.length);
  requests = 0;
  failedRequests = 0;
  readonly latency = histogram();

  read(outcome: ReadOutcome): void {
    this.reads[OUTCOME_INDEX[outcome]]! += 1;
  }

  merge(other: Cell): this {
    for (let i = 0; i < this.reads.length; i++) this.reads[i]! += other.reads[i]!;
    this.requests += other.requests;
    this.failedRequests += other.failedRequests;
    this.latency.merge(other.latency);
    return this;
  }

  get totalReads(): number {
    let n = 0;
    for (const r of this.reads) n += r;
    return n;
  }

  count(outcome: ReadOutcome): number {
    return this.reads[OUTCOME_INDEX[outcome]]!;
  }
}

/** One hour of the simulated week, for the charts. */
export interface HourPoint {
  reads: number;
  freshHits: number;
  priceReads: number;
  priceFreshHits: number;
  readonly latency: LogLinearHistogram;
}

export class Tally {
  /** [day][data type] */
  readonly cells: Cell[][];
  /** [provider][day] */
  readonly calls: number[][];
  readonly rateLimited: number[][];
  /** [data type][day]: calls and 429s by the data type they fetched. */
  readonly callsByType: number[][];
  readonly rateLimitedByType: number[][];
  /** [provider][hour of the week]: calls, for the capacity check. */
  readonly callsByHour: number[][];
  /** Calls per caller, whole run. */
  readonly callsBy: Record<Caller, number> = { read: 0, scheduler: 0, warm: 0 };
  /** Symbols carried by calls, per provider. */
  readonly symbolsCarried: number[] = PROVIDERS.map(() => 0);
  /** Calls refused by the client-side budget (the api's reserve), per provider: no upstream call. */
  readonly budgetRefused: number[] = PROVIDERS.map(() => 0);
  readonly hours: HourPoint[];

  constructor(
    readonly days: number,
    readonly start: number,
  ) {
    this.cells = Array.from({ length: days }, () => DATA_TYPES.map(() => new Cell()));
    this.calls = PROVIDERS.map(() => new Array<number>(days).fill(0));
    this.rateLimited = PROVIDERS.map(() => new Array<number>(days).fill(0));
    this.callsByType = DATA_TYPES.map(() => new Array<number>(days).fill(0));
    this.rateLimitedByType = DATA_TYPES.map(() => new Array<number>(days).fill(0));
    this.callsByHour = PROVIDERS.map(() => new Array<number>(days * 24 + 2).fill(0));
    this.hours = Array.from({ length: days * 24 + 2 }, () => ({
      reads: 0,
      freshHits: 0,
      priceReads: 0,
      priceFreshHits: 0,
      latency: histogram(),
    }));
  }

  cell(day: number, dataType: DataType): Cell {
    return this.cells[day]![DATA_TYPE_INDEX[dataType]]!;
  }

  hour(at: number): HourPoint {
    return this.hours[this.hourIndex(at)]!;
  }

  rateLimit(provider: ProviderId, dataType: DataType, day: number): void {
    this.rateLimited[PROVIDER_INDEX[provider]]![day]! += 1;
    this.rateLimitedByType[DATA_TYPE_INDEX[dataType]]![day]! += 1;
  }

  typeCalls(dataType: DataType, day?: number): number {
    const row = this.callsByType[DATA_TYPE_INDEX[dataType]]!;
    return day === undefined ? row.reduce((a, b) => a + b, 0) : row[day]!;
  }

  type429(dataType: DataType, day?: number): number {
    const row = this.rateLimitedByType[DATA_TYPE_INDEX[dataType]]!;
    return day === undefined ? row.reduce((a, b) => a + b, 0) : row[day]!;
  }

  hourIndex(at: number): number {
    return Math.max(0, Math.min(this.hours.length - 1, Math.floor((at - this.start) / 3_600_000)));
  }

  call(
    provider: ProviderId,
    dataType: DataType,
    at: number,
    day: number,
    caller: Caller,
    symbols: number,
  ): void {
    const p = PROVIDER_INDEX[provider];
    this.calls[p]![day]! += 1;
    this.callsByType[DATA_TYPE_INDEX[dataType]]![day]! += 1;
    this.callsByHour[p]![this.hourIndex(at)]! += 1;
    this.callsBy[caller] += 1;
    this.symbolsCarried[p]! += symbols;
  }

  /** A column total over days: one data type, or every data type. */
  total(dataType?: DataType): Cell {
    const out = new Cell();
    for (const row of this.cells) {
      if (dataType === undefined) for (const c of row) out.merge(c);
      else out.merge(row[DATA_TYPE_INDEX[dataType]]!);
    }
    return out;
  }

  day(day: number): Cell {
    const out = new Cell();
    for (const c of this.cells[day]!) out.merge(c);
    return out;
  }

  providerCalls(provider: ProviderId, day?: number): number {
    const row = this.calls[PROVIDER_INDEX[provider]]!;
    return day === undefined ? row.reduce((a, b) => a + b, 0) : row[day]!;
  }

  provider429(provider: ProviderId, day?: number): number {
    const row = this.rateLimited[PROVIDER_INDEX[provider]]!;
    return day === undefined ? row.reduce((a, b) => a + b, 0) : row[day]!;
  }
}

export const DATA_TYPE_INDEX: Record<DataType, number> = { price: 0, fundamentals: 1, news: 2 };
export const PROVIDER_INDEX: Record<ProviderId, number> = {
  'sim-equities': 0,
  'sim-crypto': 1,
  'sim-reference': 2,
};
if (DATA_TYPES[DATA_TYPE_INDEX.price] !== 'price' || DATA_TYPES[DATA_TYPE_INDEX.news] !== 'news') {
  throw new Error('DATA_TYPES order changed: update DATA_TYPE_INDEX');
}
