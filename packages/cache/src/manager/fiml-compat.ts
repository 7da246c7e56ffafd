// The original FIML cache manager's method names, kept because its users know
// them (DESIGN.md): thin compositions of CacheManager's own reads and writes.
import { cacheKey } from '../cache-keys.js';
import type { CacheEntry } from '../l2/cache-entry.js';
import type { CacheManager } from './cache-manager.js';
import type { AssetKey, CacheRead } from './types.js';

/** One price to write with `setPricesBatch`. */
export interface PriceWrite {
  readonly asset: AssetKey;
  readonly provider: string;
  readonly data: unknown;
}

/** Cached prices of many assets, without fetching. */
export function getPricesBatch<V>(
  cache: CacheManager,
  assets: readonly AssetKey[],
): Promise<(CacheRead<V> | undefined)[]> {
  return cache.getMany<V>(assets.map((a) => cacheKey('price', a.assetType, a.symbol)));
}

/** Writes one asset's price with its dynamic TTL. */
export async function setPrice<V>(
  cache: CacheManager,
  asset: AssetKey,
  provider: string,
  data: V,
): Promise<CacheEntry<V>> {
  return cache.set(cacheKey('price', asset.assetType, asset.symbol), data, {
    dataType: 'price',
    source: provider,
    assetType: asset.assetType,
  });
}

/** Writes many prices in one L2 round trip. */
export function setPricesBatch(
  cache: CacheManager,
  items: readonly PriceWrite[],
): Promise<CacheEntry[]> {
  return cache.setMany(
    items.map(({ asset, provider, data }) => [
      cacheKey('price', asset.assetType, asset.symbol),
      data,
      { dataType: 'price', source: provider, assetType: asset.assetType },
    ]),
  );
}
