// The deployment's checks: promtool on the Prometheus config and rules, the compose file against
// the Compose specification, the Dockerfile lint and its stages against the workspace, and the live
// test (the real processes, a real Prometheus, every dashboard query and alert).
module.exports = require('../jest.preset.cjs')(__dirname, {
  globalSetup: require.resolve('@fiml/testing/jest-global-setup'),
  globalTeardown: require.resolve('@fiml/testing/jest-global-teardown'),
});
