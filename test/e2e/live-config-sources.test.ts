// Where a tier's config comes from when its bootstrap file names a Consul KV key, through the real main of a
// router process: the KV document while the key holds a valid one, the file otherwise (key deleted, a bad
// document at start, Consul down at start), and the KV document again as soon as it can be read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { TEST_IDENTITY } from '../harness/gateway.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned, type Owned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';
import { ConfigKv } from '../../shared/config/kv-store.js';
import type { ConfigStatus } from '../../shared/config/live.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let consul: TestConsul;
let backend: EchoBackend;
before(async () => {
  consul = await startConsul();
  backend = await startEchoBackend('app');
});
after(async () => {
  await backend?.close();
  await consul?.stop();
});

interface Router { readonly proc: Owned; readonly port: number; readonly admin: number; readonly key: string }

/** Every router here reads the same kind of document; only its one route differs (/file or /kv). */
function doc(key: string, prefix: string, ports: { port: number; admin: number }): string {
  return stringify({
    router: { listen: { port: ports.port }, admin: { port: ports.admin }, shutdown: { drainDelayMs: 0 } },
    consul: { address: consul.address, waitSeconds: 5 },
    config: { watchFile: false, consul: { key } },
    routes: [{ name: prefix.slice(1), match: { pathPrefix: prefix }, service: 'app', auth: { anonymous: true }, authz: {} }],
    services: { app: { static: [backend.url] } },
    identity: TEST_IDENTITY,
  });
}

async function routerPorts(): Promise<{ port: number; admin: number }> {
  return { port: await freePort(), admin: await freePort() };
}

async function startRouter(key: string, ports: { port: number; admin: number }): Promise<Router> {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-sources-')), 'router.yaml');
  writeFileSync(file, doc(key, '/file', ports));
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file]);
  await waitFor('router ready', async () => (await fetch(`http://127.0.0.1:${ports.admin}/ready`).then((r) => r.ok, () => false)) || undefined, 20_000);
  return { proc, ...ports, key };
}

async function statusOf(r: Router): Promise<ConfigStatus> {
  return (await (await fetch(`http://127.0.0.1:${r.admin}/config/status`)).json()) as ConfigStatus;
}

async function get(r: Router, path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${r.port}${path}`, { headers: { [IDENTITY_HEADER]: await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS) } });
  await res.arrayBuffer();
  return res.status;
}

const kvOf = (key: string) => new ConfigKv({ address: consul.address, waitSeconds: 5, snapshotMaxAgeSeconds: 86_400 }, key);

test('the KV document serves while the key holds one; deleting the key brings the file back', async () => {
  const key = 'sources/deleted';
  const ports = await routerPorts();
  const kv = kvOf(key);
  await kv.push(doc(key, '/kv', ports), 0, 'test');
  const router = await startRouter(key, ports);
  try {
    const started = await statusOf(router);
    assert.equal(started.source, 'consul');
    assert.equal(started.location, key);
    assert.equal(started.version, (await kv.read())!.version);
    assert.deepEqual(started.restartRequired, []);
    assert.equal(await get(router, '/kv/x'), 200);
    assert.equal(await get(router, '/file/x'), 404);
    await consul.kvDelete(key);
    await waitFor('the file serves again', async () => ((await get(router, '/file/x')) === 200 || undefined), 10_000);
    assert.equal(await get(router, '/kv/x'), 404);
    assert.equal((await statusOf(router)).source, 'file');
  } finally {
    kv.close();
    await router.proc.stop();
  }
});

test('a KV document refused at start: the file serves and /config/status says why; a valid push then takes over', async () => {
  const key = 'sources/refused';
  await consul.kvPut(key, 'routes: [{ name: x }]\n');
  const router = await startRouter(key, await routerPorts());
  const kv = kvOf(key);
  try {
    assert.equal(await get(router, '/file/x'), 200);
    const s = await statusOf(router);
    assert.equal(s.source, 'file');
    assert.equal(s.lastError?.source, 'consul');
    assert.match(s.lastError!.problems.join('\n'), /routes\[0\]/);
    // The watch's first answer is the same bad document: refused again, not logged again.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(router.proc.logged('config-refused').length, 1, router.proc.output());
    const live = (await kv.read())!;
    await kv.push(doc(key, '/kv', router), live.version, 'test');
    await waitFor('the KV document serves', async () => ((await get(router, '/kv/x')) === 200 || undefined), 10_000);
    assert.equal((await statusOf(router)).lastError, null);
  } finally {
    kv.close();
    await router.proc.stop();
  }
});

test('Consul down at start: the file serves; once Consul answers, the KV document takes over', async () => {
  const key = 'sources/late';
  await consul.stop();
  let down = true;
  let router: Router | undefined;
  const kv = kvOf(key);
  try {
    router = await startRouter(key, await routerPorts());
    assert.equal(await get(router, '/file/x'), 200);
    assert.match(router.proc.output(), /"event":"config-source-error"/);
    await consul.start();
    down = false;
    await kv.push(doc(key, '/kv', router), 0, 'test');
    const r = router;
    await waitFor('the KV document serves', async () => ((await get(r, '/kv/x')) === 200 || undefined), 25_000, 100);
    assert.equal((await statusOf(router)).source, 'consul');
  } finally {
    kv.close();
    await router?.proc.stop();
    if (down) await consul.start();
  }
});
