// Routers register themselves in Consul and edges find them there, as
// routers find backends: a new router takes traffic within 2 s, and a router
// shutting down deregisters before it drains, so clients see no error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, configFrom, type Gateway, type Tier } from '../harness/gateway.js';
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
    routerExtra: { register: { checkIntervalSeconds: 1 } },
  });
});

after(async () => {
  await gw?.close();
  await backend?.close();
  await consul?.stop();
});

const servedBy = (tier: Tier, since: number) => tier.logs.access().length - since;

test('a router registers itself in Consul and the edge proxies through it', async () => {
  const r = await waitFor('traffic through the self-registered router', async () => {
    const res = await gw.get('/x');
    return res.status === 200 ? res : undefined;
  }, 5_000, 50);
  assert.equal(r.json<EchoReply>().backend, 'solo');
  const services = (await (await fetch(`${consul.address}/v1/health/service/gatehouse-router?passing=true`)).json()) as { Service: { Port: number } }[];
  assert.deepEqual(services.map((s) => s.Service.Port), [Number(new URL(gw.routerUrl).port)]);
});

test('a new router instance takes traffic within 2 s, and one shutting down deregisters first so no request fails', async () => {
  // A check interval far longer than the test: the instance is passing from its registration on,
  // not from Consul's first check of it, which could come up to 30 s later.
  const register = { ...gw.routerConfig.router!.register, checkIntervalSeconds: 30 };
  // Once deregistered, it keeps serving a second while every edge's blocking query returns.
  const shutdown = { drainDelayMs: 1_000 };
  const second = await startTier('router', configFrom({ ...gw.routerConfig, router: { ...gw.routerConfig.router, listen: { port: 0 }, register, shutdown } }));
  let closed = false;
  try {
    const registeredAt = Date.now();
    const before = second.logs.access().length;
    await waitFor('the second router to receive traffic', async () => {
      await Promise.all([gw.get('/y'), gw.get('/y')]);
      return servedBy(second, before) > 0 || undefined;
    }, 2_000, 20);
    assert.ok(Date.now() - registeredAt <= 2_000);

    let stop = false;
    const statuses: number[] = [];
    const load = (async () => { while (!stop) statuses.push((await gw.get('/z')).status); })();
    await new Promise((r) => setTimeout(r, 200));
    await second.runtime.close();
    closed = true;
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    assert.ok(statuses.length > 10);
    assert.deepEqual([...new Set(statuses)], [200], 'no client error while a router left');
  } finally {
    if (!closed) await second.runtime.close(); // a failed assertion must not leave a listener holding the test file open
  }
});
