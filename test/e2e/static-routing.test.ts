// Through both tiers over real sockets with static discovery: what a client
// and a backend observe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, httpsClient, send, certificates, type Gateway } from '../harness/gateway.js';
import { freePort } from '../harness/ports.js';
import { rawRequest, http1 } from '../harness/raw.js';

let a: EchoBackend;
let b: EchoBackend;
let gw: Gateway;
let deadPort: number;

before(async () => {
  a = await startEchoBackend('a');
  b = await startEchoBackend('b');
  deadPort = await freePort();
  gw = await startGateway({
    routes: [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'orders' },
      { name: 'orders-admin', match: { pathPrefix: '/orders/admin', methods: ['GET'] }, service: 'only-a' },
      { name: 'slow', match: { pathPrefix: '/slow' }, service: 'orders', timeoutMs: 300 },
      { name: 'dead', match: { pathPrefix: '/dead' }, service: 'dead' },
      { name: 'api-host', match: { host: 'api.example.test', pathPrefix: '/' }, service: 'only-a' },
    ],
    services: {
      orders: { static: [a.url, b.url] },
      'only-a': { static: [a.url] },
      dead: { static: [`http://127.0.0.1:${deadPort}`] },
    },
    redirectHttp: true,
  });
});

after(async () => {
  await gw.close();
  await a.close();
  await b.close();
});

test('requests are proxied edge -> router -> backend over HTTPS and round-robin over instances', async () => {
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await gw.get(`/orders/${i}`);
    assert.equal(r.status, 200);
    seen.push(r.json<EchoReply>().backend);
  }
  assert.deepEqual(seen, ['a', 'b', 'a', 'b', 'a', 'b']);
});

test('the edge reuses keep-alive connections to the router', async () => {
  let opened = 0;
  const count = () => { opened++; };
  gw.router.runtime.app.server.on('connection', count);
  for (let i = 0; i < 20; i++) assert.equal((await gw.get(`/orders/pooled-${i}`)).status, 200);
  gw.router.runtime.app.server.off('connection', count);
  assert.ok(opened <= 1, `20 sequential requests opened ${opened} router connections`);
});

test('the backend receives the request id, X-Forwarded-* and a traceparent continuing the client trace', async () => {
  const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const r = await gw.get('/orders/1?x=1', { headers: { traceparent: `00-${clientTrace}-00f067aa0ba902b7-01`, tracestate: 'vendor=abc' } });
  const seen = r.json<EchoReply>();
  assert.equal(seen.url, '/orders/1?x=1');
  assert.equal(seen.headers['x-request-id'], r.headers['x-request-id']);
  assert.match(String(seen.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1, 127.0.0.1', 'client address, then the edge as the router saw it');
  assert.equal(seen.headers.tracestate, 'vendor=abc');
  const [, traceId, spanId] = String(seen.headers.traceparent).split('-');
  assert.equal(traceId, clientTrace);
  await new Promise((res) => setTimeout(res, 50));
  const edgeLine = gw.edge.logs.access().find((l) => l.requestId === r.headers['x-request-id']);
  const routerLine = gw.router.logs.access().find((l) => l.requestId === r.headers['x-request-id']);
  assert.equal(edgeLine?.parentSpanId, '00f067aa0ba902b7', 'the edge\'s parent is the client\'s span');
  assert.equal(routerLine?.parentSpanId, edgeLine?.spanId, 'the router\'s parent is the edge\'s span');
  assert.equal(spanId, routerLine?.spanId, 'the backend\'s parent is the router\'s span');
  assert.equal(new Set(['00f067aa0ba902b7', edgeLine?.spanId, routerLine?.spanId]).size, 3, 'each hop sends its own span id');
});

test('one trace id joins the access lines of both tiers and reaches the backend', async () => {
  const r = await gw.get('/orders/trace-me');
  const requestId = r.headers['x-request-id'];
  const seen = r.json<EchoReply>();
  const [, traceId, backendParent] = String(seen.headers.traceparent).split('-');
  await new Promise((res) => setTimeout(res, 50));
  const edgeLine = gw.edge.logs.access().find((l) => l.requestId === requestId);
  const routerLine = gw.router.logs.access().find((l) => l.requestId === requestId);
  assert.ok(edgeLine && routerLine, 'one access line per tier');
  assert.equal(edgeLine.traceId, traceId);
  assert.equal(routerLine.traceId, traceId);
  assert.equal(routerLine.parentSpanId, edgeLine.spanId, 'the router span is a child of the edge span');
  assert.equal(routerLine.spanId, backendParent, 'the backend sees the router span as its parent');
  for (const line of [edgeLine, routerLine]) {
    assert.equal(line.route, 'orders');
    assert.equal(line.status, 200);
    assert.equal(line.path, '/orders/trace-me');
    assert.ok(typeof line.durationMs === 'number' && typeof line.bytesOut === 'number' && (line.bytesOut as number) > 0);
  }
  assert.equal(edgeLine.service, 'gatehouse-router');
  assert.equal(routerLine.service, 'orders');
  assert.equal(routerLine.upstream, seen.backend === 'a' ? a.url : b.url);
});

test('client-supplied forwarding headers and request ids are not trusted from an untrusted peer', async () => {
  const r = await gw.get('/orders/spoof', {
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http', 'x-request-id': 'chosen-by-client', 'x-real-ip': '10.0.0.1', forwarded: 'for=6.6.6.6' },
  });
  const seen = r.json<EchoReply>();
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-host'], new URL(gw.edgeUrl).host, 'the Host the client connected with');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-request-id'], r.headers['x-request-id'], 'the id the edge made and returned');
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(seen.headers['x-real-ip'], undefined);
  assert.equal(seen.headers.forwarded, undefined);
});

