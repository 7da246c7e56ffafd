import { EventEmitter } from 'node:events';
import {
  ASSET_TYPES,
  DATA_TYPES,
  normalizeSymbol,
  type AssetType,
  type Clock,
  type DataType,
} from '@fiml/market';
import type { Logger } from '@fiml/runtime';
import { omitted, summarize } from '../base-provider.js';
import { earningsKey, type EarningsEvent } from '../earnings/earnings-event.js';
import type { AssetResult, CallOutcome, DataValue } from '../model.js';
import {
  hasEarningsCalendar,
  serves,
  type FetchOptions,
  type MarketDataProvider,
  type ProviderCallEvent,
  type ProviderResponse,
} from '../provider.js';
import { ProviderConfigError, UnknownProviderError } from '../provider-config-error.js';
import { ProviderError, ProviderErrorCode } from '../provider-error.js';
import { RateLimiter, type RateBudget } from '../rate-limit/rate-limiter.js';
import { matchRoute, parseRouteKey, type ProviderRoutes } from './routes.js';

export interface ProviderRegistryOptions {
  readonly providers: readonly MarketDataProvider[];
  /** `<assetType>:<dataType>` -> provider ids in fallback order (see {@link matchRoute}). */
  readonly routes: ProviderRoutes;
  /**
   * The shared limiter. Providers it has no windows for get their own
   * `rateLimits`. @defaultValue a process-local limiter over the providers' limits
   */
  readonly limiter?: RateLimiter;
  /** The clock of the default limiter. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Upstream calls one `fetch` runs at once (a batch split into many chunks). @defaultValue 4 */
  readonly concurrency?: number;
  readonly logger?: Logger;
}

/**
 * The share of each rate window the api's read-through leaves to the
 * batch-scheduler: the api passes `keep = reservedCalls(limit)` of the tightest
 * window, so its misses stop before the last `reservedCalls(limit) + 1` calls
 * and those go to the scheduler, which pools many waiting symbols into one
 * call (5/min: the api spends 2, leaves 3). floor(limit × 0.5).
 */
export function reservedCalls(limit: number): number {
  return Math.floor(limit * 0.5);
}

/** Options of {@link ProviderRegistry.fetch}. */
export interface RegistryFetchOptions extends FetchOptions {
  /**
   * Which symbols that failed at a provider move on to the next provider of
   * the route. Those it refuses end with that provider's error. The
   * batch-scheduler keeps low-priority symbols on the primary provider, so
   * they never spend a fallback's budget. @defaultValue every failed symbol
   */
  readonly fallback?: (symbol: string) => boolean;
  /**
   * A call is made only if the provider's tightest window would still have
   * more than `keep` calls left after it; otherwise no call, and every symbol
   * of the chunk gets BUDGET_EXHAUSTED with `retryAfterMs` (when the window has
   * freed enough) and a `throttled` event is emitted. Atomic with the shared
   * limiter (see RateLimiter.tryAcquire). A number applies to every provider
   * of the route; a function gives each provider its own.
   * @defaultValue undefined: a call may spend a window's last permit
   */
  readonly keep?: number | ((providerId: string) => number | undefined);
}

/** Emitted when the limiter refused a call before it was made. */
export interface ThrottledEvent {
  readonly provider: string;
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbols: number;
  readonly retryAfterMs: number;
  readonly reason: 'window' | 'penalty';
}

/** Emitted when symbols move on to the next provider of their route. */
export interface FallbackEvent {
  readonly from: string;
  readonly to: string;
  readonly dataType: DataType;
  readonly assetType: AssetType;
  readonly symbols: number;
}

/** Event map of {@link ProviderRegistry}: observability subscribes here. */
export interface ProviderRegistryEvents {
  call: [event: ProviderCallEvent];
  throttled: [event: ThrottledEvent];
  fallback: [event: FallbackEvent];
}

/** One upstream call a registry fetch made. */
export interface CallRecord {
  readonly provider: string;
  readonly symbols: number;
  readonly latencyMs: number;
  readonly outcome: CallOutcome;
}

export interface RegistryFetchResult<V = DataValue> {
  /**
   * One result per distinct requested symbol, keyed by the normalized symbol
   * (a symbol that does not normalize is keyed as given, with an
   * INVALID_SYMBOL error). An error is the last provider's error.
   */
  readonly results: ReadonlyMap<string, AssetResult<V>>;
  /** Every upstream call made, in completion order (for latency accounting in simulators). */
  readonly calls: readonly CallRecord[];
}

/** Options of {@link ProviderRegistry.earningsCalendar}. */
export interface EarningsCalendarOptions extends FetchOptions {
  /**
   * As in {@link RegistryFetchOptions.keep}: a provider's calendar is asked
   * only while its tightest window keeps more than this many calls after it.
   * @defaultValue undefined: it may spend a window's last permit
   */
  readonly keep?: number | ((providerId: string) => number | undefined);
}

