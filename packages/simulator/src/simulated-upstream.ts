import { type AssetType, type Clock, type DataType, SeededRandom, systemClock } from '@fiml/market';
import {
  type AssetRef,
  type DataValue,
  type LatencyModel,
  serves,
  SIMULATED_PROFILES,
  type SimulatedProfile,
  type SimulatedProfileName,
  SlidingWindowLog,
} from '@fiml/providers';
import { sampleLatency } from './random.js';
import type { SimulatedMarket } from './simulated-market.js';

export interface SimulatedUpstreamOptions {
  readonly market: SimulatedMarket;
  /** A profile name from market-week.md or a full profile. */
  readonly profile: SimulatedProfileName | SimulatedProfile;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Seeds the latency and failure draws. @defaultValue the market's seed mixed with the profile id */
  readonly seed?: number | string;
  /** Overrides of the profile. */
  readonly id?: string;
  readonly maxBatchSize?: number;
  readonly rateLimits?: SimulatedProfile['rateLimits'];
  readonly latency?: LatencyModel;
  /** Share of calls answered 5xx: 0 in tests unless a test is about failures. */
  readonly failureRate?: number;
}

/** What the simulated upstream answered to one call. */
export type UpstreamAnswer =
  | {
      readonly status: 'ok';
      readonly latencyMs: number;
      readonly asOf: number;
      readonly data: ReadonlyMap<string, DataValue>;
      readonly notFound: readonly string[];
    }
  | { readonly status: 'rate-limited'; readonly latencyMs: number; readonly retryAfterMs: number }
  | { readonly status: 'failed'; readonly latencyMs: number; readonly httpStatus: 500 | 502 | 503 }
  | { readonly status: 'bad-request'; readonly latencyMs: number; readonly message: string };

/**
 * One simulated upstream API (equities-batch, crypto-batch or
 * reference-single): the data of a {@link SimulatedMarket} behind that
 * upstream's batch size, rate limits (answered like a 429), failure rate and
 * latency model. It never sleeps: it reports the latency it models, and the
 * HTTP server or an in-process provider decides whether to wait it out.
 */
export class SimulatedUpstream {
  readonly profile: SimulatedProfile;
  readonly market: SimulatedMarket;
  readonly #clock: Clock;
  readonly #random: SeededRandom;
  readonly #limits: SlidingWindowLog;

  constructor(options: SimulatedUpstreamOptions) {
    const base =
      typeof options.profile === 'string' ? SIMULATED_PROFILES[options.profile] : options.profile;
    this.profile = {
      id: options.id ?? base.id,
      capabilities: base.capabilities,
      maxBatchSize: options.maxBatchSize ?? base.maxBatchSize,
      rateLimits: options.rateLimits ?? base.rateLimits,
      latency: options.latency ?? base.latency,
      failureRate: options.failureRate ?? base.failureRate,
      ...(base.earnings === undefined ? {} : { earnings: base.earnings }),
    };
    this.market = options.market;
    this.#clock = options.clock ?? systemClock;
    this.#random = new SeededRandom(options.seed ?? `${this.market.seed}:${this.profile.id}`);
    this.#limits = new SlidingWindowLog(this.profile.rateLimits);
  }

  get id(): string {
    return this.profile.id;
  }

  /** Answers one call, as the real upstream would, in this order: bad request, 429, 5xx, data. */
  call(dataType: DataType, assets: readonly AssetRef[]): UpstreamAnswer {
    const latencyMs = sampleLatency(this.profile.latency, this.#random);
    const unsupported = assets.find((a) => !serves(this.profile, a.assetType, dataType));
    if (assets.length === 0 || assets.length > this.profile.maxBatchSize) {
      return {
        status: 'bad-request',
        latencyMs,
        message: `between 1 and ${this.profile.maxBatchSize} symbols per call`,
      };
    }
    if (unsupported) {
      return {
        status: 'bad-request',
        latencyMs,
        message: `${this.id} does not serve ${unsupported.assetType} ${dataType}`,
      };
    }
    const now = this.#clock.now();
    const admitted = this.#limits.tryAcquire(now);
    if (!admitted.granted)
      return { status: 'rate-limited', latencyMs, retryAfterMs: admitted.retryAfterMs };
    // Drawn for every admitted call (also at rate 0) so a run's draws do not depend on the rate.
    const roll = this.#random.next();
    if (roll < this.profile.failureRate) return { status: 'failed', latencyMs, httpStatus: 503 };
    const data = new Map<string, DataValue>();
    const notFound: string[] = [];
    for (const asset of assets) {
      const value = this.#value(dataType, asset, now);
      if (value === undefined) notFound.push(asset.symbol);
      else data.set(asset.symbol, value);
    }
    return { status: 'ok', latencyMs, asOf: now, data, notFound };
  }

  /** The upstream's own view of its limits (what a real API's rate-limit headers would say). */
  budget(): ReturnType<SlidingWindowLog['remaining']> {
    return this.#limits.remaining(this.#clock.now());
  }

  serves(assetType: AssetType, dataType: DataType): boolean {
    return serves(this.profile, assetType, dataType);
  }

  #value(dataType: DataType, asset: AssetRef, now: number): DataValue | undefined {
    switch (dataType) {
      case 'price':
        return this.market.quote(asset, now, this.id);
      case 'fundamentals':
        return this.market.fundamentals(asset, now, this.id);
      case 'news':
        return this.market.news(asset, now, this.id);
    }
  }
}
