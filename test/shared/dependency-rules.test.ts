// The import rules of .dependency-cruiser.cjs, checked over the source tree in npm test: shared/ never
// imports a tier or config/, the tiers never import each other, tier library modules never import
// config/, schema files import only schema files and typebox, and there is no import circle. Runs the
// installed dependency-cruiser; never downloads it. Then what the rules promise, observed: loading the
// whole-file schema loads no runtime module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../harness/binaries.js';

const SOURCES = ['config', 'edge', 'router', 'shared', 'deploy', 'bench', 'test'];

interface Cruise { readonly code: number; readonly report: string }

/** dependency-cruiser's CLI from node_modules, run by this Node, with the repository's rules, in cwd. */
function depcruise(cwd: string, paths: readonly string[]): Promise<Cruise> {
  const root = repoRoot();
  const bin = resolve(root, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');
  const args = [bin, '--config', resolve(root, '.dependency-cruiser.cjs'), '--output-type', 'err-long', ...paths];
  return new Promise((done, fail) => {
    execFile(process.execPath, args, { cwd, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      if (code < 0) fail(err); else done({ code, report: `${stdout}${stderr}` });
    });
  });
}

test('the source tree keeps the layer rules: no import from shared/ up, between tiers, into config/ from a tier module, from a schema file into runtime code, or in a circle', async () => {
  const { code, report } = await depcruise(repoRoot(), SOURCES);
  assert.equal(code, 0, `dependency-cruiser found violations (.dependency-cruiser.cjs says why each rule holds):\n${report}`);
  assert.match(report, /no dependency violations found \((\d{3,}) modules/);
});

test('the rules refuse shared/ importing a tier, a tier importing the other, a tier module importing config/, a schema file importing runtime code (even of shared/, even a type), and a circle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-deprules-'));
  try {
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
      'shared/up.ts': "import { e } from '../edge/e.js';\nexport const up = e;\n",
      'edge/e.ts': "import { r } from '../router/r.js';\nexport const e = r;\n",
      'router/r.ts': "import type { C } from '../config/c.js';\nexport const r: C = 1;\n",
      'router/main.ts': "import type { C } from '../config/c.js';\nexport const m: C = 1;\n",
      'config/c.ts': "import { d } from './d.js';\nexport type C = number;\nexport const c = d;\n",
      'config/d.ts': "import { c } from './c.js';\nexport const d = 1;\nexport const e = c;\n",
      'edge/schema.ts': "import { s } from './s-schema.js';\nimport { e } from './e.js';\nexport const all = [s, e];\n",
      'edge/s-schema.ts': "import { t } from '../shared/t-schema.js';\nexport const s = t;\n",
      'shared/t-schema.ts': 'export const t = 1;\n',
      'edge/u-schema.ts': "import type { Up } from '../shared/runtime.js';\nexport const u: Up = 1;\n",
      'shared/runtime.ts': 'export type Up = number;\nexport const run = () => 1;\n',
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const { code, report } = await depcruise(dir, ['shared', 'edge', 'router', 'config']);
    assert.notEqual(code, 0, report);
    for (const broken of ['shared-not-to-tiers: shared/up.ts → edge/e.ts', 'edge-not-to-router: edge/e.ts → router/r.ts', 'config-only-from-entry-points: router/r.ts → config/c.ts', 'schemas-are-schema-only: edge/schema.ts → edge/e.ts', 'schemas-are-schema-only: edge/u-schema.ts → shared/runtime.ts', 'no-circular: config/c.ts']) {
      assert.ok(report.includes(broken), `expected "${broken}" in:\n${report}`);
    }
    assert.ok(!report.includes('router/main.ts → config/c.ts'), `an entry point may import config/:\n${report}`);
    assert.ok(!report.includes('schemas-are-schema-only: edge/schema.ts → edge/s-schema.ts'), `a schema file may import another:\n${report}`);
    assert.ok(!report.includes('schemas-are-schema-only: edge/s-schema.ts'), `a schema file may import a schema file of shared/:\n${report}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every module a fresh Node loads for `import(url)`, as URLs, recorded by a resolve hook. */
function modulesLoadedBy(url: string): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.add(r.url); return r; } });
    await import(process.env.GATEHOUSE_IMPORT);
    process.stdout.write(JSON.stringify([...loaded]));`;
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, GATEHOUSE_IMPORT: url }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${err.message}\n${stderr}`)); else done(JSON.parse(stdout) as string[]);
    });
  });
}

test('loading the whole-file schema (config/schema.js) loads schema files and typebox only: no runtime module of a tier or of shared/', async () => {
  const dist = pathToFileURL(resolve(repoRoot(), 'dist')).href;
  const loaded = await modulesLoadedBy(`${dist}/config/schema.js`);
  const ours = loaded.filter((u) => u.startsWith(`${dist}/`)).map((u) => u.slice(dist.length + 1));
  const theirs = loaded.filter((u) => !u.startsWith(`${dist}/`));
  // The registries are walked: both tiers' and shared/'s schema files are in the graph.
  for (const registry of ['edge/auth/registry-schema.js', 'router/authz/registry-schema.js', 'shared/balancer/registry-schema.js', 'shared/config/service-policies-schema.js']) {
    assert.ok(ours.includes(registry), `expected ${registry} among:\n${ours.join('\n')}`);
  }
  assert.deepEqual(ours.filter((m) => !/(^|\/|-)schema\.js$/.test(m)), [], 'runtime modules loaded by config/schema.js');
  assert.deepEqual(theirs.filter((u) => !u.includes('/node_modules/@sinclair/typebox/')), [], 'packages other than typebox loaded by config/schema.js');
});
