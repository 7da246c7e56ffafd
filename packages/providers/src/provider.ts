import type { AssetType, DataType } from '@fiml/market';
import type { EarningsEvent } from './earnings/earnings-event.js';
import type { AssetRef, AssetResult, CallOutcome, DataValue } from './model.js';
import type { RateLimitWindow } from './rate-limit/rate-limit-window.js';

/** What a provider serves. A (asset type, data type) pair is served when both lists hold it. */
export interface ProviderCapabilities {
  readonly assetTypes: readonly AssetType[];
  readonly dataTypes: readonly DataType[];
}

export interface FetchOptions {
  /** Cancels the call; assets then get a `FIML_PROVIDER_ABORTED` error. */
  readonly signal?: AbortSignal;
}

/** The answer to one upstream call. */
export interface ProviderResponse<V = DataValue> {
  readonly provider: string;
  readonly dataType: DataType;
  /** One entry per distinct requested symbol, keyed by the symbol as requested. */
  readonly results: ReadonlyMap<string, AssetResult<V>>;
  /**
   * How long the call took. For HTTP adapters the measured round trip; for the
   * in-process simulator the modeled latency (it does not sleep), so
   * simulators can run in virtual time.
   */
  readonly latencyMs: number;
  readonly outcome: CallOutcome;
  /** Set when the upstream refused the call with a 429: when it allows the next one. */
  readonly retryAfterMs?: number;
}

/**
 * The provider port. One implementation per upstream API (and per simulated
 * upstream). Its contract:
 *
 * - `fetch` never rejects. A failed call yields an `error` result for every
 *   asset; a symbol the provider does not know yields `not-found` for that
 *   symbol only; a partial failure does not fail the batch.
 * - At most `maxBatchSize` assets per call: larger calls are refused with a
 *   `FIML_PROVIDER_BAD_REQUEST` error per asset (the registry splits batches,
 *   so every upstream call goes through the rate limiter).
 * - `rateLimits` are the upstream's documented limits; the caller enforces
 *   them (see RateLimiter). The provider itself does not wait or throttle.
 * - `earningsCalendar` is an optional capability: present only on providers
 *   whose upstream publishes one (see {@link hasEarningsCalendar}).
 */
export interface MarketDataProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  readonly maxBatchSize: number;
  readonly rateLimits: readonly RateLimitWindow[];
  fetch<D extends DataType>(
    dataType: D,
    assets: readonly AssetRef[],
    options?: FetchOptions,
  ): Promise<ProviderResponse<DataValue<D>>>;
  /**
   * Scheduled earnings releases on the exchange dates from the date of `from`
   * to the date of `to` (epoch ms, both days included, America/New_York),
   * sorted by `at` then symbol. Unlike `fetch` it rejects, with a
   * ProviderError, when the upstream fails: there is no per-asset answer to
   * carry the error. One upstream call per invocation (the caller takes the
   * rate-limit permit, see ProviderRegistry.earningsCalendar).
   */
  readonly earningsCalendar?: (
    from: number,
    to: number,
    options?: FetchOptions,
  ) => Promise<readonly EarningsEvent[]>;
}

/** A provider with the earnings-calendar capability. */
export type EarningsCalendarProvider = MarketDataProvider &
  Required<Pick<MarketDataProvider, 'earningsCalendar'>>;

/** Whether a provider publishes an earnings calendar. */
export function hasEarningsCalendar(
  provider: MarketDataProvider,
): provider is EarningsCalendarProvider {
  return typeof provider.earningsCalendar === 'function';
}

/** Emitted once per upstream call (and per call the provider refused without calling). */
export interface ProviderCallEvent {
  readonly provider: string;
  readonly dataType: DataType;
  /** Symbols in the call. */
  readonly symbols: number;
  readonly latencyMs: number;
  readonly outcome: CallOutcome;
  /** Per-asset counts of the call's results. */
  readonly ok: number;
  readonly notFound: number;
  readonly errors: number;
  /** The error code when the call failed as a whole. */
  readonly errorCode?: string;
}

/** Event map of providers (and of the registry, which forwards `call`). */
export interface ProviderEvents {
  call: [event: ProviderCallEvent];
}

/** Whether a provider serves a pair. */
export function serves(
  provider: Pick<MarketDataProvider, 'capabilities'>,
  assetType: AssetType,
  dataType: DataType,
): boolean {
  return (
    provider.capabilities.assetTypes.includes(assetType) &&
    provider.capabilities.dataTypes.includes(dataType)
  );
}