test('hop-by-hop headers and headers named in Connection never reach the backend, and cannot strip gateway headers', async () => {
  const r = await rawRequest(gw.edgeUrl, `GET /orders/hop HTTP/1.1\r\nHost: localhost\r\nConnection: close, x-secret, x-forwarded-for, x-request-id\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nProxy: http://evil\r\nTE: trailers, deflate\r\nUpgrade: example/1\r\n\r\n`);
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as EchoReply;
  for (const h of ['x-secret', 'keep-alive', 'proxy-authorization', 'proxy', 'upgrade']) assert.equal(seen.headers[h], undefined, h);
  assert.equal(seen.headers.te, 'trailers');
  assert.ok(seen.headers['x-forwarded-for'], 'the gateway still sets X-Forwarded-For');
  assert.ok(seen.headers['x-request-id'], 'the gateway still sets X-Request-Id');
});

test('a longer prefix with a method wins; host routes match on Host', async () => {
  assert.equal((await gw.get('/orders/admin/x')).json<EchoReply>().backend, 'a');
  const viaHost = await rawRequest(gw.edgeUrl, http1('GET', '/anything', [], 'api.example.test'));
  assert.equal(viaHost.status, 200);
  assert.equal((JSON.parse(viaHost.body) as EchoReply).backend, 'a');
  assert.equal((await gw.get('/anything')).status, 404, 'other hosts do not match the host route');
  assert.equal((await gw.get('/ordersx')).status, 404, 'prefixes match whole segments only');
});

test('no route gives 404 JSON with the request id and no stack', async () => {
  const r = await gw.get('/nowhere');
  assert.equal(r.status, 404);
  assert.match(String(r.headers['content-type']), /application\/json/);
  const body = r.json();
  assert.deepEqual(Object.keys(body).sort(), ['error', 'message', 'requestId']);
  assert.equal(body.error, 'not_found');
  assert.equal(body.requestId, r.headers['x-request-id']);
});

test('an unreachable upstream gives 502 and a slow one 504 at the route timeout', async () => {
  const dead = await gw.get('/dead/x');
  assert.equal(dead.status, 502);
  assert.equal(dead.json().error, 'upstream_unreachable');
  const started = Date.now();
  const slow = await gw.get('/slow/x', { headers: { 'x-echo-delay-ms': '3000' } });
  assert.equal(slow.status, 504);
  assert.equal(slow.json().error, 'upstream_timeout');
  assert.ok(Date.now() - started < 2_000, 'answered at the 300 ms route timeout, not the backend delay');
  assert.equal(slow.json().requestId, slow.headers['x-request-id']);
});

