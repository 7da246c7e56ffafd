// Jest global teardown: stops the per-worker redis-servers and removes their data dirs.
'use strict';

module.exports = async function globalTeardown() {
  const servers = globalThis.__FIML_TEST_REDIS_SERVERS__ ?? [];
  await Promise.all(servers.map((s) => s.stop()));
  globalThis.__FIML_TEST_REDIS_SERVERS__ = [];
};
