// The house rules of the package graph, checked by dependency-cruiser in `npm test` (lint step
// `pnpm lint:deps`). docs/ARCHITECTURE.md explains them and shows the graph, generated from
// the code by the same tool (`pnpm docs:architecture`). A forbidden edge fails with the rule's
// name and the comment below it. Each rule matches the resolved path and, for an import that
// does not resolve (pnpm links only declared dependencies), the import's name.
'use strict';

/** Packages that hold domain logic: they never see metrics, HTTP frameworks or the apps. */
const DOMAIN = '^packages/(cache|market|providers|queue|simulator)/';

module.exports = {
  forbidden: [
    {
      name: 'no-package-imports-an-app',
      comment:
        'A package never imports an app: apps compose packages, never the other way round. ' +
        'Move the shared code into a package (or give the app a public subpath for tools).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: ['^apps/', '^@fiml/(api|batch-scheduler|warmer)(/|$)'] },
    },
    {
      name: 'no-cycles-between-packages',
      comment:
        'Workspace packages form a graph without cycles (dev dependencies included: turbo and ' +
        'pnpm order tasks by it). Break the cycle by moving the shared type to the lower package.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: {
        circular: true,
        viaSomeNot: '^$1/$2/',
      },
    },
    {
      name: 'cache-stays-pure',
      comment:
        '@fiml/cache holds eviction, TTL and analytics, and talks to Redis only: no metrics ' +
        'library, no queue, no HTTP framework, no provider. Emit an event and bridge it in ' +
        '@fiml/observability or the app instead.',
      severity: 'error',
      from: { path: '^packages/cache/' },
      to: {
        path: [
          '(^|/)node_modules/(prom-client|bullmq|fastify|@fastify/[^/]+)/',
          '^(prom-client|bullmq|fastify|@fastify/[^/]+)(/|$)',
          '^packages/(providers|queue|observability|simulator)/',
          '^@fiml/(providers|queue|observability|simulator)(/|$)',
        ],
      },
    },
    {
      name: 'domain-never-imports-observability',
      comment:
        'Domain packages emit typed events; @fiml/observability turns them into metrics. A domain ' +
        'package importing observability would tie the domain to prom-client and make a cycle.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: ['^packages/observability/', '^@fiml/observability(/|$)'] },
    },
    {
      name: 'runtime-is-a-leaf',
      comment:
        '@fiml/runtime is what every process needs and no domain knows: it imports no other ' +
        'workspace package.',
      severity: 'error',
      from: { path: '^packages/runtime/' },
      to: { path: ['^(packages|apps)/', '^@fiml/'], pathNot: '^packages/runtime/' },
    },
    {
      name: 'config-imports-no-domain',
      comment:
        '@fiml/config is machinery only (definition, loading, errors, the generated reference): ' +
        'each package declares its own variables, each app assembles them.',
      severity: 'error',
      from: { path: '^packages/config/' },
      to: { path: ['^(packages|apps)/', '^@fiml/'], pathNot: '^packages/config/' },
    },
    {
      name: 'no-deep-imports',
      comment:
        'Import another workspace package only through its package.json `exports` (its name or a ' +
        'published subpath such as @fiml/runtime/testing), never by a relative path into it.',
      severity: 'error',
      from: { path: '^((packages|apps)/[^/]+|bench|scripts|docker)/' },
      to: {
        dependencyTypes: ['local'],
        // The repository's shared tool configuration (jest.preset.cjs) sits at the root.
        pathNot: ['^$1/', '^[^/]+$'],
      },
    },
    {
      name: 'no-unresolvable',
      comment:
        "Every import resolves (a deep import past a package's `exports` does not: use its name " +
        'or a published subpath).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@fiml/source', 'types', 'import', 'require', 'node', 'default'],
      extensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
      mainFields: ['main', 'types'],
    },
    reporterOptions: {
      // The package graph of docs/ARCHITECTURE.md (drawn with --collapse, one node per package).
      mermaid: { minify: false },
    },
  },
};
