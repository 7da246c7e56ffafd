export {
  DEFAULT_PLANNER_TUNING,
  WARM_MODES,
  WARM_SKIP_CODES,
  type L2State,
  type PlannerEarningsEvent,
  type PlannerTuning,
  type ProviderBudget,
  type ProviderPlan,
  type WarmChoice,
  type WarmMode,
  type WarmPlan,
  type WarmPlanInput,
  type WarmReason,
  type WarmReasonCode,
  type WarmSkipCode,
} from './warm-plan.js';
export { planWarming } from './plan-warming.js';
export {
  bucketAt,
  expectedReadsBetween,
  isSessionBucket,
  readsPerOccurrence,
  sliceWindow,
  type WindowSlice,
} from './expected-reads.js';
export {
  inSession,
  nextPreOpenRunAt,
  nextScheduledRunAt,
  openWindow,
  preOpenRunAt,
  refreshAheadWindow,
} from './schedule.js';
export {
  accountPrecision,
  warmOutcome,
  type PrecisionReport,
  type ServedRead,
  type WarmOutcome,
  type WarmedEntry,
} from './precision.js';