/** What the registry's providers say about earnings over a range. */
export interface EarningsCalendarResult {
  /**
   * Releases from every provider that answered, one per symbol and date (the
   * first provider in registration order wins a disagreement), sorted by `at`
   * then symbol.
   */
  readonly events: readonly EarningsEvent[];
  /** Providers with the capability that answered. */
  readonly answered: readonly string[];
  /** Providers with the capability that failed (or had no budget), with why. */
  readonly errors: readonly { readonly provider: string; readonly error: ProviderError }[];
}

/**
 * The provider's answer, or undefined as soon as `signal` fires: a provider
 * that ignores the signal cannot hold the caller. Its late answer is dropped.
 */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  if (!signal) return promise;
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The answer recorded for a call cancelled in flight: ABORTED for each of its symbols. */
function abortedCall(
  providerId: string,
  dataType: DataType,
  batch: readonly string[],
  latencyMs: number,
  signal: AbortSignal | undefined,
): ProviderResponse {
  const error = new ProviderError(ProviderErrorCode.ABORTED, 'call cancelled in flight', {
    providerId,
    cause: signal?.reason,
  });
  return {
    provider: providerId,
    dataType,
    results: new Map(batch.map((symbol) => [symbol, { status: 'error', error } as const])),
    latencyMs,
    outcome: 'error',
  };
}

/** A symbol left without an answer by an abort; keeps the error it had before, if any. */
function abortError(last: ProviderError | undefined, signal: AbortSignal): ProviderError {
  if (last?.code === ProviderErrorCode.ABORTED) return last;
  return new ProviderError(ProviderErrorCode.ABORTED, 'fetch cancelled before an answer', {
    providerId: last?.providerId ?? 'registry',
    cause: last ?? signal.reason,
  });
}

/**
 * Routes (asset type, data type) to an ordered list of providers and fetches
 * through them: splits batches to each provider's `maxBatchSize`, takes a
 * permit from the shared limiter for every call, penalizes a provider that
 * answered 429, and moves symbols whose provider was rate-limited, failed or
 * left them out on to the next provider of the route (not-found is an answer
 * and stays). An aborted fetch stops at once. Built from configuration; a bad
 * configuration fails in the constructor.
 */
export class ProviderRegistry extends EventEmitter<ProviderRegistryEvents> {
  readonly limiter: RateLimiter;
  readonly routes: ProviderRoutes;
  readonly #providers: ReadonlyMap<string, MarketDataProvider>;
  readonly #concurrency: number;
  readonly #log: Logger | undefined;

  constructor(options: ProviderRegistryOptions) {
    super();
    const providers = new Map<string, MarketDataProvider>();
    for (const provider of options.providers) {
      if (providers.has(provider.id))
        throw new ProviderConfigError(`Two providers have the id "${provider.id}".`);
      providers.set(provider.id, provider);
    }
    this.#providers = providers;
    this.routes = options.routes;
    this.#validateRoutes();
    this.limiter =
      options.limiter ?? new RateLimiter(options.clock ? { clock: options.clock } : {});
    for (const provider of providers.values()) {
      if (!this.limiter.has(provider.id)) this.limiter.define(provider.id, provider.rateLimits);
    }
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#log = options.logger?.child({ component: 'provider-registry' });
  }

