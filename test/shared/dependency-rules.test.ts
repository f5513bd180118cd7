// The import rules of .dependency-cruiser.cjs, checked over the source tree in npm test: shared/ never
// imports a tier or config/, the tiers never import each other, tier library modules never import
// config/, schema files import no runtime module, and there is no import circle. Runs the installed dependency-cruiser; never downloads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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

test('the rules refuse shared/ importing a tier, a tier importing the other, a tier module importing config/, a schema file importing runtime code, and a circle', async () => {
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
      'edge/s-schema.ts': "import { up } from '../shared/up.js';\nexport const s = up;\n",
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const { code, report } = await depcruise(dir, ['shared', 'edge', 'router', 'config']);
    assert.notEqual(code, 0, report);
    for (const broken of ['shared-not-to-tiers: shared/up.ts → edge/e.ts', 'edge-not-to-router: edge/e.ts → router/r.ts', 'config-only-from-entry-points: router/r.ts → config/c.ts', 'schemas-are-schema-only: edge/schema.ts → edge/e.ts', 'no-circular: config/c.ts']) {
      assert.ok(report.includes(broken), `expected "${broken}" in:\n${report}`);
    }
    assert.ok(!report.includes('router/main.ts → config/c.ts'), `an entry point may import config/:\n${report}`);
    assert.ok(!report.includes('schemas-are-schema-only: edge/schema.ts → edge/s-schema.ts'), `a schema file may import another:\n${report}`);
    assert.ok(!report.includes('schemas-are-schema-only: edge/s-schema.ts'), `a schema file may import shared/:\n${report}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
