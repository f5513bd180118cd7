// A method no route can name (TRACE, PROPFIND, a made-up verb) is refused by
// both tiers with 404 and the JSON error, before any other work, and the
// access line says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, send, type Gateway } from '../harness/gateway.js';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  backend = await startEchoBackend('app');
  gw = await startGateway({ routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }], services: { app: { static: [backend.url] } } });
});

after(async () => {
  await gw.close();
  await backend.close();
});

test('the edge refuses TRACE with 404 not_found and logs the method as not routable; the router never sees it', async () => {
  const r = await send(gw.client, `${gw.edgeUrl}/app/x`, { method: 'TRACE' });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), { error: 'not_found', message: 'No route matches this request.', requestId: r.headers['x-request-id'] });
  const line = gw.edge.logs.access().find((l) => l.requestId === r.headers['x-request-id'])!;
  assert.equal(line.status, 404);
  assert.equal(line.reason, 'method TRACE not routable');
  assert.equal(gw.router.logs.access().filter((l) => l.requestId === r.headers['x-request-id']).length, 0);
  assert.equal(backend.received.length, 0);
});

test('the router, reachable directly, refuses PROPFIND the same way', async () => {
  const res = await request(`${gw.routerUrl}/app/x`, { method: 'PROPFIND' });
  const body = await res.body.json() as Record<string, unknown>;
  assert.equal(res.statusCode, 404);
  assert.equal(body.error, 'not_found');
  const line = gw.router.logs.access().find((l) => l.requestId === body.requestId)!;
  assert.equal(line.reason, 'method PROPFIND not routable');
  assert.equal(backend.received.length, 0);
});
