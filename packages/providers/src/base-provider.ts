import { EventEmitter } from 'node:events';
import { SYMBOL_PATTERN, type DataType } from '@fiml/market';
import type { AssetRef, AssetResult, CallOutcome, DataValue } from './model.js';
import {
  serves,
  type FetchOptions,
  type MarketDataProvider,
  type ProviderCapabilities,
  type ProviderEvents,
  type ProviderResponse,
} from './provider.js';
import { ProviderError, ProviderErrorCode } from './provider-error.js';
import type { RateLimitWindow } from './rate-limit/rate-limit-window.js';

/**
 * What an adapter's {@link BaseProvider.fetchBatch} returns: results by
 * symbol, or an error for the whole call (throwing one works too). A
 * requested symbol left out gets an OMITTED error (the registry asks the next
 * provider): an adapter sets `not-found` only where its upstream positively
 * said the symbol does not exist. `latencyMs` is the modeled latency of the
 * simulator; absent means "measure the call".
 */
export type BatchAnswer =
  | { readonly results: ReadonlyMap<string, AssetResult>; readonly latencyMs?: number }
  | { readonly error: ProviderError; readonly latencyMs?: number };

/**
 * The result of a symbol a provider's answer left out: an error that moves on
 * to the next provider, never a not-found (which would be negative-cached).
 */
export function omitted(providerId: string, symbol: string, why = 'left it out'): AssetResult {
  return {
    status: 'error',
    error: new ProviderError(ProviderErrorCode.OMITTED, `the answer ${why}: ${symbol}`, {
      providerId,
    }),
  };
}

/** Counts a call's results and names its outcome. */
export function summarize(
  results: Iterable<AssetResult>,
  callError: ProviderError | undefined,
): { outcome: CallOutcome; ok: number; notFound: number; errors: number } {
  let ok = 0;
  let notFound = 0;
  let errors = 0;
  for (const result of results) {
    if (result.status === 'ok') ok += 1;
    else if (result.status === 'not-found') notFound += 1;
    else errors += 1;
  }
  let outcome: CallOutcome;
  if (callError)
    outcome = callError.code === ProviderErrorCode.RATE_LIMITED ? 'rate-limited' : 'error';
  else if (ok > 0) outcome = 'ok';
  else if (errors > 0) outcome = 'error';
  else outcome = 'not-found';
  return { outcome, ok, notFound, errors };
}

/**
 * The part every adapter shares, so each one only maps its API: symbol and
 * capability checks, the batch-size rule, turning anything thrown into a
 * {@link ProviderError} for every asset (never a rejection), and one `call`
 * event per upstream call.
 */
export abstract class BaseProvider
  extends EventEmitter<ProviderEvents>
  implements MarketDataProvider
{
  abstract readonly id: string;
  abstract readonly capabilities: ProviderCapabilities;
  abstract readonly maxBatchSize: number;
  abstract readonly rateLimits: readonly RateLimitWindow[];

  /**
   * One upstream call for at most `maxBatchSize` distinct, valid, supported
   * assets. Throw a {@link ProviderError} when the call fails as a whole.
   */
  protected abstract fetchBatch(
    dataType: DataType,
    assets: readonly AssetRef[],
    options: FetchOptions,
  ): Promise<BatchAnswer>;

  async fetch<D extends DataType>(
    dataType: D,
    assets: readonly AssetRef[],
    options: FetchOptions = {},
  ): Promise<ProviderResponse<DataValue<D>>> {
    const started = performance.now();
    const results = new Map<string, AssetResult>();
    const toCall: AssetRef[] = [];
    const seen = new Set<string>();
    for (const asset of assets) {
      if (seen.has(asset.symbol)) continue;
      seen.add(asset.symbol);
      if (!SYMBOL_PATTERN.test(asset.symbol)) {
        results.set(
          asset.symbol,
          this.#fail(
            ProviderErrorCode.INVALID_SYMBOL,
            `not a symbol: ${JSON.stringify(asset.symbol)}`,
          ),
        );
      } else if (!serves(this, asset.assetType, dataType)) {
        results.set(
          asset.symbol,
          this.#fail(
            ProviderErrorCode.UNSUPPORTED,
            `does not serve ${asset.assetType} ${dataType}`,
          ),
        );
      } else {
        toCall.push(asset);
      }
    }

    let callError: ProviderError | undefined;
    let modeledLatency: number | undefined;
    let called = false;
    if (toCall.length > this.maxBatchSize) {
      // Refused rather than split: every upstream call must pass the caller's rate limiter.
      callError = new ProviderError(
        ProviderErrorCode.BAD_REQUEST,
        `${toCall.length} symbols in one call; at most ${this.maxBatchSize}`,
        { providerId: this.id },
      );
    } else if (toCall.length > 0 && options.signal?.aborted) {
      // Cancelled before the call: nothing is sent upstream.
      callError = new ProviderError(ProviderErrorCode.ABORTED, 'cancelled before the call', {
        providerId: this.id,
        cause: options.signal.reason,
      });
    } else if (toCall.length > 0) {
      called = true;
      try {
        const answer = await this.fetchBatch(dataType, toCall, options);
        modeledLatency = answer.latencyMs;
        if ('error' in answer) {
          callError = answer.error;
        } else {
          for (const asset of toCall) {
            results.set(
              asset.symbol,
              answer.results.get(asset.symbol) ?? omitted(this.id, asset.symbol),
            );
          }
        }
      } catch (error) {
        callError = ProviderError.from(error, this.id);
      }
    }
    if (callError) {
      for (const asset of toCall) results.set(asset.symbol, { status: 'error', error: callError });
    }

    const latencyMs = modeledLatency ?? performance.now() - started;
    const callResults = toCall.map((a) => results.get(a.symbol)!);
    const summary = summarize(callResults, callError);
    if (called) {
      this.emit('call', {
        provider: this.id,
        dataType,
        symbols: toCall.length,
        latencyMs,
        outcome: summary.outcome,
        ok: summary.ok,
        notFound: summary.notFound,
        errors: summary.errors,
        ...(callError ? { errorCode: callError.code } : {}),
      });
    }
    const outcome =
      toCall.length > 0 ? summary.outcome : summarize(results.values(), undefined).outcome;
    return {
      provider: this.id,
      dataType,
      results: results as ReadonlyMap<string, AssetResult<DataValue<D>>>,
      latencyMs,
      outcome,
      ...(callError?.retryAfterMs === undefined ? {} : { retryAfterMs: callError.retryAfterMs }),
    };
  }

  #fail(code: ProviderErrorCode, message: string): AssetResult {
    return { status: 'error', error: new ProviderError(code, message, { providerId: this.id }) };
  }
}
