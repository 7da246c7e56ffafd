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
export {
  KEY_SCHEME_VERSION,
  MAX_KEY_BYTES,
  assertEntryKey,
  assertValidKey,
  cacheKey,
  cacheKeySpace,
  parseCacheKey,
  type CacheKeySpace,
  type ParsedCacheKey,
} from './cache-keys.js';
export {
  CACHE_ERROR_COMPONENTS,
  WRITE_SOURCES,
  type CacheCircuitEvent,
  type CacheErrorComponent,
  type CacheErrorOperation,
  type CacheErrorEvent,
  type CacheEventName,
  type CacheEventSource,
  type CacheEvents,
  type CacheEvictEvent,
  type CacheFetchEvent,
  type CacheHitEvent,
  type CacheInvalidateEvent,
  type CacheLevel,
  type CacheMissEvent,
  type CacheSetEvent,
  type CacheStaleServedEvent,
  type EvictionCause,
  type WriteSource,
} from './cache-events.js';
export {
  freshnessAt,
  type CacheEntry,
  type EntryFreshness,
  type EntryMeta,
} from './l2/cache-entry.js';
export { CorruptEntryError, jsonCodec, msgpackCodec, type EntryCodec } from './l2/entry-codec.js';
export { L2Store, type L2Read, type L2StoreOptions } from './l2/l2-store.js';
export { countOutcomes, type WriteOutcome } from './l2/write-outcome.js';
export { CacheManager, type CacheManagerOptions } from './manager/cache-manager.js';
export { CacheWriter, type CacheWriterOptions } from './manager/cache-writer.js';
export {
  CacheUnavailableError,
  FetchFailedError,
  FetchTimeoutError,
  InvalidFetchResultError,
  NoLoaderError,
} from './manager/cache-errors.js';
export { Freshness, type FreshnessOptions, type Phase } from './manager/freshness.js';
export { type L1Value } from './manager/tier-store.js';
export { BatchCoalescer, type BatchCoalescerOptions } from './manager/batch-coalescer.js';
export { KeyLocks, type KeyLocksOptions, type Lease } from './manager/key-locks.js';
export type { PriceWrite } from './manager/fiml-compat.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
} from './manager/circuit-breaker.js';
export type {
  AssetKey,
  BatchLoader,
  BatchReadResult,
  CacheLogger,
  CacheRead,
  FetchAdmission,
  Fetched,
  FreshnessPolicy,
  LoadResult,
  ReadOptions,
  RefreshAheadRequest,
  RevalidateRequest,
  SetOptions,
} from './manager/types.js';
export {
  ACCESS_DROP_REASONS,
  AccessRecorder,
  type AccessDropEvent,
  type AccessDropReason,
  type AccessFlushEvent,
  type AccessRecorderEvents,
  type AccessRecorderOptions,
} from './access/access-recorder.js';
export {
  AccessHistory,
  type AccessHistoryOptions,
  type AccessSnapshot,
} from './access/access-history.js';
export {
  DEFAULT_COLD_AFTER_MS,
  DEFAULT_HALF_LIFE_MS,
  type AccessSettingsOptions,
} from './access/access-settings.js';
export { PROFILE_BUCKETS, PROFILE_BUCKET_MS, type AccessStats } from './access/access-stats.js';
export {
  WarmLedger,
  type WarmChoiceRecord,
  type WarmLedgerOptions,
  type WarmOutcomes,
  type WarmRunRecord,
} from './warming/warm-ledger.js';
export {
  WarmReadRecorder,
  type WarmReadRecorderEvents,
  type WarmReadRecorderOptions,
} from './warming/warm-read-recorder.js';
export {
  ANALYTICS_WINDOWS,
  DEFAULT_RECOMMENDATION_THRESHOLDS,
  REPORT_WINDOWS,
  CacheAnalytics,
  LogLinearHistogram,
  histogramLayout,
  recommend,
  type AnalyticsFootprint,
  type AnalyticsWindow,
  type CacheAccess,
  type CacheAnalyticsOptions,
  type CacheEviction,
  type CacheReport,
  type HistogramLayout,
  type LatencyHistogramOptions,
  type LatencyStats,
  type LevelStats,
  type LogLinearHistogramOptions,
  type PollutionStats,
  type Recommendation,
  type RecommendationCode,
  type RecommendationThresholds,
  type ReportWindow,
  type SourceStats,
  type WindowStats,
} from './analytics/index.js';

// TTL: the market-calendar-aware policy and its settings.
export {
  DEFAULT_TTL_JITTER,
  DEFAULT_TTL_TABLE,
  MAX_TTL_JITTER,
  TTL_COLUMNS,
  assertTtlTable,
  type TtlColumn,
  type TtlRow,
  type TtlTable,
  TTL_ENV_VARS,
  TtlEnvError,
  parseTtlEnv,
  ttlSettingsFromEnv,
  type TtlEnvProblem,
  type TtlEnvResult,
  type TtlEnvVar,
  type TtlSettings,
  TtlPolicy,
  computeTtl,
  describeTtlDecision,
  explainTtl,
  formatDuration,
  type TtlBound,
  type TtlContext,
  type TtlDecision,
  type TtlExplanation,
  type TtlPolicyOptions,
  type TtlRequest,
  type TtlRule,
  TTL_VAR_NAMES,
  ttlEnvOf,
  ttlVars,
  type TtlVarName,
} from './ttl/index.js';

// Configuration fragments (each app's environment spreads them).
export { cacheStoreVars, l1Vars, readPathVars } from './cache-vars.js';
