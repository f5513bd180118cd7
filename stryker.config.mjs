// Mutation testing of the modules whose mistakes are security holes: `npm run mutate`
// (never part of npm test or CI; see docs/testing.md). Stryker copies the repo into
// .stryker-tmp/, places every mutant in the TypeScript sources at once (each switched on
// by an environment variable), builds the copy with tsc, and runs the compiled node:test
// files through the tap runner: one process per test file, so each file counts as one
// test, and a mutant runs only the files that reached its code in the first run.
import { readFileSync } from 'node:fs';

/** The modules, by name, as the per-module table at the end of a run groups them. */
export const modules = {
  'path normalisation and route matching': ['shared/routing/path.ts', 'shared/routing/path-matcher.ts', 'shared/routing/route-table.ts'],
  'jwt verification': ['edge/auth/jwt.ts', 'edge/auth/jwks.ts', 'edge/auth/jwt-schema.ts'],
  'api-key verification': ['edge/auth/api-key.ts', 'edge/auth/api-key-store.ts'],
  'credential rules': ['edge/auth/credentials.ts'],
  'proxy protocol': ['edge/proxy-protocol/header.ts'],
  'identity assertion': ['shared/identity.ts', 'router/verify-identity.ts'],
  'authorization': ['router/authz/claims.ts', 'router/authz/claims-schema.ts', 'router/authz/consumers.ts', 'router/authz/consumers-schema.ts', 'router/authz/methods.ts', 'router/authz/policy.ts', 'router/authz/registry.ts', 'router/authz/schema.ts', 'router/authz/scopes.ts', 'router/authz/scopes-schema.ts'],
  'header stripping': ['shared/http/headers.ts', 'shared/http/gateway-headers-schema.ts', 'edge/strip-headers.ts', 'edge/strip-headers-schema.ts'],
  'identity headers': ['shared/http/structured-fields.ts'],
  'rate limiter': ['edge/ratelimit/limiter.ts', 'edge/ratelimit/memory-store.ts', 'edge/ratelimit/redis-store.ts', 'edge/ratelimit/store.ts', 'edge/ratelimit/build.ts'],
};

/**
 * `file:start-end`, from the line that starts with `first` to the end of the file (or that
 * line alone), found when the config loads so that edits above it do not shift the range.
 */
function lines(file, first, { alone = false } = {}) {
  const text = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  const start = text.findIndex((line) => line.startsWith(first)) + 1;
  if (start === 0) throw new Error(`stryker.config.mjs: no line of ${file} starts with ${JSON.stringify(first)}`);
  return `${file}:${start}-${alone ? start : text.length}`;
}

// Schema declarations (TypeBox objects of descriptions and defaults, validated by the
// config tests) are left out: only the hand-written checks after them are mutated.
const ranges = {
  'edge/auth/jwt-schema.ts': [lines('edge/auth/jwt-schema.ts', 'export const HMAC_ALGORITHMS', { alone: true }), lines('edge/auth/jwt-schema.ts', 'export function checkJwtIssuer')],
  'router/authz/schema.ts': [lines('router/authz/schema.ts', 'export function checkAuthzPolicy')],
  'router/authz/claims-schema.ts': [lines('router/authz/claims-schema.ts', 'export const claimsRule')],
  'router/authz/scopes-schema.ts': [lines('router/authz/scopes-schema.ts', 'const checkGrants')],
  'router/authz/consumers-schema.ts': [lines('router/authz/consumers-schema.ts', 'export const consumersRule')],
};

/**
 * A reporter that prints the mutation score of each module: detected (killed or timed out)
 * over detected plus undetected (survived or not covered), as the file table does per file.
 */
const moduleScores = {
  onMutationTestReportReady(report) {
    const rows = Object.entries(modules).map(([name, files]) => {
      const mutants = files.flatMap((file) => report.files[file]?.mutants ?? []);
      const count = (...statuses) => mutants.filter((m) => statuses.includes(m.status)).length;
      const detected = count('Killed', 'Timeout');
      const undetected = count('Survived', 'NoCoverage');
      const score = detected + undetected === 0 ? 'n/a' : `${((100 * detected) / (detected + undetected)).toFixed(2)}%`;
      return [name, score, detected, undetected];
    });
    const width = Math.max(...rows.map(([name]) => name.length));
    console.log(`\nMutation score per module\n${'module'.padEnd(width)}  score    detected  undetected`);
    for (const [name, score, detected, undetected] of rows) {
      console.log(`${name.padEnd(width)}  ${score.padStart(7)}  ${String(detected).padStart(8)}  ${String(undetected).padStart(10)}`);
    }
  },
};

/** Loaded by Stryker through `plugins` below: this file is also a plugin module. */
export const strykerPlugins = [{ kind: 'Reporter', name: 'module-scores', value: moduleScores }];

export default {
  $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
  mutate: Object.values(modules).flat().flatMap((file) => ranges[file] ?? [file]),
  testRunner: 'tap',
  // After the mutants are placed, in the sandbox: the tests run from tsc's output.
  buildCommand: 'npm run -s build',
  // Instrumented code does not type-check, and the types it exports (TypeBox schemas) turn
  // to unknown in the files that import them: no file is type-checked in the sandbox.
  disableTypeChecks: true,
  coverageAnalysis: 'perTest',
  tap: {
    // Unit test files first, each named (glob lists plain names first, in this order), so a
    // mutant usually stops at a fast file; then, matched by the pattern, the end-to-end files
    // that exercise these modules through both tiers.
    testFiles: [
      'dist/test/shared/path.test.js',
      'dist/test/shared/path-normalisation.test.js',
      'dist/test/shared/route-table.test.js',
      'dist/test/shared/route-matching.test.js',
      'dist/test/shared/forwarding.test.js',
      'dist/test/shared/header-stripping.test.js',
      'dist/test/shared/identity-assertion.test.js',
      'dist/test/router/identity-verification.test.js',
      'dist/test/router/authz.test.js',
      'dist/test/router/authz-matchers.test.js',
      'dist/test/edge/jwt.test.js',
      'dist/test/edge/jwt-verification.test.js',
      'dist/test/edge/ratelimit-limiter.test.js',
      'dist/test/edge/api-key-cache.test.js',
      'dist/test/edge/jwks.test.js',
      // These start a redis-server each.
      'dist/test/edge/ratelimit-store.test.js',
      'dist/test/edge/api-key-store.test.js',
      'dist/test/edge/api-key.test.js',
      'dist/test/e2e/@(authentication|routing|static-routing|rate-limit).test.js',
    ],
    nodeArgs: ['--test-reporter=tap'],
    forceBail: true,
  },
  // Two cores: one runner per core at most (see docs/testing.md).
  concurrency: 2,
  timeoutMS: 15_000,
  // Not copied to the sandbox: build output, and the benchmarks (nothing here needs them).
  ignorePatterns: ['dist', '.gatehouse', 'reports', 'docs', 'bench', 'test/bench'],
  plugins: ['@stryker-mutator/*', './stryker.config.mjs'],
  reporters: ['clear-text', 'progress', 'html', 'json', 'module-scores'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
