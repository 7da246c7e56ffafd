import type { DataType } from '@fiml/market';
import type { WriteSource } from '../cache-events.js';

/**
 * One cached datum with the metadata every tier needs: where it came from,
 * when, and until when it may be served fresh (`softExpiresAt`) or stale
 * (`hardExpiresAt`, which is also its Redis expiry).
 *
 * A `not-found` entry is negative caching: the provider said the symbol does
 * not exist, and asking again within the (short) TTL would waste a call.
 */
export type CacheEntry<V = unknown> =
  | (EntryMeta & { readonly kind: 'value'; readonly value: V })
  | (EntryMeta & { readonly kind: 'not-found' });

export interface EntryMeta {
  readonly dataType: DataType;
  /** Epoch ms when the upstream answered. */
  readonly fetchedAt: number;
  /** The provider id that answered ("polygon", "sim-equities"). */
  readonly source: string;
  /** Who wrote the entry; a read of a warmer-written entry is a useful warm. */
  readonly writer: WriteSource;
  /** The freshness TTL applied at write time, ms. */
  readonly ttlMs: number;
  /** Fresh until this instant (epoch ms). */
  readonly softExpiresAt: number;
  /** Servable as stale until this instant; the entry is gone afterwards. */
  readonly hardExpiresAt: number;
}

export type EntryFreshness = 'fresh' | 'stale' | 'expired';

export function freshnessAt(entry: EntryMeta, now: number): EntryFreshness {
  if (now < entry.softExpiresAt) return 'fresh';
  if (now < entry.hardExpiresAt) return 'stale';
  return 'expired';
}
