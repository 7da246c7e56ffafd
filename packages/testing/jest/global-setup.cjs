// Jest global setup: one private redis-server per Jest worker, for the whole run.
//
// Loaded through tsx so the harness is the same TypeScript the tests import;
// Jest's own transform does not resolve NodeNext-style "./x.js" imports here.
'use strict';
const { require: tsxRequire } = require('tsx/cjs/api');

module.exports = async function globalSetup(globalConfig) {
  const { startRedisServer, TEST_REDIS_URLS_ENV } = tsxRequire('../src/index.ts', __filename);
  const workers = Math.max(1, globalConfig.maxWorkers || 1);
  const servers = await Promise.all(Array.from({ length: workers }, () => startRedisServer()));
  globalThis.__FIML_TEST_REDIS_SERVERS__ = servers;
  process.env[TEST_REDIS_URLS_ENV] = JSON.stringify(servers.map((s) => s.url));
};
