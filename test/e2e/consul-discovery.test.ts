// Through both tiers with backends discovered in a real Consul agent, and
// readiness that follows real Consul and Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { waitFor } from '../harness/ports.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTier, send, configFrom } from '../harness/gateway.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';
import { TEST_IDENTITY } from '../harness/gateway.js';

let consul: TestConsul;
let redis: TestRedis;
const backends: EchoBackend[] = [];
let v2: EchoBackend; // an instance of the same service with another tag, on its own port: it must never be chosen
let gw: Gateway;
const snapshotDir = mkdtempSync(join(tmpdir(), 'gatehouse-snapshot-'));

before(async () => {
  [consul, redis] = await Promise.all([startConsul(), startRedis()]);
  for (const name of ['c1', 'c2', 'c3']) {
    const b = await startEchoBackend(name);
    backends.push(b);
    await consul.register({ id: name, name: 'catalog', port: b.port, tags: ['v1'], ttlCheck: true });
  }
  v2 = await startEchoBackend('v2');
  await consul.register({ id: 'other-v2', name: 'catalog', port: v2.port, tags: ['v2'] });
  gw = await startGateway({
    consul: consul.address,
    consulExtra: { snapshotDir },
    redis: redis.url,
    routes: [
      { name: 'catalog', match: { pathPrefix: '/catalog' }, service: 'catalog' },
      { name: 'ghost', match: { pathPrefix: '/ghost' }, service: 'ghost' },
    ],
    services: {
      catalog: { consul: { service: 'catalog', tags: ['v1'] } },
      ghost: { consul: { service: 'ghost' } },
    },
  });
});

after(async () => {
  await gw?.close();
  await Promise.all([...backends, ...(v2 ? [v2] : [])].map((b) => b.close()));
  await consul?.stop();
  await redis?.stop();
});

async function backendsHit(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await gw.get('/catalog/item');
    assert.equal(r.status, 200, r.text);
    seen.add(r.json<EchoReply>().backend);
  }
  return seen;
}

