// Hot reload of a tier's config file: on a change of the file and on SIGHUP, through the real main of each
// tier (processes), and the swap itself in process: requests in flight finish on their config, state of
// unchanged services carries over, a bad or unbuildable config changes nothing that serves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { certificates, configFrom, httpsClient, send, startTier, TEST_IDENTITY } from '../harness/gateway.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned, type Owned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';
import type { ConfigStatus } from '../../shared/config/live.js';

let a: EchoBackend;
let b: EchoBackend;
before(async () => {
  a = await startEchoBackend('a');
  b = await startEchoBackend('b');
});
after(async () => {
  await a.close();
  await b.close();
});

const route = (name: string, prefix: string, service: string, extra: Record<string, unknown> = {}) =>
  ({ name, match: { pathPrefix: prefix }, service, auth: { anonymous: true }, authz: {}, ...extra });

interface Ports { readonly port: number; readonly admin: number }

async function ports(): Promise<Ports> {
  return { port: await freePort(), admin: await freePort() };
}

function routerDoc(p: Ports, routes: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    router: { listen: { port: p.port }, admin: { port: p.admin }, shutdown: { drainDelayMs: 0 } },
    routes,
    services: { a: { static: [a.url] }, b: { static: [b.url] } },
    identity: TEST_IDENTITY,
    ...extra,
  };
}

function startMain(tier: 'edge' | 'router', file: string): Owned {
  return spawnOwned(process.execPath, [resolve(repoRoot(), `dist/${tier}/main.js`), '--config', file]);
}

async function ready(admin: number): Promise<void> {
  await waitFor('ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false)) || undefined);
}

async function status(admin: number): Promise<ConfigStatus> {
  return (await (await fetch(`http://127.0.0.1:${admin}/config/status`)).json()) as ConfigStatus;
}

const assertion = () => new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);

async function viaRouter(p: Ports, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${p.port}${path}`, { headers: { [IDENTITY_HEADER]: await assertion(), ...headers } });
  return { status: res.status, body: await res.text() };
}

test('a route added to the file is served through edge and router within seconds, and no request is lost meanwhile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-'));
  const certs = await certificates;
  const r = await ports();
  const e = await ports();
  const file = join(dir, 'gatehouse.yaml');
  const doc = (routes: unknown[]) => ({
    ...routerDoc(r, routes),
    edge: {
      listen: { port: e.port }, admin: { port: e.admin }, tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] },
      router: { static: [`http://127.0.0.1:${r.port}`] }, shutdown: { drainDelayMs: 0 },
    },
  });
  writeFileSync(file, stringify(doc([route('a', '/a', 'a')])));
  const router = startMain('router', file);
  const edge = startMain('edge', file);
  const client = await httpsClient();
  try {
    await ready(r.admin);
    await ready(e.admin);
    const before = await status(e.admin);
    assert.equal(before.generation, 1);
    assert.equal((await send(client, `https://127.0.0.1:${e.port}/b/x`)).status, 404);

    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) statuses.push((await send(client, `https://127.0.0.1:${e.port}/a/steady`)).status);
    })();
    const written = Date.now();
    writeFileSync(file, stringify(doc([route('a', '/a', 'a'), route('b', '/b', 'b')])));
    await waitFor('route b served', async () => ((await send(client, `https://127.0.0.1:${e.port}/b/x`)).status === 200 || undefined), 10_000, 20);
    const servedAfterMs = Date.now() - written;
    stop = true;
    await load;
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `every request during the reload was served: ${JSON.stringify(statuses.filter((s) => s !== 200))}`);
    const echoed = JSON.parse((await send(client, `https://127.0.0.1:${e.port}/b/x`)).text) as EchoReply;
    assert.equal(echoed.backend, 'b');
    const after = await status(e.admin);
    assert.equal(after.generation, 2);
    assert.equal(after.source, 'file');
    assert.notEqual(after.hash, before.hash);
    assert.equal(after.lastError, null);
    assert.equal((await status(r.admin)).generation, 2);
    assert.equal((await waitFor('reload logged', () => edge.logged('config-reloaded')[0], 5_000)).trigger, 'file');
    assert.ok(servedAfterMs < 5_000, `served ${servedAfterMs} ms after the write:\n${edge.output()}\n${router.output()}`);
  } finally {
    await client.close();
    await edge.stop();
    await router.stop();
  }
});

