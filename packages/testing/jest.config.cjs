module.exports = require('../../jest.preset.cjs')(__dirname, {
  globalSetup: '<rootDir>/jest/global-setup.cjs',
  globalTeardown: '<rootDir>/jest/global-teardown.cjs',
  // A Redis Cluster client that outlives its close (see retireRedis in @fiml/runtime) must not
  // hang CI: exit when the run is over; the results stand either way.
  forceExit: true,
});
