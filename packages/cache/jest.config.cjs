module.exports = require('../../jest.preset.cjs')(__dirname, {
  globalSetup: require.resolve('@fiml/testing/jest-global-setup'),
  globalTeardown: require.resolve('@fiml/testing/jest-global-teardown'),
  // A Redis Cluster client that outlives its close (see retireRedis in @fiml/runtime) must not
  // hang CI: exit when the run is over; the results stand either way.
  forceExit: true,
});
