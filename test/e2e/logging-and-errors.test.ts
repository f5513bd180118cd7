// What operators read and what clients get when things go wrong: no secret
// in any log line, JSON errors with a request id for malformed requests too,
// readiness that waits for discovery, and a drain on SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { rawRequest, http1 } from '../harness/raw.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';
import { TEST_IDENTITY } from '../harness/gateway.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  backend = await startEchoBackend('logs');
  gw = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/app' }, service: 'app' }],
    services: { app: { static: [backend.url] } },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

test('credentials never appear in either tier\'s logs, on success or on error', async () => {
  const secrets = ['Bearer eyJsecret-token', 'session=cookie-secret', 'key-secret-123', 'Basic cHJveHktc2VjcmV0'];
  const headers = { authorization: secrets[0]!, cookie: secrets[1]!, 'x-api-key': secrets[2]!, 'proxy-authorization': secrets[3]! };
  assert.equal((await gw.get('/app/ok', { headers })).status, 200);
  assert.equal((await gw.get('/missing', { headers })).status, 404);
  await new Promise((r) => setTimeout(r, 50));
  const text = gw.edge.logs.text() + gw.router.logs.text();
  for (const s of secrets) assert.ok(!text.includes(s.split(' ').pop()!), `log must not contain ${s}`);
  assert.equal(backend.received.at(-1)!.headers.authorization, secrets[0], 'the backend still receives the credential');
});

test('a request the HTTP parser refuses gets a JSON 400 (431 for oversized headers) with a request id and the connection closed', async () => {
  const smuggle = await rawRequest(gw.edgeUrl, 'POST /app HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG');
  assert.equal(smuggle.status, 400);
  const body = JSON.parse(smuggle.body) as Record<string, string>;
  assert.equal(body.error, 'bad_request');
  assert.match(body.requestId!, /^[0-9a-f-]{36}$/);
  assert.ok(!smuggle.raw.includes('at '), 'no stack trace');
  const refusals: [bytes: string, status: number, error: string][] = [
    ['GET /app HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n', 400, 'bad_request'],
    ['GET /app HTTP/1.1\nHost: a\n\n', 400, 'bad_request'],
    // Over the edge's maxHeaderBytes (16,384 by default): the limit has its own answer.
    [`GET /app HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
  ];
  for (const [bad, status, error] of refusals) {
    const r = await rawRequest(gw.edgeUrl, bad);
    assert.equal(r.status, status, JSON.stringify(bad.slice(0, 40)));
    const reply = JSON.parse(r.body) as Record<string, string>;
    assert.equal(reply.error, error, JSON.stringify(bad.slice(0, 40)));
    assert.match(reply.requestId!, /^[0-9a-f-]{36}$/);
    assert.equal(r.headers.connection, 'close');
  }
  assert.ok(!backend.received.some((r) => r.method === 'G' || r.url.startsWith('G')), 'nothing smuggled reached the backend');
});

test('the router refuses the same hostile paths when reached directly', async () => {
  const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
  const r = await rawRequest(gw.routerUrl, http1('GET', '/app/%2e%2e/admin', [`${IDENTITY_HEADER}: ${assertion}`]));
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.body).error, 'bad_path');
});

test('a router is not ready until Consul has answered for its services', async () => {
  const deadConsul = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-ready-'));
  const [port, admin] = [await freePort(), await freePort()];
  const file = join(dir, 'router.yaml');
  writeFileSync(file, stringify({
    router: { listen: { port }, admin: { port: admin } },
    consul: { address: `http://127.0.0.1:${deadConsul}` },
    routes: [{ name: 'x', match: { pathPrefix: '/' }, service: 'x', auth: { anonymous: true }, authz: {} }],
    identity: TEST_IDENTITY,
    services: { x: { consul: { service: 'x' } } },
  }));
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file]);
  try {
    const live = await waitFor('liveness', async () => (await fetch(`http://127.0.0.1:${admin}/live`).then((r) => r.status, () => undefined)));
    assert.equal(live, 200);
    const ready = await fetch(`http://127.0.0.1:${admin}/ready`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { ready: boolean; checks: { discovery: { ok: boolean; services: { x: { resolved: boolean } } } } };
    assert.equal(body.ready, false);
    assert.equal(body.checks.discovery.services.x.resolved, false);
  } finally {
    await proc.stop();
  }
  assert.equal(proc.child.exitCode, 0, 'a failing dependency never crashes the process');
});

test('on SIGTERM a tier turns unready, finishes in-flight requests and exits 0', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-drain-'));
  const [port, admin] = [await freePort(), await freePort()];
  const file = join(dir, 'router.yaml');
  writeFileSync(file, stringify({
    router: { listen: { port }, admin: { port: admin } },
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app', auth: { anonymous: true }, authz: {} }],
    services: { app: { static: [backend.url] } },
    identity: TEST_IDENTITY,
  }));
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file]);
  await waitFor('router ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false)) || undefined);
  const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
  const inFlight = fetch(`http://127.0.0.1:${port}/slow`, { headers: { 'x-echo-delay-ms': '700', [IDENTITY_HEADER]: assertion } });
  await new Promise((r) => setTimeout(r, 150));
  proc.child.kill('SIGTERM');
  const res = await inFlight;
  assert.equal(res.status, 200, 'the in-flight request completed');
  const code = await new Promise<number | null>((r) => (proc.child.exitCode !== null ? r(proc.child.exitCode) : proc.child.once('exit', (c) => r(c))));
  assert.equal(code, 0, proc.output());
  assert.match(proc.output(), /"event":"shutdown"/);
});
