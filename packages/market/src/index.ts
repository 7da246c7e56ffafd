export { ManualClock, systemClock, type Clock } from './clock.js';
export {
  ASSET_TYPES,
  AssetType,
  DATA_TYPES,
  DataType,
  SYMBOL_PATTERN,
  isAssetType,
  isDataType,
  normalizeSymbol,
} from './market-data.js';
export { SeededRandom, hashString, randomSeed, type Random } from './random.js';
export { hourInZone } from './calendar/zone-hour.js';
export { EQUITY_SESSIONS, MarketSession, type EquitySession } from './calendar/market-session.js';
export { nyseRuleEarlyCloses, nyseRuleHolidays, type NyseRuleDate } from './calendar/nyse-rules.js';
export {
  NYSE_AD_HOC_CLOSURES,
  NYSE_TIME_ZONE,
  NyseCalendar,
  type CalendarOverride,
  type ExchangeDay,
  type MarketDate,
  type NyseCalendarOptions,
  type SessionWindow,
  type TimeRange,
} from './calendar/nyse-calendar.js';
export {
  DEFAULT_TTL_JITTER,
  DEFAULT_TTL_TABLE,
  MAX_TTL_JITTER,
  TTL_COLUMNS,
  assertTtlTable,
  type TtlColumn,
  type TtlRow,
  type TtlTable,
} from './ttl/ttl-table.js';
export {
  TTL_ENV_VARS,
  TtlEnvError,
  parseTtlEnv,
  ttlSettingsFromEnv,
  type TtlEnvProblem,
  type TtlEnvResult,
  type TtlEnvVar,
  type TtlSettings,
} from './ttl/ttl-env.js';
export {
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
} from './ttl/ttl-policy.js';
