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
export { SeededRandom, fmix32, hashString, randomSeed, type Random } from './random.js';
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
