import { NyseCalendar, systemClock, type Clock, type DataType } from '@fiml/market';
import { BaseProvider, type BatchAnswer } from '../base-provider.js';
import { exchangeDateRange, type EarningsEvent } from '../earnings/earnings-event.js';
import { getJson, parseBody, type HttpJsonRequest } from '../http/http-json.js';
import type {
  AssetRef,
  AssetResult,
  DataValue,
  Fundamentals,
  NewsItem,
  PriceQuote,
} from '../model.js';
import type { FetchOptions, ProviderCapabilities } from '../provider.js';
import { ProviderError, ProviderErrorCode } from '../provider-error.js';
import type { RateLimitWindow } from '../rate-limit/rate-limit-window.js';
import {
  simDataResponseSchema,
  simEarningsResponseSchema,
  simErrorBodySchema,
} from '../sim/sim-wire.js';
import {
  SIMULATED_PROFILES,
  type SimulatedProfile,
  type SimulatedProfileName,
} from '../sim/simulated-profiles.js';
import { httpRequest, joinUrl, type HttpAdapterOptions } from './http-adapter-options.js';

export interface SimHttpProviderOptions extends HttpAdapterOptions {
  /** The simulator's URL (SIM_PROVIDER_URL). */
  readonly baseUrl: string;
  /** Which simulated upstream: a profile name from market-week.md, or a full profile. */
  readonly profile: SimulatedProfileName | SimulatedProfile;
  /** Exchange dates of earnings-calendar requests. @defaultValue a new NyseCalendar() */
  readonly calendar?: NyseCalendar;
}

/** The longest range the simulator's /v1/earnings answers. */
const MAX_CALENDAR_DAYS = 92;
const DAY_MS = 86_400_000;

/**
 * The HTTP adapter for the simulated provider server: the default upstream of
 * a local deployment, so the real HTTP path (timeouts, 429 + Retry-After,
 * 5xx, response validation) runs by default. Capabilities, batch size and
 * limits come from the profile, as a real adapter's come from the API's docs.
 */
export class SimHttpProvider extends BaseProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  readonly maxBatchSize: number;
  readonly rateLimits: readonly RateLimitWindow[];
  /** Present when the profile publishes earnings (`earnings: true`): GET /v1/earnings. */
  readonly earningsCalendar?: (
    from: number,
    to: number,
    options?: FetchOptions,
  ) => Promise<readonly EarningsEvent[]>;
  readonly #upstreamId: string;
  readonly #options: SimHttpProviderOptions;
  readonly #clock: Clock;

  constructor(options: SimHttpProviderOptions) {
    super();
    const profile =
      typeof options.profile === 'string' ? SIMULATED_PROFILES[options.profile] : options.profile;
    this.#upstreamId = profile.id;
    this.id = options.id ?? profile.id;
    this.capabilities = profile.capabilities;
    this.maxBatchSize = options.maxBatchSize ?? profile.maxBatchSize;
    this.rateLimits = options.rateLimits ?? profile.rateLimits;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    if (profile.earnings) {
      const calendar = options.calendar ?? new NyseCalendar();
      this.earningsCalendar = (from, to, callOptions) =>
        this.#earningsCalendar(calendar, from, to, callOptions ?? {});
    }
  }

  async #earningsCalendar(
    calendar: NyseCalendar,
    from: number,
    to: number,
    options: FetchOptions,
  ): Promise<EarningsEvent[]> {
    const dates = exchangeDateRange(calendar, from, to);
    const days =
      (Date.parse(`${dates.to}T00:00:00Z`) - Date.parse(`${dates.from}T00:00:00Z`)) / DAY_MS;
    if (days > MAX_CALENDAR_DAYS) {
      throw new ProviderError(
        ProviderErrorCode.BAD_REQUEST,
        `earnings calendar: at most ${MAX_CALENDAR_DAYS} days per call, asked for ${days}`,
        { providerId: this.id },
      );
    }
    const url = joinUrl(this.#options.baseUrl, '/v1/earnings');
    url.searchParams.set('from', dates.from);
    url.searchParams.set('to', dates.to);
    const request = this.#request(url, options);
    let response;
    try {
      response = await getJson(request);
    } catch (error) {
      throw this.#preciseRetryAfter(error);
    }
    const body = parseBody(simEarningsResponseSchema, response, request);
    return body.earnings.map((event) => ({ ...event, provider: this.id }));
  }

  #request(url: URL, options: FetchOptions): HttpJsonRequest {
    return httpRequest({
      providerId: this.id,
      options: this.#options,
      clock: this.#clock,
      url,
      call: options,
      headers: this.#options.apiKey ? { 'x-api-key': this.#options.apiKey } : {},
      defaultRetryAfterMs: 1_000,
    });
  }

  protected async fetchBatch(
    dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer> {
    const assetType = assets[0]!.assetType;
    if (assets.some((a) => a.assetType !== assetType)) {
      throw new ProviderError(ProviderErrorCode.BAD_REQUEST, 'one asset type per call', {
        providerId: this.id,
      });
    }
    const url = joinUrl(
      this.#options.baseUrl,
      `/v1/providers/${encodeURIComponent(this.#upstreamId)}/${dataType}`,
    );
    url.searchParams.set('assetType', assetType);
    url.searchParams.set('symbols', assets.map((a) => a.symbol).join(','));
    const request = this.#request(url, options);
    let response;
    try {
      response = await getJson(request);
    } catch (error) {
      throw this.#preciseRetryAfter(error);
    }
    const body = parseBody(simDataResponseSchema(dataType), response, request);
    const results = new Map<string, AssetResult>();
    for (const [symbol, value] of Object.entries(body.data)) {
      results.set(symbol, { status: 'ok', value: this.#relabel(value) });
    }
    for (const symbol of body.notFound) results.set(symbol, { status: 'not-found' });
    return { results };
  }

  /** The server's body carries the exact wait; the Retry-After header is rounded up to seconds. */
  #preciseRetryAfter(error: unknown): unknown {
    if (
      !(error instanceof ProviderError) ||
      error.code !== ProviderErrorCode.RATE_LIMITED ||
      !error.body
    )
      return error;
    let parsed;
    try {
      parsed = simErrorBodySchema.safeParse(JSON.parse(error.body));
    } catch {
      return error;
    }
    const retryAfterMs = parsed.success ? parsed.data.error.retryAfterMs : undefined;
    if (retryAfterMs === undefined) return error;
    return new ProviderError(
      ProviderErrorCode.RATE_LIMITED,
      `429 from the simulator; retry after ${retryAfterMs} ms`,
      {
        providerId: this.id,
        status: 429,
        retryAfterMs,
        body: error.body,
        cause: error,
      },
    );
  }

  /** Values name the provider that served them: ours, if this adapter was given another id. */
  #relabel(value: DataValue): DataValue {
    if (this.id === this.#upstreamId) return value;
    if (Array.isArray(value))
      return (value as readonly NewsItem[]).map((item) => ({ ...item, provider: this.id }));
    return { ...(value as PriceQuote | Fundamentals), provider: this.id };
  }
}
