/**
 * The upstream-call lower bound of market-week.md: for each key, the fewest fetches that would
 * serve every one of its reads fresh (a fetch at the first read after the previous value expired,
 * fresh for the configuration's TTL without jitter), divided by the provider's max batch size,
 * summed per provider. No cache can do with fewer calls and answer every read fresh, since a
 * fetch earlier than the first read after expiry only ends sooner.
 */
import type { AssetType, DataType } from '@fiml/market';
import type { MarketWeek, WorkloadAsset } from '../workload/market-week.js';
import { PROVIDERS, type ProviderId } from './tally.js';

const DATA_TYPES: readonly DataType[] = ['price', 'fundamentals', 'news'];

function providerOf(assetType: AssetType, dataType: DataType): ProviderId {
  if (dataType !== 'price') return 'sim-reference';
  return assetType === 'equity' ? 'sim-equities' : 'sim-crypto';
}

export const MAX_BATCH: Record<ProviderId, number> = {
  'sim-equities': 100,
  'sim-crypto': 250,
  'sim-reference': 1,
};

export class LowerBound {
  readonly #expiry: Float64Array;
  readonly #n: number;
  readonly #days: MarketWeek['days'];
  /** fetches[provider][data type][day] */
  readonly #fetches: number[][][];
  readonly #ttlMs: (dataType: DataType, assetType: AssetType, at: number) => number;
  readonly #start: number;
  /** fetches[provider][hour of the week] */
  readonly hourly: number[][];

  constructor(
    week: Pick<MarketWeek, 'assets' | 'days' | 'weekStart'>,
    ttlMs: (dataType: DataType, assetType: AssetType, at: number) => number,
  ) {
    this.#n = week.assets.length;
    this.#days = week.days;
    this.#expiry = new Float64Array(3 * this.#n).fill(Number.NEGATIVE_INFINITY);
    this.#fetches = PROVIDERS.map(() =>
      DATA_TYPES.map(() => new Array<number>(week.days.length).fill(0)),
    );
    this.#ttlMs = ttlMs;
    this.#start = week.weekStart;
    this.hourly = PROVIDERS.map(() => new Array<number>(week.days.length * 24 + 2).fill(0));
  }

  /** One read of a key (data type index 0 price, 1 fundamentals, 2 news) at `at`. */
  read(dt: number, asset: WorkloadAsset, at: number): void {
    const i = dt * this.#n + asset.id;
    if (at < this.#expiry[i]!) return;
    const dataType = DATA_TYPES[dt]!;
    this.#expiry[i] = at + this.#ttlMs(dataType, asset.assetType, at);
    const p = PROVIDERS.indexOf(providerOf(asset.assetType, dataType));
    this.#fetches[p]![dt]![this.#dayOf(at)]! += 1;
    const hour = Math.min(this.hourly[p]!.length - 1, Math.floor((at - this.#start) / 3_600_000));
    this.hourly[p]![hour]! += 1;
  }

  /** Fetches (keys) of a provider, optionally of one data type and one day. */
  fetches(provider: ProviderId, dataType?: DataType, day?: number): number {
    const rows = this.#fetches[PROVIDERS.indexOf(provider)]!;
    let n = 0;
    for (const [dt, row] of rows.entries()) {
      if (dataType !== undefined && DATA_TYPES[dt] !== dataType) continue;
      for (const [d, count] of row.entries()) if (day === undefined || d === day) n += count;
    }
    return n;
  }

  /** The lower bound on calls: per provider, its fetches divided by its batch size (rounded up). */
  calls(options: { dataType?: DataType; day?: number; provider?: ProviderId } = {}): number {
    let total = 0;
    for (const provider of PROVIDERS) {
      if (options.provider !== undefined && provider !== options.provider) continue;
      total += Math.ceil(
        this.fetches(provider, options.dataType, options.day) / MAX_BATCH[provider],
      );
    }
    return total;
  }

  #dayOf(t: number): number {
    const days = this.#days;
    for (let d = days.length - 1; d >= 0; d--) if (t >= days[d]!.start) return d;
    return 0;
  }
}
