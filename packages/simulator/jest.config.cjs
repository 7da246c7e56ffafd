module.exports = require('../../jest.preset.cjs')(__dirname, {
  globalSetup: require.resolve('@fiml/testing/jest-global-setup'),
  globalTeardown: require.resolve('@fiml/testing/jest-global-teardown'),
});
