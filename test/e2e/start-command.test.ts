// `npm start` as a person runs it: one command brings up edge, router and two
// demo backends; the printed curl line works as printed; Ctrl-C stops all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../harness/binaries.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned } from '../harness/process.js';
import type { ClusterView } from '../../shared/dashboard/cluster.js';

test('the start command prints a curl line that works as printed, and SIGINT stops every process', async () => {
  const root = repoRoot();
  const [edge, admin, redirect, router, routerAdmin, b1, b2] = await Promise.all(Array.from({ length: 7 }, () => freePort()));
  // The shipped dev config with free ports, so the test never collides with a running `npm start`.
  const config = readFileSync(resolve(root, 'deploy/gatehouse.dev.yaml'), 'utf8')
    .replace('port: 8443', `port: ${edge}`).replace('port: 8444', `port: ${admin}`).replace('port: 8080', `port: ${redirect}`)
    .replace('http://127.0.0.1:8444', `http://127.0.0.1:${admin}`).replace('http://127.0.0.1:9081', `http://127.0.0.1:${routerAdmin}`)
    .replace('http://127.0.0.1:9080', `http://127.0.0.1:${router}`).replace('port: 9080', `port: ${router}`).replace('port: 9081', `port: ${routerAdmin}`)
    .replace('http://127.0.0.1:9001', `http://127.0.0.1:${b1}`).replace('http://127.0.0.1:9002', `http://127.0.0.1:${b2}`)
    .replaceAll('../.gatehouse/', `${root}/.gatehouse/`);
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-start-')), 'dev.yaml');
  writeFileSync(file, config);

  const proc = spawnOwned(process.execPath, [resolve(root, 'dist/deploy/dev/start.js')], { ...process.env, GATEHOUSE_CONFIG: file });
  try {
    const curlLine = await waitFor('the printed curl line', () => /^\s*(curl .*)$/m.exec(proc.output())?.[1], 30_000);
    assert.match(curlLine, new RegExp(`^curl --cacert \\S+ca\\.pem https://localhost:${edge}/demo/hello$`));
    const first = JSON.parse(execSync(curlLine, { encoding: 'utf8' })) as { backend: string };
    const second = JSON.parse(execSync(curlLine, { encoding: 'utf8' })) as { backend: string };
    assert.deepEqual([first.backend, second.backend].sort(), ['demo-1', 'demo-2'], 'both demo backends answer in turn');

    // The printed dashboard URL carries this run's token, and the dashboard it opens sees both tiers.
    const dashboard = new URL(/^\s*dashboard (\S+)$/m.exec(proc.output())![1]!);
    assert.equal(`${dashboard.origin}${dashboard.pathname}`, `http://127.0.0.1:${admin}/dashboard`);
    assert.equal((await fetch(dashboard)).status, 200);
    const token = /^#token=(.+)$/.exec(dashboard.hash)![1]!;
    const cluster = await (await fetch(`${dashboard.origin}/admin/cluster`, { headers: { authorization: `Bearer ${token}` } })).json() as ClusterView;
    assert.deepEqual(cluster.members.map((m) => m.snapshot?.instance.tier), ['edge', 'router']);
    const metrics = /^\s*metrics\s+(\S+) \(edge\)\s+(\S+) \(router\)$/m.exec(proc.output())!;
    for (const url of [metrics[1]!, metrics[2]!]) assert.match(await (await fetch(url)).text(), /^gatehouse_requests_total\{/m, url);
  } finally {
    proc.child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => proc.child.once('exit', (c) => r(c)));
    assert.equal(code, 0, proc.output().slice(-2000));
  }
  // Every child is gone: their ports are free again.
  for (const port of [edge, router, b1, b2]) {
    await waitFor(`port ${port} released`, async () => (await fetch(`http://127.0.0.1:${port}/`).then(() => false, () => true)) || undefined, 5_000);
  }
  assert.match(proc.output(), /"event":"shutdown","signal":"SIGTERM"/, 'the tiers drained on the way out');
});
