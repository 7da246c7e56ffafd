import type { EnvOf } from './env-var.js';
import type { apiEnv, batchSchedulerEnv, warmerEnv } from './schemas.js';

export { ConfigError, type ConfigProblem } from './config-error.js';
export { defineEnv, type EnvDefinition, type RawEnv } from './define-env.js';
export { envVar, type EnvOf, type EnvShape, type EnvVar, type EnvVarDoc } from './env-var.js';
export { loadConfig, loadConfigOrExit, type LoadConfigOptions } from './load-config.js';
export { redactUrl } from './redact-url.js';
export { allEnvs, apiEnv, batchSchedulerEnv, warmerEnv } from './schemas.js';
export { providerVars } from './provider-vars.js';
export { TTL_VAR_NAMES, ttlEnvOf, ttlVars, type TtlVarName } from './ttl-vars.js';
export {
  GENERATED_BEGIN,
  GENERATED_END,
  renderVariablesSection,
  replaceVariablesSection,
} from './configuration-doc.js';

export type ApiConfig = EnvOf<typeof apiEnv.vars>;
export type BatchSchedulerConfig = EnvOf<typeof batchSchedulerEnv.vars>;
export type WarmerConfig = EnvOf<typeof warmerEnv.vars>;
