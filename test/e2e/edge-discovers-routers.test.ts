// The edge finds router instances through Consul the same way the router
// finds backends: a router registered in Consul starts taking traffic.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { waitFor } from '../harness/ports.js';

let consul: TestConsul;
let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  consul = await startConsul();
  backend = await startEchoBackend('solo');
  gw = await startGateway({
    consul: consul.address,
    routes: [{ name: 'solo', match: { pathPrefix: '/' }, service: 'solo' }],
    services: { solo: { static: [backend.url] } },
    routerService: { consul: { service: 'gatehouse-router' } },
  });
});

after(async () => {
  await gw?.close();
  await backend?.close();
  await consul?.stop();
});

test('the edge answers 503 until a router is registered, then proxies through it', async () => {
  const before = await gw.get('/x');
  assert.equal(before.status, 503);
  assert.equal(before.json().error, 'no_healthy_upstream');
  await consul.register({ id: 'router-1', name: 'gatehouse-router', port: Number(new URL(gw.routerUrl).port) });
  const r = await waitFor('traffic through the registered router', async () => {
    const res = await gw.get('/x');
    return res.status === 200 ? res : undefined;
  }, 2_000, 20);
  assert.equal(r.json<EchoReply>().backend, 'solo');
});
