import { randomUUID } from 'node:crypto';

/** The environment variable through which the Jest global setup hands servers to workers. */
export const TEST_REDIS_URLS_ENV = 'FIML_TEST_REDIS_URLS';

/**
 * The URL of the redis-server that the Jest global setup started for this
 * worker. Tests sharing it isolate themselves with {@link uniqueName} key
 * prefixes and queue names; a test that needs to kill Redis starts its own
 * with `startRedisServer()`.
 */
export function testRedisUrl(): string {
  const raw = process.env[TEST_REDIS_URLS_ENV];
  if (!raw) {
    throw new Error(
      `${TEST_REDIS_URLS_ENV} is not set: this package's jest.config.cjs must use ` +
        "globalSetup '@fiml/testing/jest-global-setup' and globalTeardown '@fiml/testing/jest-global-teardown'.",
    );
  }
  const urls = JSON.parse(raw) as string[];
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const url = urls[(worker - 1) % urls.length];
  if (!url) throw new Error(`${TEST_REDIS_URLS_ENV} holds no server URL`);
  return url;
}

/** A name no other test in this run uses: `${prefix}-<8 hex>`. For key prefixes and queue names. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