  /** Every registered provider. */
  providers(): readonly MarketDataProvider[] {
    return [...this.#providers.values()];
  }

  provider(id: string): MarketDataProvider | undefined {
    return this.#providers.get(id);
  }

  /** The providers tried for a pair, in order: the matching route, less those that do not serve it. */
  route(assetType: AssetType, dataType: DataType): readonly MarketDataProvider[] {
    const ids = matchRoute(this.routes, assetType, dataType) ?? [];
    return ids.map((id) => this.#providers.get(id)!).filter((p) => serves(p, assetType, dataType));
  }

  /** A provider's remaining budget, for planning (see RateLimiter.remaining). */
  remaining(providerId: string): Promise<RateBudget> {
    return this.limiter.remaining(providerId);
  }

  /**
   * The earnings calendar over the exchange dates of `from` to `to` (epoch
   * ms), gathered from every provider with the capability, one call each
   * under its rate limit. Never rejects: no provider with the capability
   * yields an empty result, a failing provider is logged and listed in
   * `errors`, and the others' events are still returned.
   */
  async earningsCalendar(
    from: number,
    to: number,
    options: EarningsCalendarOptions = {},
  ): Promise<EarningsCalendarResult> {
    const sources = [...this.#providers.values()].filter(hasEarningsCalendar);
    const callOptions: FetchOptions = options.signal ? { signal: options.signal } : {};
    const answers = await Promise.all(
      sources.map(async (provider) => {
        try {
          const keep =
            typeof options.keep === 'function' ? options.keep(provider.id) : options.keep;
          const permit = await this.limiter.tryAcquire(
            provider.id,
            1,
            keep === undefined ? {} : { keep },
          );
          if (!permit.granted) {
            throw new ProviderError(
              ProviderErrorCode.BUDGET_EXHAUSTED,
              `rate limit budget spent (${permit.reason}); next call in ${permit.retryAfterMs} ms`,
              { providerId: provider.id, retryAfterMs: permit.retryAfterMs },
            );
          }
          const events = await untilAborted(
            provider.earningsCalendar(from, to, callOptions),
            options.signal,
          );
          if (events === undefined) {
            throw new ProviderError(ProviderErrorCode.ABORTED, 'earnings calendar cancelled', {
              providerId: provider.id,
              cause: options.signal?.reason,
            });
          }
          return { provider: provider.id, events } as const;
        } catch (error) {
          const wrapped = ProviderError.from(error, provider.id);
          this.#log?.warn(
            { provider: provider.id, err: wrapped },
            'earnings calendar failed; planning without it',
          );
          return { provider: provider.id, error: wrapped } as const;
        }
      }),
    );
    const byKey = new Map<string, EarningsEvent>();
    const answered: string[] = [];
    const errors: { provider: string; error: ProviderError }[] = [];
    for (const answer of answers) {
      if ('error' in answer) {
        errors.push({ provider: answer.provider, error: answer.error });
        continue;
      }
      answered.push(answer.provider);
      for (const event of answer.events) {
        const key = earningsKey(event);
        if (!byKey.has(key)) byKey.set(key, event);
      }
    }
    const events = [...byKey.values()].sort(
      (a, b) => a.at - b.at || a.symbol.localeCompare(b.symbol),
    );
    return { events, answered, errors };
  }

  /**
   * Fetches symbols of one asset type through their route. Never rejects
   * (a `keep` that is not an integer >= 0 is a caller's bug: RangeError).
   * When `options.signal` fires it stops at once: calls in flight are
   * cancelled (and not awaited), no further chunk, permit or fallback
   * provider is started, and every symbol without an answer yet gets a
   * `FIML_PROVIDER_ABORTED` error (whose cause is the symbol's earlier error, if any).
   */
  async fetch<D extends DataType>(
    dataType: D,
    assetType: AssetType,
    symbols: readonly string[],
    options: RegistryFetchOptions = {},
  ): Promise<RegistryFetchResult<DataValue<D>>> {
    const results = new Map<string, AssetResult>();
    const calls: CallRecord[] = [];
    let pending: string[] = [];
    const seen = new Set<string>();
    for (const raw of symbols) {
      const symbol = normalizeSymbol(raw);
      if (symbol === undefined) {
        results.set(raw, {
          status: 'error',
          error: new ProviderError(
            ProviderErrorCode.INVALID_SYMBOL,
            `not a symbol: ${JSON.stringify(raw)}`,
            { providerId: 'registry' },
          ),
        });
      } else if (!seen.has(symbol)) {
        seen.add(symbol);
        pending.push(symbol);
      }
    }
    const chain = this.route(assetType, dataType);
    const lastError = new Map<string, ProviderError>();
    if (chain.length === 0 && pending.length > 0) {
      const error = new ProviderError(
        ProviderErrorCode.NO_ROUTE,
        `no provider configured for ${assetType}:${dataType}`,
        {
          providerId: 'registry',
        },
      );
      for (const symbol of pending) lastError.set(symbol, error);
    }

    const { signal, fallback } = options;
    // Only the signal reaches the providers; the rest is the registry's business.
    const callOptions: FetchOptions = signal ? { signal } : {};
    for (let i = 0; i < chain.length && pending.length > 0 && !signal?.aborted; i += 1) {
      const provider = chain[i]!;
      const failed = new Set<string>();
      const chunks = chunk(pending, provider.maxBatchSize);
      const keep = typeof options.keep === 'function' ? options.keep(provider.id) : options.keep;
      const acquire = keep === undefined ? {} : { keep };
      const runChunk = async (batch: string[]): Promise<void> => {
        // Aborted: the chunk is not started and asks the limiter for nothing.
        if (signal?.aborted) return;
        const permit = await this.limiter.tryAcquire(provider.id, 1, acquire);
        if (!permit.granted) {
          const error = new ProviderError(
            ProviderErrorCode.BUDGET_EXHAUSTED,
            `rate limit budget spent (${permit.reason}); next call in ${permit.retryAfterMs} ms`,
            { providerId: provider.id, retryAfterMs: permit.retryAfterMs },
          );
          for (const symbol of batch) {
            lastError.set(symbol, error);
            failed.add(symbol);
          }
          this.emit('throttled', {
            provider: provider.id,
            dataType,
            assetType,
            symbols: batch.length,
            retryAfterMs: permit.retryAfterMs,
            reason: permit.reason,
          });
          return;
        }
        // Aborted while the limiter answered: the permit is spent, the call is not made.
        if (signal?.aborted) return;
        const started = performance.now();
        let response: ProviderResponse;
        try {
          response =
            (await untilAborted(
              provider.fetch(
                dataType,
                batch.map((symbol) => ({ symbol, assetType })),
                callOptions,
              ),
              signal,
            )) ?? abortedCall(provider.id, dataType, batch, performance.now() - started, signal);
        } catch (error) {
          // The port says fetch never rejects; a provider that does anyway must not break the batch.
          const wrapped = ProviderError.from(error, provider.id);
          response = {
            provider: provider.id,
            dataType,
            results: new Map(
              batch.map((symbol) => [symbol, { status: 'error', error: wrapped } as const]),
            ),
            latencyMs: 0,
            outcome: 'error',
          };
        }
        // Only a provider's positive not-found is an answer; a symbol it left out moves on.
        const batchResults = batch.map(
          (symbol) => response.results.get(symbol) ?? omitted(provider.id, symbol),
        );
        const firstError = batchResults.find((r) => r.status === 'error');
        const summary = summarize(batchResults, undefined);
        calls.push({
          provider: provider.id,
          symbols: batch.length,
          latencyMs: response.latencyMs,
          outcome: response.outcome,
        });
        this.emit('call', {
          provider: provider.id,
          dataType,
          symbols: batch.length,
          latencyMs: response.latencyMs,
          outcome: response.outcome,
          ok: summary.ok,
          notFound: summary.notFound,
          errors: summary.errors,
          ...(firstError?.status === 'error' && response.outcome !== 'ok'
            ? { errorCode: firstError.error.code }
            : {}),
        });
        if (response.outcome === 'rate-limited') {
          // Every process stops calling this provider until the upstream's Retry-After has passed.
          await this.limiter.penalize(provider.id, response.retryAfterMs ?? 60_000);
        }
        batch.forEach((symbol, j) => {
          const result = batchResults[j]!;
          if (result.status === 'error') {
            lastError.set(symbol, result.error);
            failed.add(symbol);
          } else {
            results.set(symbol, result);
          }
        });
      };
      await this.#runLimited(chunks, runChunk);
      // Answered symbols are done; the rest (failed, or never asked because of an abort) go on,
      // unless the caller keeps them off the next provider: they end with this one's error.
      pending = pending.filter((s) => !results.has(s));
      const next = chain[i + 1];
      if (next && fallback && !signal?.aborted) {
        const staying = pending.filter((s) => !fallback(s));
        for (const symbol of staying) {
          results.set(symbol, { status: 'error', error: lastError.get(symbol)! });
          failed.delete(symbol);
        }
        if (staying.length > 0) pending = pending.filter((s) => !results.has(s));
      }
      if (failed.size > 0 && next && !signal?.aborted) {
        this.#log?.debug(
          { from: provider.id, to: next.id, symbols: failed.size },
          'falling back to the next provider',
        );
        this.emit('fallback', {
          from: provider.id,
          to: next.id,
          dataType,
          assetType,
          symbols: failed.size,
        });
      }
    }
    for (const symbol of pending) {
      const last = lastError.get(symbol);
      const error = signal?.aborted ? abortError(last, signal) : last!;
      results.set(symbol, { status: 'error', error });
    }
    return { results: results as ReadonlyMap<string, AssetResult<DataValue<D>>>, calls };
  }

  async #runLimited<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next]!;
        next += 1;
        await run(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, items.length) }, worker));
  }

  #validateRoutes(): void {
    const known = [...this.#providers.keys()];
    for (const [key, ids] of Object.entries(this.routes)) {
      const route = parseRouteKey(key);
      if (ids.length === 0) throw new ProviderConfigError(`Route "${key}" names no provider.`);
      const assetTypes = route.assetType === '*' ? ASSET_TYPES : [route.assetType];
      const dataTypes = route.dataType === '*' ? DATA_TYPES : [route.dataType];
      for (const id of ids) {
        const provider = this.#providers.get(id);
        if (!provider) throw new UnknownProviderError(id, known, `route "${key}"`);
        // A wildcard route may hold a provider serving part of it; one serving none of it is a mistake.
        const servesAny = assetTypes.some((a) => dataTypes.some((d) => serves(provider, a, d)));
        if (!servesAny) {
          throw new ProviderConfigError(
            `Route "${key}" names "${id}", which serves ${provider.capabilities.assetTypes.join('/')} ` +
              `${provider.capabilities.dataTypes.join('/')} only.`,
          );
        }
      }
    }
  }
}
