import type { AssetType, DataType } from '@fiml/market';
import type { CacheEntry } from '../l2/cache-entry.js';
import { BatchCoalescer } from './batch-coalescer.js';
import { NoLoaderError } from './cache-errors.js';
import type { FetchCoordinator, FetchItem, FetchSource } from './fetch-coordinator.js';
import type { BatchLoader, LoadResult } from './types.js';

/**
 * One coalescer per upstream route (asset type, data type): misses for
 * different symbols that arrive within the coalescing window become one
 * batch load of at most the loader's batch size, fetched through the
 * {@link FetchCoordinator}. A symbol the loader's answer leaves out is an
 * error for that symbol (never a cached not-found).
 */
export class RouteLoaders {
  readonly #loaderFor:
    ((dataType: DataType, assetType: AssetType) => BatchLoader | undefined) | undefined;
  readonly #coordinator: FetchCoordinator;
  readonly #windowMs: number;
  readonly #coalescers = new Map<string, BatchCoalescer<FetchItem, CacheEntry | Error>>();

  constructor(options: {
    loaderFor: ((dataType: DataType, assetType: AssetType) => BatchLoader | undefined) | undefined;
    coordinator: FetchCoordinator;
    windowMs: number;
  }) {
    this.#loaderFor = options.loaderFor;
    this.#coordinator = options.coordinator;
    this.#windowMs = options.windowMs;
  }

  /** Whether a loader serves the route. */
  serves(dataType: DataType, assetType: AssetType): boolean {
    return (
      this.#coalescers.has(`${assetType}:${dataType}`) || !!this.#loaderFor?.(dataType, assetType)
    );
  }

  /** Fetches one key through its route's coalescer; throws NoLoaderError for a route nobody serves. */
  fetcher(
    dataType: DataType,
    assetType: AssetType,
  ): (item: FetchItem) => Promise<CacheEntry | Error> {
    const coalescer = this.#coalescerFor(dataType, assetType);
    return (item) => coalescer.load(item);
  }

  #coalescerFor(
    dataType: DataType,
    assetType: AssetType,
  ): BatchCoalescer<FetchItem, CacheEntry | Error> {
    const id = `${assetType}:${dataType}`;
    let coalescer = this.#coalescers.get(id);
    if (coalescer) return coalescer;
    const loader = this.#loaderFor?.(dataType, assetType);
    if (!loader) throw new NoLoaderError(dataType, assetType);
    const source: FetchSource = {
      id: loader.id,
      load: async (items, signal) => {
        const bySymbol = await loader.load(
          dataType,
          items.map((i) => i.asset),
          { signal },
        );
        return new Map<string, LoadResult>(
          items.map((i) => [
            i.key,
            bySymbol.get(i.asset.symbol) ?? {
              error: new Error(`${loader.id} left ${i.asset.symbol} out of its answer`),
            },
          ]),
        );
      },
    };
    coalescer = new BatchCoalescer<FetchItem, CacheEntry | Error>({
      maxBatchSize: loader.maxBatchSize,
      windowMs: this.#windowMs,
      flush: async (items) => {
        const results = await this.#coordinator.fetch(source, dataType, items);
        return items.map((i) => results.get(i.key) ?? new Error(`no result for ${i.key}`));
      },
    });
    this.#coalescers.set(id, coalescer);
    return coalescer;
  }
}