test('a bad edit is refused: the running config keeps serving, the error names file, line and field once, and /config/status shows it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-bad-'));
  const p = await ports();
  const file = join(dir, 'router.yaml');
  writeFileSync(file, stringify(routerDoc(p, [route('a', '/a', 'a')])));
  const proc = startMain('router', file);
  try {
    await ready(p.admin);
    const good = await status(p.admin);
    // A route naming a service that does not exist, at a known line.
    writeFileSync(file, stringify(routerDoc(p, [route('a', '/a', 'a'), route('c', '/c', 'nowhere')])));
    const refused = await waitFor('refusal shown', async () => ((await status(p.admin)).lastError ?? undefined), 10_000);
    assert.equal(refused.location, file);
    assert.match(refused.problems.join('\n'), /line \d+:\d+: routes\[1\]\.service: names service "nowhere"/);
    assert.equal((await viaRouter(p, '/a/x')).status, 200, 'the old config serves');
    assert.equal((await viaRouter(p, '/c/x')).status, 404);
    const still = await status(p.admin);
    assert.equal(still.hash, good.hash);
    assert.equal(still.generation, 1);
    // The same bad file seen again (SIGHUP) is not logged again.
    proc.child.kill('SIGHUP');
    await waitFor('refusal logged', () => proc.logged('config-refused')[0], 5_000);
    await new Promise((r) => setTimeout(r, 500));
    const lines = proc.logged('config-refused');
    assert.equal(lines.length, 1, proc.output());
    assert.match(String(lines[0]!.msg), new RegExp(`config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} refused`));
    // Fixed: applied, and the error cleared.
    writeFileSync(file, stringify(routerDoc(p, [route('a', '/a', 'a'), route('c', '/c', 'b')])));
    await waitFor('fix applied', async () => ((await status(p.admin)).generation === 2 || undefined), 10_000);
    assert.equal((await status(p.admin)).lastError, null);
    assert.equal((await viaRouter(p, '/c/x')).status, 200);
  } finally {
    await proc.stop();
  }
});

test('a config file that goes missing is one refusal however often its directory changes; the file back, it serves on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-gone-'));
  const p = await ports();
  const file = join(dir, 'router.yaml');
  const text = stringify(routerDoc(p, [route('a', '/a', 'a')]));
  writeFileSync(file, text);
  const proc = startMain('router', file);
  try {
    await ready(p.admin);
    rmSync(file);
    // Other files come and go beside it: each is a change of the watched directory.
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, `other-${i}`), 'x');
      await new Promise((r) => setTimeout(r, 200));
    }
    const refused = await waitFor('refusal shown', async () => ((await status(p.admin)).lastError ?? undefined), 10_000);
    assert.match(refused.problems.join('\n'), /cannot read the file/);
    await waitFor('refusal logged', () => proc.logged('config-refused')[0], 5_000);
    assert.equal(proc.logged('config-refused').length, 1, proc.output());
    assert.equal((await viaRouter(p, '/a/x')).status, 200, 'the running config serves');
    writeFileSync(file, stringify(routerDoc(p, [route('a', '/a', 'a'), route('b', '/b', 'b')])));
    await waitFor('the file back, applied', async () => ((await status(p.admin)).generation === 2 || undefined), 10_000);
    assert.equal((await viaRouter(p, '/b/x')).status, 200);
  } finally {
    await proc.stop();
  }
});

