// The TTL policy: how long an entry stays fresh, by exchange session, data
// type and asset type (the market calendar from @fiml/market), with jitter,
// and its settings from the environment (the original's variable names).
export {
  DEFAULT_TTL_JITTER,
  DEFAULT_TTL_TABLE,
  MAX_TTL_JITTER,
  TTL_COLUMNS,
  assertTtlTable,
  type TtlColumn,
  type TtlRow,
  type TtlTable,
} from './ttl-table.js';
export {
  TTL_ENV_VARS,
  TtlEnvError,
  parseTtlEnv,
  ttlSettingsFromEnv,
  type TtlEnvProblem,
  type TtlEnvResult,
  type TtlEnvVar,
  type TtlSettings,
} from './ttl-env.js';
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
} from './ttl-policy.js';
export { TTL_VAR_NAMES, ttlEnvOf, ttlVars, type TtlVarName } from './ttl-vars.js';
