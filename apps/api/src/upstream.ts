import type { AssetType, DataType } from '@fiml/market';
import type { BatchLoader, LoadResult } from '@fiml/cache';
import { providerOfValue, reservedCalls, type ProviderRegistry } from '@fiml/providers';

/**
 * How many calls of a provider's tightest window the api's read-through
 * leaves unspent for the batch-scheduler: `reservedCalls(limit)`, so the api
 * spends a call only while more than that many would be left after it. Never
 * so many that the api could not make a call at all (a 1- or 2-call window),
 * and undefined for a provider without limits.
 */
export function apiKeep(registry: ProviderRegistry, providerId: string): number | undefined {
  const windows = registry.limiter.windows(providerId);
  if (windows.length === 0) return undefined;
  const limit = Math.min(...windows.map((w) => w.limit));
  // A call needs keep + 1 calls left after it: limit - 2 is the most that still allows one.
  const keep = Math.min(reservedCalls(limit), limit - 2);
  return keep < 0 ? undefined : keep;
}

/**
 * Adapts the provider registry to the cache's BatchLoader port: one loader
 * per (asset type, data type) route, batching up to the primary provider's
 * max batch size. Fallback between providers, rate limits and partial
 * failures stay the registry's business; the cache sees one result per symbol.
 * A miss leaves each provider's reserve ({@link apiKeep}) to the
 * batch-scheduler: a refused symbol fails with BUDGET_EXHAUSTED, which the
 * data routes answer with 503 and a queued refresh.
 */
export function registryLoaders(
  registry: ProviderRegistry,
): (dataType: DataType, assetType: AssetType) => BatchLoader | undefined {
  const loaders = new Map<string, BatchLoader | undefined>();
  // Limits are fixed once the registry is built: computed once per provider.
  const keeps = new Map<string, number | undefined>();
  const keep = (providerId: string): number | undefined => {
    if (!keeps.has(providerId)) keeps.set(providerId, apiKeep(registry, providerId));
    return keeps.get(providerId);
  };
  return (dataType, assetType) => {
    const id = `${assetType}:${dataType}`;
    if (loaders.has(id)) return loaders.get(id);
    const route = registry.route(assetType, dataType);
    const primary = route[0];
    const loader: BatchLoader | undefined = primary && {
      id,
      maxBatchSize: primary.maxBatchSize,
      load: async (type, assets, { signal }) => {
        // The cache aborts at its hard fetch timeout: the registry stops its
        // calls and fallbacks then instead of spending rate limit on an answer no one awaits.
        const { results } = await registry.fetch(
          type,
          assetType,
          assets.map((a) => a.symbol),
          { signal, keep },
        );
        const out = new Map<string, LoadResult>();
        for (const asset of assets) {
          const result = results.get(asset.symbol);
          if (!result) out.set(asset.symbol, { error: new Error(`no result for ${asset.symbol}`) });
          else if (result.status === 'ok') {
            out.set(asset.symbol, {
              value: result.value,
              source: providerOfValue(result.value) ?? primary.id,
            });
          } else if (result.status === 'not-found') {
            out.set(asset.symbol, { notFound: true, source: primary.id });
          } else out.set(asset.symbol, { error: result.error });
        }
        return out;
      },
    };
    loaders.set(id, loader);
    return loader;
  };
}
