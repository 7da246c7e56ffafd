import { EventEmitter } from 'node:events';
import {
  cacheKey,
  type CacheEntry,
  type CacheWriter,
  type Fetched,
  type WriteOutcome,
} from '@fiml/cache';
import type { CacheWriteEventLike } from '@fiml/observability';
import { providerOfValue, type ProviderRegistry } from '@fiml/providers';
import type { RefreshRequest } from '@fiml/queue';

/** A symbol the job could not refresh, and why (upstream, or the cache Redis). */
export interface RefreshFailure {
  readonly symbol: string;
  readonly stage: 'fetch' | 'write';
  /** The provider error code (`FIML_PROVIDER_TIMEOUT`, ...), when the upstream failed. */
  readonly code?: string;
  readonly message: string;
}

/**
 * What one refresh job did, per symbol (the job's return value, shown on the
 * dashboard). Every distinct symbol is counted exactly once.
 */
export interface RefreshOutcome {
  readonly dataType: RefreshRequest['dataType'];
  readonly assetType: RefreshRequest['assetType'];
  /** Distinct symbols asked for. */
  readonly symbols: number;
  /** Values fetched and written to L2. */
  readonly written: number;
  /** Symbols the provider said do not exist, negative-cached. */
  readonly notFound: number;
  /** Not written: a value fetched later was already in L2 (newer wins). */
  readonly skippedNewer: number;
  /** Not written: the entry was already past its hard expiry. */
  readonly skippedExpired: number;
  /** Symbols that failed upstream or were not taken by the cache Redis. */
  readonly failed: number;
  readonly failures: readonly RefreshFailure[];
}

/** A refresh that wrote nothing because every symbol it could not skip failed; BullMQ retries it. */
export class RefreshFailedError extends Error {
  readonly code = 'FIML_REFRESH_FAILED';
  constructor(
    readonly failures: readonly RefreshFailure[],
    options?: { cause?: unknown },
  ) {
    const first = failures[0];
    super(
      `refresh wrote nothing: ${failures.length} symbol(s) failed` +
        (first ? ` (first: ${first.symbol} at ${first.stage}: ${first.message})` : ''),
      options,
    );
    this.name = 'RefreshFailedError';
  }
}

export interface RefreshConsumerOptions {
  /** Fetches through each (asset type, data type) route, with fallback and shared rate limits. */
  readonly providers: Pick<ProviderRegistry, 'fetch' | 'route'>;
  /** Writes newer-wins to L2 and publishes the invalidations. */
  readonly writer: Pick<CacheWriter, 'buildEntry' | 'write'>;
  /** Bound on one job's upstream fetch, fallback chain included. @defaultValue 15000 */
  readonly fetchTimeoutMs?: number;
}

/** Events of {@link RefreshConsumer}: `write` feeds fiml_cache_writes_total. */
export interface RefreshConsumerEvents {
  write: [event: CacheWriteEventLike];
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The batch-scheduler's refresh, until the real scheduler (grouping requests
 * per provider and data type, low-load windows) lands: each job's symbols are
 * fetched in one registry call under a deadline, turned into entries and
 * written newer-wins, so a refresh request always refreshes and a retried or
 * slow job never puts older data over newer.
 *
 * A job whose failures left nothing written fails, and BullMQ retries it; a
 * job that wrote something completes and lists its failures.
 */
export class RefreshConsumer extends EventEmitter<RefreshConsumerEvents> {
  readonly #providers: RefreshConsumerOptions['providers'];
  readonly #writer: RefreshConsumerOptions['writer'];
  readonly #fetchTimeoutMs: number;

  constructor(options: RefreshConsumerOptions) {
    super();
    this.#providers = options.providers;
    this.#writer = options.writer;
    this.#fetchTimeoutMs = options.fetchTimeoutMs ?? 15_000;
  }

  async refresh(request: RefreshRequest): Promise<RefreshOutcome> {
    const { dataType, assetType } = request;
    const { results } = await this.#providers.fetch(dataType, assetType, request.symbols, {
      signal: AbortSignal.timeout(this.#fetchTimeoutMs),
    });
    // A not-found answer names no provider: credit the route's first one, as the read path does.
    const primary = this.#providers.route(assetType, dataType)[0]?.id ?? 'unknown';

    const failures: RefreshFailure[] = [];
    const batch: { symbol: string; notFound: boolean; entry: [string, CacheEntry] }[] = [];
    let cause: unknown;
    for (const [symbol, result] of results) {
      if (result.status === 'error') {
        failures.push({
          symbol,
          stage: 'fetch',
          code: result.error.code,
          message: result.error.message,
        });
        cause ??= result.error;
        continue;
      }
      const fetched: Fetched =
        result.status === 'ok'
          ? { value: result.value, source: providerOfValue(result.value) ?? primary }
          : { notFound: true, source: primary };
      const entry = this.#writer.buildEntry(dataType, assetType, fetched, 'scheduler');
      batch.push({
        symbol,
        notFound: result.status === 'not-found',
        entry: [cacheKey(dataType, assetType, symbol), entry],
      });
    }

    const outcomes: WriteOutcome[] =
      batch.length === 0 ? [] : await this.#writer.write(batch.map((b) => b.entry));
    if (outcomes.length > 0) this.emit('write', { writer: 'scheduler', outcomes });
    let written = 0;
    let notFound = 0;
    let skippedNewer = 0;
    let skippedExpired = 0;
    outcomes.forEach((outcome, i) => {
      const item = batch[i]!;
      switch (outcome.status) {
        case 'written':
          if (item.notFound) notFound += 1;
          else written += 1;
          break;
        case 'skipped':
          if (outcome.reason === 'newer') skippedNewer += 1;
          else skippedExpired += 1;
          break;
        case 'failed':
          failures.push({ symbol: item.symbol, stage: 'write', message: message(outcome.error) });
          cause ??= outcome.error;
          break;
      }
    });

    if (failures.length > 0 && written + notFound === 0) {
      throw new RefreshFailedError(failures, { cause });
    }
    return {
      dataType,
      assetType,
      symbols: results.size,
      written,
      notFound,
      skippedNewer,
      skippedExpired,
      failed: failures.length,
      failures,
    };
  }
}
