// The edge strips the client headers that proxies, meshes and frameworks act on, before any stage of
// the route reads them, through the real edge, router and backend: every entry of the default list,
// a route that keeps one, a route that adds one, and an edge-wide edit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { DEFAULT_STRIP_HEADERS } from '../../edge/strip-headers-schema.js';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  backend = await startEchoBackend('strip');
  gw = await startGateway({
    edgeExtra: { stripHeaders: { add: ['x-edge-extra'], keep: ['x-ms-token-*'] } },
    routes: [
      { name: 'plain', match: { pathPrefix: '/plain' }, service: 'app' },
      { name: 'legacy', match: { pathPrefix: '/legacy' }, service: 'app', stripHeaders: { keep: ['x-http-method-override', 'x-envoy-upstream-rq-timeout-ms', 'cf-*'] } },
      { name: 'strict', match: { pathPrefix: '/strict' }, service: 'app', stripHeaders: { add: ['x-tenant-hint', 'x-internal-*'] } },
    ],
    services: { app: { static: [backend.url] } },
  });
});

after(async () => {
  await gw?.close();
  await backend?.close();
});

/** Each entry as a client would send it: a name, or a name under a prefix entry (but the one edge.stripHeaders keeps). */
const sent = DEFAULT_STRIP_HEADERS.filter((e) => e !== 'x-ms-token-*').map((e) => (e.endsWith('*') ? `${e.slice(0, -1)}${e.endsWith('-*') ? '' : '-'}probe` : e));
const seenAt = async (path: string, headers: Record<string, string>) => {
  const r = await gw.get(path, { headers });
  assert.equal(r.status, 200, r.text);
  return r.json<EchoReply>().headers;
};

test('every header of the default list, sent by an anonymous client, is absent at the backend; other headers pass', async () => {
  const headers = Object.fromEntries([...sent, 'x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override',
    'true-client-ip', 'x-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'x-cluster-client-ip', 'x-real-ip', 'x-authenticated-user',
    'x-forwarded-server', 'x-envoy-upstream-rq-timeout-ms', 'x-envoy-fault-abort-request', 'x-debug', 'x-middleware-subrequest', 'l5d-dst-override',
  ].map((name) => [name, name === 'x-http-method-override' ? 'DELETE' : '1']));
  const seen = await seenAt('/plain/x', { ...headers, 'x-kept': 'yes', accept: 'text/plain' });
  const gatewayOwn = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']; // sent with the gateway's values, checked below
  const arrived = Object.keys(headers).filter((name) => seen[name] !== undefined && !gatewayOwn.includes(name));
  assert.deepEqual(arrived, [], 'stripped headers that reached the backend');
  assert.ok(Object.keys(headers).length >= DEFAULT_STRIP_HEADERS.length, `${Object.keys(headers).length} headers sent`);
  assert.equal(seen['x-kept'], 'yes');
  assert.equal(seen.accept, 'text/plain');
  assert.deepEqual(gatewayOwn.map((name) => seen[name]), ['127.0.0.1, 127.0.0.1', 'https', new URL(gw.edgeUrl).host], "the gateway's own values, not the client's");
  assert.equal((await seenAt('/plain/x', { 'x-http-method-override': 'DELETE' }))['x-http-method-override'], undefined);
});

test("a route's keep lets a listed header or prefix through; its add strips more; the edge's own edits apply to every route", async () => {
  const headers = { 'x-http-method-override': 'PATCH', 'x-envoy-upstream-rq-timeout-ms': '5', 'x-envoy-max-retries': '9', 'cf-ipcountry': 'NZ',
    'x-tenant-hint': 'acme', 'x-internal-path': '/admin', 'x-edge-extra': '1', 'x-ms-token-aad-id-token': 't', 'x-original-url': '/admin' };
  const legacy = await seenAt('/legacy/x', headers);
  assert.equal(legacy['x-http-method-override'], 'PATCH', 'kept by name');
  assert.equal(legacy['x-envoy-upstream-rq-timeout-ms'], '5', 'kept by name under a stripped prefix');
  assert.equal(legacy['x-envoy-max-retries'], undefined, 'the rest of the prefix is still stripped');
  assert.equal(legacy['cf-ipcountry'], 'NZ', 'a kept prefix');
  assert.equal(legacy['x-original-url'], undefined);
  assert.equal(legacy['x-tenant-hint'], 'acme', 'passes where no route adds it');
  const strict = await seenAt('/strict/x', headers);
  assert.equal(strict['x-tenant-hint'], undefined, 'added by name');
  assert.equal(strict['x-internal-path'], undefined, 'added by prefix');
  assert.equal(strict['x-http-method-override'], undefined, 'the default list still applies');
  for (const seen of [legacy, strict]) {
    assert.equal(seen['x-edge-extra'], undefined, 'edge.stripHeaders.add');
    assert.equal(seen['x-ms-token-aad-id-token'], 't', 'edge.stripHeaders.keep');
  }
});
