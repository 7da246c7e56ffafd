export {
  L1Cache,
  type L1CacheEvents,
  type L1CacheStats,
  type L1EvictEvent,
  type L1ExpireEvent,
} from './l1/l1-cache.js';
export { L1CacheError, type L1CacheErrorCode } from './l1/l1-cache-error.js';
export { type L1CacheOptions, type L1SetOptions } from './l1/l1-cache-options.js';
export { EVICTION_POLICIES, EvictionPolicy, isEvictionPolicy } from './l1/eviction-policy.js';
export { type EvictionReason, type EvictionRecord } from './l1/eviction-log.js';
