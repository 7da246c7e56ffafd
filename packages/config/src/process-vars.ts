import { envVar } from './env-var.js';
import { hostname, integer, oneOf, port } from './parsers.js';

/**
 * The variables every process reads whatever its domain: run mode, log level,
 * shutdown bound (`processVars`), and for workers the ops server
 * (`opsServerVars`). The runtime package reads these values but declares no
 * variables itself (it stays a leaf), so they are defined here with the
 * machinery.
 */

const NODE_ENV = envVar(oneOf(['development', 'production', 'test']), {
  description:
    'Runtime mode. `development` logs pretty, coloured lines; anything else logs JSON, one object per line.',
  expected: 'one of development, production, test',
  default: 'production',
});

const LOG_LEVEL = envVar(oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), {
  description: 'Lowest pino log level written.',
  expected: 'one of fatal, error, warn, info, debug, trace, silent',
  default: 'info',
});

const SHUTDOWN_TIMEOUT_MS = envVar(integer(0, 600_000), {
  description:
    'On SIGTERM or SIGINT, how long active jobs and requests may take to finish before connections are closed anyway.',
  expected: 'integer milliseconds 0-600000',
  default: '10000',
});

export const processVars = { NODE_ENV, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS };

/** A worker's /metrics, /healthz and /readyz server; `defaultPort` differs per worker. */
export const opsServerVars = (defaultPort: string) => ({
  METRICS_HOST: envVar(hostname(), {
    description: 'Interface the worker’s /metrics, /healthz and /readyz server listens on.',
    expected: 'host name or IP address',
    default: '0.0.0.0',
  }),
  METRICS_PORT: envVar(port(), {
    description:
      'Port of the worker’s /metrics, /healthz and /readyz server (0 picks a free port).',
    expected: 'integer 0-65535',
    default: defaultPort,
  }),
});
