import type { Clock, DataType } from '@fiml/market';
import {
  type AssetRef,
  type AssetResult,
  BaseProvider,
  type BatchAnswer,
  type EarningsEvent,
  exchangeDateRange,
  type FetchOptions,
  type LatencyModel,
  type ProviderCapabilities,
  ProviderError,
  ProviderErrorCode,
  type RateLimitWindow,
  SIMULATED_PROFILE_NAMES,
  type SimulatedProfile,
  type SimulatedProfileName,
} from '@fiml/providers';
import { SimulatedMarket } from './simulated-market.js';
import { SimulatedUpstream } from './simulated-upstream.js';

export interface SimulatedProviderOptions {
  /** A profile name from market-week.md, or a full profile. */
  readonly profile: SimulatedProfileName | SimulatedProfile;
  /** The market it serves; share one between the providers of a simulation. */
  readonly market: SimulatedMarket;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Seeds latency and failure draws. @defaultValue derived from the market seed and the id */
  readonly seed?: number | string;
  readonly id?: string;
  readonly maxBatchSize?: number;
  readonly rateLimits?: readonly RateLimitWindow[];
  readonly latency?: LatencyModel;
  /** Share of calls that fail with a 5xx. @defaultValue the profile's (0.005) */
  readonly failureRate?: number;
  /**
   * When given, each call waits its modeled latency through this function
   * (e.g. a real timer for demos). Without it calls return at once and only
   * report the modeled latency, so simulators can run in virtual time.
   */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A simulated upstream as an in-process provider: the same model the HTTP
 * server serves, without sockets. For simulators (virtual time: `latencyMs`
 * is modeled, nothing sleeps) and tests.
 */
export class SimulatedProvider extends BaseProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  readonly maxBatchSize: number;
  readonly rateLimits: readonly RateLimitWindow[];
  readonly upstream: SimulatedUpstream;
  /** Present when the profile publishes earnings (`earnings: true`): the market's calendar. */
  readonly earningsCalendar?: (
    from: number,
    to: number,
    options?: FetchOptions,
  ) => Promise<readonly EarningsEvent[]>;
  readonly #sleep: ((ms: number) => Promise<void>) | undefined;

  constructor(options: SimulatedProviderOptions) {
    super();
    this.upstream = new SimulatedUpstream({
      market: options.market,
      profile: options.profile,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
      ...(options.latency === undefined ? {} : { latency: options.latency }),
      ...(options.failureRate === undefined ? {} : { failureRate: options.failureRate }),
    });
    this.id = this.upstream.profile.id;
    this.capabilities = this.upstream.profile.capabilities;
    this.maxBatchSize = this.upstream.profile.maxBatchSize;
    this.rateLimits = this.upstream.profile.rateLimits;
    this.#sleep = options.sleep;
    if (this.upstream.profile.earnings) {
      this.earningsCalendar = (from, to, callOptions) =>
        this.#earningsCalendar(from, to, callOptions ?? {});
    }
  }

  /** The market's calendar over the exchange dates of `from` and `to`; free of rate limits and failures. */
  #earningsCalendar(from: number, to: number, { signal }: FetchOptions): Promise<EarningsEvent[]> {
    if (signal?.aborted) {
      return Promise.reject(
        new ProviderError(ProviderErrorCode.ABORTED, 'call cancelled (simulated)', {
          providerId: this.id,
          cause: signal.reason,
        }),
      );
    }
    const market = this.upstream.market;
    const dates = exchangeDateRange(market.calendar, from, to);
    const events = market.earningsCalendar(
      Date.parse(`${dates.from}T00:00:00Z`),
      Date.parse(`${dates.to}T00:00:00Z`),
    );
    return Promise.resolve(events.map((event) => ({ ...event, provider: this.id })));
  }

  protected async fetchBatch(
    dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer> {
    const answer = this.upstream.call(dataType, assets);
    const providerId = this.id;
    if (this.#sleep) await sleepUnlessAborted(this.#sleep(answer.latencyMs), options, providerId);
    const latencyMs = answer.latencyMs;
    switch (answer.status) {
      case 'rate-limited':
        return {
          latencyMs,
          error: new ProviderError(
            ProviderErrorCode.RATE_LIMITED,
            `429 (simulated); retry after ${answer.retryAfterMs} ms`,
            {
              providerId,
              status: 429,
              retryAfterMs: answer.retryAfterMs,
            },
          ),
        };
      case 'failed':
        return {
          latencyMs,
          error: new ProviderError(
            ProviderErrorCode.UPSTREAM,
            `${answer.httpStatus} (simulated failure)`,
            {
              providerId,
              status: answer.httpStatus,
            },
          ),
        };
      case 'bad-request':
        return {
          latencyMs,
          error: new ProviderError(
            ProviderErrorCode.BAD_REQUEST,
            `400 (simulated): ${answer.message}`,
            {
              providerId,
              status: 400,
            },
          ),
        };
      case 'ok': {
        const results = new Map<string, AssetResult>();
        for (const [symbol, value] of answer.data) results.set(symbol, { status: 'ok', value });
        for (const symbol of answer.notFound) results.set(symbol, { status: 'not-found' });
        return { results, latencyMs };
      }
    }
  }
}

/** Waits out a modeled latency, or throws ABORTED as soon as the caller's signal fires. */
async function sleepUnlessAborted(
  sleeping: Promise<void>,
  { signal }: FetchOptions,
  providerId: string,
): Promise<void> {
  if (!signal) return sleeping;
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(
        new ProviderError(ProviderErrorCode.ABORTED, 'call cancelled (simulated)', {
          providerId,
          cause: signal.reason,
        }),
      );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([sleeping, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export interface SimulatedProvidersOptions extends Pick<
  SimulatedProviderOptions,
  'clock' | 'failureRate' | 'sleep'
> {
  readonly seed: number | string;
  /** A market to share; by default one is made from `seed` with the market-week universe. */
  readonly market?: SimulatedMarket;
}

/** The three upstreams of market-week.md, in-process, over one market. */
export function createSimulatedProviders(options: SimulatedProvidersOptions): SimulatedProvider[] {
  const market = options.market ?? new SimulatedMarket({ seed: options.seed });
  return SIMULATED_PROFILE_NAMES.map(
    (profile) =>
      new SimulatedProvider({
        profile,
        market,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.failureRate === undefined ? {} : { failureRate: options.failureRate }),
        ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      }),
  );
}
