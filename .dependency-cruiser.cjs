// The import rules of Gatehouse's layers, checked in npm test (test/shared/dependency-rules.test.ts):
// shared/ is the ground floor, the tiers stand on it and never on each other, and the whole-file
// config is composed in config/, which only entry points, tools and tests may import, from schema files that
// import nothing but other schema files and typebox (so composing the whole file loads no runtime code).
// Never loosen a rule to let an import through: move the code to the layer it belongs to instead.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import circle makes load order matter and hides which module depends on which',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-not-to-tiers',
      severity: 'error',
      comment: 'shared/ is used by both tiers; loading it must never load a tier or the composed config',
      from: { path: '^shared/' },
      to: { path: '^(edge|router|config)/' },
    },
    {
      name: 'edge-not-to-router',
      severity: 'error',
      comment: 'each tier runs in its own process; the edge never loads router code',
      from: { path: '^edge/' },
      to: { path: '^router/' },
    },
    {
      name: 'router-not-to-edge',
      severity: 'error',
      comment: 'each tier runs in its own process; the router never loads edge code (sessions, TLS, rate limits)',
      from: { path: '^router/' },
      to: { path: '^edge/' },
    },
    {
      name: 'config-only-from-entry-points',
      severity: 'error',
      comment: 'config/ composes every tier\'s schema: a tier\'s library module that imported it would load the other tier',
      from: { path: '^(edge|router)/', pathNot: '^(edge|router)/(main|[a-z-]+/[a-z-]+-cli|[a-z-]+-cli)\\.ts$' },
      to: { path: '^config/' },
    },
    {
      name: 'schemas-are-schema-only',
      severity: 'error',
      comment: 'config/schema.ts loads every tier\'s schema files in both tiers: a schema file (schema.ts, *-schema.ts) that '
        + 'imported a runtime module, even of shared/ or for a type, would load (or tie) one tier\'s code to the other\'s '
        + 'config. It imports only other schema files and typebox; pure config checks and the constants a schema is '
        + 'built from live in schema files too (test/shared/dependency-rules.test.ts loads config/schema.js to prove it)',
      from: { path: '(^|/|-)schema\\.ts$' },
      to: {
        pathNot: ['(^|/|-)schema\\.ts$', '(^|/)node_modules/@sinclair/typebox/'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: they say which layer a module stands on, even though tsc erases them.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
