// The analytics part of @fiml/cache's public API; the package index re-exports these names.
export {
  ANALYTICS_WINDOWS,
  DEFAULT_RECOMMENDATION_THRESHOLDS,
  REPORT_WINDOWS,
  type AnalyticsFootprint,
  type AnalyticsWindow,
  type CacheReport,
  type LatencyStats,
  type LevelStats,
  type PollutionStats,
  type Recommendation,
  type RecommendationCode,
  type RecommendationThresholds,
  type ReportWindow,
  type SourceStats,
  type WindowStats,
} from './analytics-report.js';
export {
  CacheAnalytics,
  type CacheAccess,
  type CacheAnalyticsOptions,
  type CacheEviction,
  type LatencyHistogramOptions,
} from './cache-analytics.js';
export {
  LogLinearHistogram,
  histogramLayout,
  type HistogramLayout,
  type LogLinearHistogramOptions,
} from './log-linear-histogram.js';
export { recommend } from './recommendations.js';
