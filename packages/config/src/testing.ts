// Test support for environments built with defineEnv (`@fiml/config/testing`).
import { ConfigError } from './config-error.js';

/** The two variables every app requires, set to loopback URLs (nothing connects in a parse). */
export const REQUIRED_REDIS_URLS = {
  REDIS_QUEUE_URL: 'redis://127.0.0.1:6379/0',
  REDIS_CACHE_URL: 'redis://127.0.0.1:6379/1',
} as const;

/**
 * The problems a parse reports, by variable: runs `parse`, which must throw a
 * ConfigError (anything else, or no error, fails the test with the reason).
 */
export function configProblems(parse: () => unknown): Map<string, string> {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      throw new Error(`expected a ConfigError, got ${String(error)}`, { cause: error });
    }
    return new Map(error.problems.map((p) => [p.variable, p.problem]));
  }
  throw new Error('expected a ConfigError, but the parse succeeded');
}