async function ready(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('instances registered in Consul with the tag filter receive traffic in turn', async () => {
  await waitFor('router readiness', async () => (await ready(gw.router.addresses.adminUrl)).status === 200 || undefined);
  assert.deepEqual([...(await backendsHit(6))].sort(), ['c1', 'c2', 'c3']);
  assert.equal(v2.received.length, 0, 'the instance without the v1 tag gets nothing');
});

test('an instance whose Consul check turns critical gets no new requests within 2 seconds', async () => {
  await consul.setHealth('c2', 'fail');
  const started = Date.now();
  await waitFor('c2 to leave rotation', async () => (!(await backendsHit(3)).has('c2')) || undefined, 2_000, 20);
  assert.ok(Date.now() - started < 2_000);
  assert.ok(!(await backendsHit(9)).has('c2'), 'and stays out');
  await consul.setHealth('c2', 'pass');
  await waitFor('c2 to come back', async () => (await backendsHit(3)).has('c2') || undefined, 3_000, 20);
});

test('a deregistered instance gets no new requests within 2 seconds', async () => {
  await consul.deregister('c3');
  const started = Date.now();
  await waitFor('c3 to leave rotation', async () => (!(await backendsHit(3)).has('c3')) || undefined, 2_000, 20);
  assert.ok(Date.now() - started < 2_000);
  assert.deepEqual([...(await backendsHit(8))].sort(), ['c1', 'c2']);
});

test('a list that turns empty for a moment is held, so no request fails; one that stays empty is believed within seconds', async () => {
  const remaining = [['c1', backends[0]!], ['c2', backends[1]!]] as const;
  let registered = true;
  const deregister = async () => { registered = false; await Promise.all(remaining.map(([id]) => consul.deregister(id))); };
  const reregister = async () => { await Promise.all(remaining.map(([id, b]) => consul.register({ id, name: 'catalog', port: b.port, tags: ['v1'], ttlCheck: true }))); registered = true; };
  try {
    let stop = false;
    const statuses: number[] = [];
    const load = Promise.all([0, 1].map(async () => { while (!stop) statuses.push((await gw.get('/catalog/blip')).status); }));
    // Both instances leave Consul and are back 300 ms later: one empty answer, which alone must not empty the service.
    await deregister();
    await new Promise((r) => setTimeout(r, 300));
    await reregister();
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await load;
    assert.ok(statuses.length > 10);
    assert.deepEqual([...new Set(statuses)], [200], 'no request failed while the list was empty for a moment');
    // Gone for good: the second empty answer, a second later, is believed.
    await deregister();
    const started = Date.now();
    await waitFor('503 once the empty list is confirmed', async () => (await gw.get('/catalog/gone')).status === 503 || undefined, 5_000, 50);
    assert.ok(Date.now() - started < 3_000, `believed after ${Date.now() - started} ms`);
  } finally {
    if (!registered) await reregister(); // whatever happened above, the tests after this one find both instances
  }
  // Consul may report the two registrations in two answers: wait for the second.
  await waitFor('both instances back in rotation', async () => ((await gw.get('/catalog/back')).status === 200 && (await backendsHit(6)).size === 2) || undefined, 5_000, 50);
});

test('a service with no passing instance gives 503 no_healthy_upstream', async () => {
  const r = await gw.get('/ghost/x');
  assert.equal(r.status, 503);
  assert.equal(r.json().error, 'no_healthy_upstream');
  assert.equal(r.json().requestId, r.headers['x-request-id']);
});

test('readiness reports Consul discovery and Redis; a Redis outage later shows in the details without pulling the edge', async () => {
  const edge = await ready(gw.edge.addresses.adminUrl);
  assert.equal(edge.status, 200);
  assert.equal((edge.body.checks as Record<string, { ok: boolean }>).redis!.ok, true);
  const router = await ready(gw.router.addresses.adminUrl);
  const checks = router.body.checks as Record<string, { ok: boolean; services?: Record<string, { instances: number }> }>;
  assert.equal(checks.discovery!.ok, true);
  assert.equal(checks.discovery!.services!.catalog!.instances, 2);
  assert.equal(checks.redis, undefined, 'nothing the router runs uses Redis: it has none to wait on');

  await redis.stop();
  const redisDetail = async () => ((await ready(gw.edge.addresses.adminUrl)).body.checks as Record<string, { status: string }>).redis!.status;
  await waitFor('the outage in the edge readiness details', async () => ((await redisDetail()) !== 'ready') || undefined, 5_000);
  assert.equal((await ready(gw.edge.addresses.adminUrl)).status, 200, 'still ready: each Redis-backed policy degrades as configured');
  const r = await gw.get('/catalog/during-redis-outage');
  assert.equal(r.status, 200, 'traffic that needs no Redis keeps flowing');
  await redis.start();
  await waitFor('Redis back in the details', async () => ((await redisDetail()) === 'ready') || undefined, 10_000);
});

test('with Consul stopped under load, the router keeps serving the last known instances', async () => {
  let stop = false;
  const statuses: number[] = [];
  const load = Promise.all([0, 1, 2].map(async () => { while (!stop) statuses.push((await gw.get('/catalog/under-load')).status); }));
  await new Promise((r) => setTimeout(r, 100));
  await consul.stop();
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await load;
  assert.ok(statuses.length > 10);
  assert.deepEqual([...new Set(statuses)], [200], 'no request failed when Consul went away');
  assert.deepEqual([...(await backendsHit(4))].sort(), ['c1', 'c2']);
  await waitFor('the outage to show in readiness details', async () => {
    const d = ((await ready(gw.router.addresses.adminUrl)).body.checks as Record<string, { services: Record<string, { lastError?: string }> }>).discovery!;
    return d.services.catalog!.lastError ? true : undefined;
  }, 40_000);
  assert.equal((await ready(gw.router.addresses.adminUrl)).status, 200, 'still ready: last known instances keep serving');
  assert.deepEqual([...(await backendsHit(4))].sort(), ['c1', 'c2']);
});

test('a router restarted while Consul is down starts from its on-disk snapshot and serves', async () => {
  const restarted = await startTier('router', configFrom({ ...gw.routerConfig, router: { ...gw.routerConfig.router, listen: { port: 0 } } }));
  try {
    const body = (await (await fetch(`${restarted.addresses.adminUrl}/ready`)).json()) as { ready: boolean; checks: { discovery: { services: { catalog: { from?: string; instances: number } } } } };
    assert.equal(body.ready, true);
    assert.equal(body.checks.discovery.services.catalog.from, 'snapshot');
    assert.equal(body.checks.discovery.services.catalog.instances, 2);
    const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await send(gw.client, `${restarted.addresses.url}/catalog/x`, { headers: { [IDENTITY_HEADER]: assertion } });
      assert.equal(r.status, 200);
      seen.add(r.json<EchoReply>().backend);
    }
    assert.deepEqual([...seen].sort(), ['c1', 'c2']);
  } finally {
    await restarted.runtime.close();
  }
});
