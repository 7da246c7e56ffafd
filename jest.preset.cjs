// Shared Jest settings for every workspace package.
//
// Workspace packages are consumed from source: the custom export condition
// "@fiml/source" points each package's exports at src/*.ts, so tests need no
// build first. @swc/jest compiles TypeScript to CommonJS; the moduleNameMapper
// strips the ".js" that NodeNext-style relative imports carry.
'use strict';

// Dependencies that ship only ES modules; Jest runs CommonJS, so these are compiled too.
// (cookie 2 arrives through fastify's light-my-request, used by app.inject(); content-disposition
// through @fastify/static, which serves the queue dashboard and the OpenAPI UI.)
const esmOnly = ['cookie', 'content-disposition'];
const notEsmOnly = esmOnly.map((name) => `\\.pnpm/${name}@|${name}/`).join('|');

/** @param {string} rootDir the package directory (pass __dirname) */
module.exports = function preset(rootDir, overrides = {}) {
  return {
    rootDir,
    testEnvironment: 'node',
    testEnvironmentOptions: {
      customExportConditions: ['@fiml/source', 'node', 'require', 'default'],
    },
    transform: {
      '^.+\\.(t|j)s$': [
        require.resolve('@swc/jest'),
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
    },
    transformIgnorePatterns: [`/node_modules/(?!${notEsmOnly})`],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    // Integration tests wait on real servers; a generous bound that still fails a hang.
    testTimeout: 60_000,
    ...overrides,
  };
};
