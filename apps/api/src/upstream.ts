import type { AssetType, DataType } from '@fiml/market';
import type { BatchLoader, LoadResult } from '@fiml/cache';
import { providerOfValue, type ProviderRegistry } from '@fiml/providers';

/**
 * Adapts the provider registry to the cache's BatchLoader port: one loader
 * per (asset type, data type) route, batching up to the primary provider's
 * max batch size. Fallback between providers, rate limits and partial
 * failures stay the registry's business; the cache sees one result per symbol.
 */
export function registryLoaders(
  registry: ProviderRegistry,
): (dataType: DataType, assetType: AssetType) => BatchLoader | undefined {
  const loaders = new Map<string, BatchLoader | undefined>();
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
          { signal },
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
