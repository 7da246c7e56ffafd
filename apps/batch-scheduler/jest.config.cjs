module.exports = require('../../jest.preset.cjs')(__dirname, {
  globalSetup: require.resolve('@fiml/testing/jest-global-setup'),
  globalTeardown: require.resolve('@fiml/testing/jest-global-teardown'),
  // Under CI load this suite's process once stayed open after every test had passed: an ioredis
  // Cluster client of the cluster tests re-arming its slot-refresh timer after its close (now
  // retired by closeRedis / retireRedis in @fiml/runtime). Exit when the run is over rather than
  // hang CI if another such handle slips through; the results stand either way.
  forceExit: true,
});