test('with file watching off, SIGHUP reloads; a changed listen port is reported as needing a restart and the running port stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-hup-'));
  const p = await ports();
  const file = join(dir, 'router.yaml');
  writeFileSync(file, stringify(routerDoc(p, [route('a', '/a', 'a')], { config: { watchFile: false } })));
  const proc = startMain('router', file);
  try {
    await ready(p.admin);
    const other = await freePort();
    writeFileSync(file, stringify(routerDoc({ port: other, admin: p.admin }, [route('a', '/a', 'a'), route('b', '/b', 'b')], { config: { watchFile: false } })));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await status(p.admin)).generation, 1, 'no watch: the edit waits for SIGHUP');
    proc.child.kill('SIGHUP');
    const s = await waitFor('SIGHUP applied', async () => { const x = await status(p.admin); return x.generation === 2 ? x : undefined; }, 10_000);
    assert.deepEqual(s.restartRequired, ['router.listen']);
    assert.equal((await viaRouter(p, '/b/x')).status, 200, 'the new route, on the running port');
    // Logs reach stdout a little after the status changes.
    await waitFor('restart-required logged', () => proc.logged('config-restart-required').find((l) => (l.fields as string[]).includes('router.listen')), 5_000);
    assert.equal((await waitFor('reload logged', () => proc.logged('config-reloaded')[0], 5_000)).trigger, 'sighup');
  } finally {
    await proc.stop();
  }
});

test('a request in flight finishes on the config it started with; the next one sees the new', async () => {
  const p = await ports();
  const router = await startTier('router', configFrom(routerDoc(p, [route('a', '/a', 'a')])));
  try {
    const slow = viaRouter(p, '/a/slow', { 'x-echo-delay-ms': '600' });
    await new Promise((r) => setTimeout(r, 150));
    const report = await router.runtime.reload(configFrom(routerDoc(p, [route('b', '/b', 'b')])));
    assert.deepEqual(report.restartRequired, []);
    assert.equal((await slow).status, 200, 'the request begun on the old config completed');
    assert.equal((await viaRouter(p, '/a/x')).status, 404);
    assert.equal((await viaRouter(p, '/b/x')).status, 200);
  } finally {
    await router.runtime.close();
  }
});

test('a service whose definition did not change keeps its pooled connections and its breaker state across a reload', async () => {
  const p = await ports();
  const dead = `http://127.0.0.1:${await freePort()}`;
  const services = { a: { static: [a.url] }, b: { static: [b.url] }, flaky: { static: [dead, b.url], balancer: { algorithm: 'round-robin' }, circuitBreaker: { minimumRequests: 1 } } };
  const first = routerDoc(p, [route('a', '/a', 'a'), route('f', '/f', 'flaky')], { services });
  const router = await startTier('router', configFrom(first));
  try {
    assert.equal((await viaRouter(p, '/a/1')).status, 200);
    const afterFirst = await connectionCount(a);
    assert.ok(afterFirst >= 1);
    // Open the dead instance's circuit: a failed attempt (retried to the good one).
    for (let i = 0; i < 4; i++) await viaRouter(p, '/f/x');
    await router.runtime.reload(configFrom({ ...first, routes: [route('a', '/a', 'a'), route('f', '/f', 'flaky'), route('b', '/b', 'b')] }));
    assert.equal((await viaRouter(p, '/a/2')).status, 200);
    assert.equal(await connectionCount(a), afterFirst, 'the keep-alive connection to a was reused, not reopened');
    const status = (await (await fetch(`${router.addresses.adminUrl}/ready`)).json()) as { checks: { discovery: { services: { flaky: { openCircuits: unknown[] } } } } };
    assert.equal(status.checks.discovery.services.flaky.openCircuits.length, 1, 'the open circuit survived the reload');
  } finally {
    await router.runtime.close();
  }
});

function connectionCount(backend: EchoBackend): Promise<number> {
  return new Promise((r, j) => backend.server.getConnections((err, n) => (err ? j(err) : r(n))));
}

test('a config that validates but cannot be built changes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-reload-build-'));
  const p = await ports();
  const router = await startTier('router', configFrom(routerDoc(p, [route('a', '/a', 'a')])));
  try {
    const keyFile = join(dir, 'identity.key');
    const bad = configFrom(routerDoc(p, [route('b', '/b', 'b')], { identity: { keys: [{ id: 'k', secretFile: keyFile }], ttlSeconds: 60 } }));
    await assert.rejects(router.runtime.reload(bad));
    assert.equal((await viaRouter(p, '/a/x')).status, 200);
    assert.equal((await viaRouter(p, '/b/x')).status, 404);
  } finally {
    await router.runtime.close();
  }
});
