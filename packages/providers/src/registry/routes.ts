import {
  ASSET_TYPES,
  DATA_TYPES,
  isAssetType,
  isDataType,
  type AssetType,
  type DataType,
} from '@fiml/market';
import { ProviderConfigError } from '../provider-config-error.js';

/**
 * Routes: `<assetType>:<dataType>` (either may be `*`) -> provider ids, in
 * the order they are tried. The most specific route wins:
 * `equity:price`, then `*:price`, then `equity:*`, then `*:*`.
 */
export type ProviderRoutes = Readonly<Record<string, readonly string[]>>;

/** A parsed route key. */
export interface RouteKey {
  readonly assetType: AssetType | '*';
  readonly dataType: DataType | '*';
}

export function parseRouteKey(key: string): RouteKey {
  const [assetType, dataType, extra] = key.trim().split(':');
  const assetOk = assetType === '*' || isAssetType(assetType);
  const dataOk = dataType === '*' || isDataType(dataType);
  if (extra !== undefined || !assetOk || !dataOk) {
    throw new ProviderConfigError(
      `Bad route key "${key}": expected <assetType>:<dataType> with assetType one of ${ASSET_TYPES.join(', ')} or *, ` +
        `dataType one of ${DATA_TYPES.join(', ')} or *.`,
    );
  }
  return { assetType, dataType };
}

/** The provider ids for a pair, by the precedence above; undefined when no route covers it. */
export function matchRoute(
  routes: ProviderRoutes,
  assetType: AssetType,
  dataType: DataType,
): readonly string[] | undefined {
  return (
    routes[`${assetType}:${dataType}`] ??
    routes[`*:${dataType}`] ??
    routes[`${assetType}:*`] ??
    routes['*:*']
  );
}

/**
 * Parses the PROVIDER_ROUTES form, `equity:price=polygon,finnhub;crypto:price=coingecko`:
 * routes separated by `;`, providers by `,`. Throws a ProviderConfigError.
 */
export function parseRoutes(text: string): Record<string, string[]> {
  const routes: Record<string, string[]> = {};
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq === -1 ? '' : part.slice(0, eq).trim();
    const ids =
      eq === -1
        ? []
        : part
            .slice(eq + 1)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    if (key === '' || ids.length === 0) {
      throw new ProviderConfigError(
        `Bad route "${part.trim()}": expected <assetType>:<dataType>=<provider>[,<provider>…]`,
      );
    }
    parseRouteKey(key);
    if (routes[key]) throw new ProviderConfigError(`Route "${key}" is given twice.`);
    routes[key] = ids;
  }
  return routes;
}

/** The inverse of {@link parseRoutes}. */
export function formatRoutes(routes: ProviderRoutes): string {
  return Object.entries(routes)
    .map(([key, ids]) => `${key}=${ids.join(',')}`)
    .join(';');
}
