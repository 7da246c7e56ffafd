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
