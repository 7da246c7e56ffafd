/**
 * The eviction policies an {@link L1Cache} can run. A const object (for
 * `EvictionPolicy.LFU` call sites, as in the original FIML) and a string
 * union, so `'lfu'` is accepted too.
 *
 * - `lru`: evict the least recently used entry.
 * - `lfu`: evict the least frequently used entry; counts are halved
 *   periodically so once-hot keys age out.
 * - `hybrid`: evict the entry with the lowest combined recency-frequency
 *   score (LRFU); see `HybridStrategy`.
 * - `adaptive`: W-TinyLFU with a hill-climbing admission window; tracks the
 *   best of recency and frequency on the observed workload.
 */
export const EvictionPolicy = {
  LRU: 'lru',
  LFU: 'lfu',
  HYBRID: 'hybrid',
  ADAPTIVE: 'adaptive',
} as const;
export type EvictionPolicy = (typeof EvictionPolicy)[keyof typeof EvictionPolicy];

export const EVICTION_POLICIES: readonly EvictionPolicy[] = ['lru', 'lfu', 'hybrid', 'adaptive'];

export function isEvictionPolicy(value: unknown): value is EvictionPolicy {
  return value === 'lru' || value === 'lfu' || value === 'hybrid' || value === 'adaptive';
}
