import * as parsers from './parsers.js';

export { ConfigError, type ConfigProblem } from './config-error.js';
export { defineEnv, type EnvDefinition, type RawEnv } from './define-env.js';
export { envVar, type EnvOf, type EnvShape, type EnvVar, type EnvVarDoc } from './env-var.js';
export { loadConfig, loadConfigOrExit, type LoadConfigOptions } from './load-config.js';
export { redactUrl } from './redact-url.js';
export {
  GENERATED_BEGIN,
  GENERATED_END,
  renderVariablesSection,
  replaceVariablesSection,
} from './configuration-doc.js';
export { opsServerVars, processVars } from './process-vars.js';
/** Value parsers for `envVar` (integer, port, redisUrl, hourList, …): one namespace, so fragments read `parsers.integer(1, 10)`. */
export { parsers };
