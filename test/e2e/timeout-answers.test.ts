// A route's timeouts are the router's to answer: the edge waits the route's
// timeoutMs and totalTimeoutMs plus a margin, so when a backend is too slow
// the client gets the router's 504 relayed, not an edge that gave up first.
// Told apart by the access lines: the edge's own 504 carries its reason, a
// relayed answer none; the router's names the timeout that fired.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  backend = await startEchoBackend('slow');
  gw = await startGateway({
    routes: [
      { name: 'head-timeout', match: { pathPrefix: '/head' }, service: 'slow', timeoutMs: 300 },
      { name: 'total-timeout', match: { pathPrefix: '/total' }, service: 'slow', totalTimeoutMs: 300 },
    ],
    services: { slow: { static: [backend.url] } },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

async function timedOut(path: string): Promise<{ edge: Record<string, unknown>; router: Record<string, unknown> }> {
  // Far past the route's timeout and the edge's margin: only a timeout ends this request.
  const r = await gw.get(path, { headers: { 'x-echo-delay-ms': '5000' } });
  assert.equal(r.status, 504, r.text);
  assert.equal(r.json().error, 'upstream_timeout');
  const id = r.headers['x-request-id'];
  const edge = gw.edge.logs.access().find((l) => l.requestId === id)!;
  const router = gw.router.logs.access().find((l) => l.requestId === id)!;
  assert.equal(edge.status, 504);
  assert.equal(router.status, 504);
  return { edge, router };
}

test('a backend slower than the route\'s timeoutMs: the client gets the router\'s 504, relayed by the edge', async () => {
  const { edge, router } = await timedOut('/head/x');
  assert.match(String(router.reason), /HEADERS_TIMEOUT/, 'the router gave up on the backend');
  assert.equal(edge.reason, undefined, `the edge relayed the router's answer instead of timing out itself (${String(edge.reason)})`);
  assert.equal(edge.upstream, gw.routerUrl);
});

test('a backend slower than the route\'s totalTimeoutMs: the client gets the router\'s 504, relayed by the edge', async () => {
  const { edge, router } = await timedOut('/total/x');
  assert.match(String(router.reason), /aborted due to timeout/, 'the router\'s total deadline fired');
  assert.equal(edge.reason, undefined, `the edge relayed the router's answer instead of timing out itself (${String(edge.reason)})`);
});
