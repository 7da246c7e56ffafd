// Unit tests of the bench's pure parts (the workload generator, the simulator's models): fast,
// no Redis, no timings. Benchmarks themselves are programs, never tests.
module.exports = require('../jest.preset.cjs')(__dirname, {
  testMatch: ['<rootDir>/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/results/'],
});