test('dot segments are resolved before routing, and encoded slashes or dots are refused with 400', async () => {
  // Raw bytes: an HTTP client library resolves dot segments itself, so the edge would never receive them.
  const cases: [sent: string, received: string, route: string][] = [
    ['/nowhere/../orders/x', '/orders/x', 'orders'],
    ['/orders/./admin/x', '/orders/admin/x', 'orders-admin'],
    ['/orders/x/../admin/y?q=1', '/orders/admin/y?q=1', 'orders-admin'],
    ['/orders/admin/..', '/orders/', 'orders'],
    ['/orders//admin/x', '/orders/admin/x', 'orders-admin'],
    ['/%6Frders/../orders/admin/%7Ex', '/orders/admin/~x', 'orders-admin'],
  ];
  for (const [sent, received, route] of cases) {
    const r = await rawRequest(gw.edgeUrl, http1('GET', sent, []));
    assert.equal(r.status, 200, `${sent}: ${r.body}`);
    assert.equal((JSON.parse(r.body) as EchoReply).url, received, sent);
    await new Promise((res) => setTimeout(res, 20));
    for (const tier of [gw.edge, gw.router]) {
      const line = tier.logs.access().find((l) => l.requestId === r.headers['x-request-id']);
      assert.deepEqual([line?.route, line?.path], [route, received.split('?')[0]], sent);
    }
  }
  for (const bad of ['/orders%2F..%2Fadmin', '/orders/%2e%2e/x', '/orders/%2E%2E%2Fx', '/orders\\x', '/orders/%00', 'http://169.254.169.254/orders']) {
    const res = await rawRequest(gw.edgeUrl, http1('GET', bad, []));
    assert.equal(res.status, 400, bad);
    assert.equal(JSON.parse(res.body).error, 'bad_path', bad);
  }
});

test('request bodies stream through unchanged', async () => {
  const body = Buffer.alloc(256 * 1024, 7);
  const r = await gw.get('/orders/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 200);
  assert.equal(r.json<EchoReply>().bodyBytes, body.length);
  assert.equal(r.json<EchoReply>().method, 'POST');
});

test('HTTP/2 is offered by ALPN and HTTP/1.1 still works', async () => {
  const certs = await certificates;
  const port = Number(new URL(gw.edgeUrl).port);
  const alpn = (protocols: string[]) => new Promise<string | false>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(certs.caFile), ALPNProtocols: protocols }, () => {
      resolve(s.alpnProtocol ?? false);
      s.end();
    });
    s.on('error', reject);
  });
  assert.equal(await alpn(['h2', 'http/1.1']), 'h2');
  assert.equal(await alpn(['http/1.1']), 'http/1.1');
  const h2 = await httpsClient(true);
  const r = await send(h2, `${gw.edgeUrl}/orders/h2`);
  assert.equal(r.status, 200);
  assert.equal(r.json<EchoReply>().url, '/orders/h2');
  await h2.close();
});

test('TLS below 1.2 is refused', async () => {
  const port = Number(new URL(gw.edgeUrl).port);
  const err = await new Promise<Error | undefined>((resolve) => {
    // SECLEVEL=0: this client would complete a TLS 1.1 handshake, so only the edge's floor can refuse it.
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => { s.end(); resolve(undefined); });
    s.on('error', resolve);
  });
  assert.ok(err, 'a TLS 1.1 handshake must fail');
});

test('the plain-HTTP listener redirects to HTTPS and proxies nothing', async () => {
  const url = gw.edge.addresses.extra!.redirectUrl!;
  const before = a.received.length + b.received.length;
  const res = await rawRequest(url, http1('POST', '/orders/x?y=1', ['Content-Length: 0']));
  assert.equal(res.status, 308);
  assert.equal(res.headers.location, `https://localhost:${new URL(gw.edgeUrl).port}/orders/x?y=1`);
  assert.equal(a.received.length + b.received.length, before);
});
