// The launcher's tests run `node up.mjs` as a user would, with its own embedded redis-server, so
// they need no shared test server (no global setup).
module.exports = require('../jest.preset.cjs')(__dirname, {
  testTimeout: 90_000,
});
