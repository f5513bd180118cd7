// Instances Consul accepts at registration but no client could reach (an
// address with a space and a slash, userinfo or a port in it, a port out of
// range or none, an unknown scheme) are skipped one by one, each named once
// in the log, and the good instances of the same service take every request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { waitFor } from '../harness/ports.js';

let consul: TestConsul;
let good: EchoBackend[];
let gw: Gateway;

/** id, what is registered, the field named when it is skipped. */
const BAD = [
  ['bad-address', { address: 'not a host/x' }, 'Service.Address'],
  ['bad-userinfo', { address: 'user@evil.example' }, 'Service.Address'],
  ['bad-host-port', { address: '127.0.0.1:99' }, 'Service.Address'],
  ['bad-port-high', { port: 70_000 }, 'Service.Port'],
  ['bad-port-negative', { port: -5 }, 'Service.Port'],
  ['no-port', { port: 0 }, 'Service.Port'], // Consul then leaves Port out of its answer
  ['bad-scheme', { meta: { 'gatehouse-scheme': 'ftp' } }, 'Service.Meta.gatehouse-scheme'],
] as const;

before(async () => {
  consul = await startConsul();
  good = await Promise.all(['g1', 'g2', 'g3'].map((n) => startEchoBackend(n)));
  const [g1, g2] = good as [EchoBackend, EchoBackend, EchoBackend];
  await consul.register({ id: 'g1', name: 'mixed', port: g1.port, meta: null });
  // A weight in meta that is not a number: the instance stays, with Consul's weight.
  await consul.register({ id: 'g2', name: 'mixed', port: g2.port, meta: { 'gatehouse-weight': 'heavy' } });
  // Each bad one would otherwise reach g1: only its bad field keeps it out.
  for (const [id, bad] of BAD) await consul.register({ id, name: 'mixed', port: g1.port, ...bad });
  gw = await startGateway({
    consul: consul.address,
    routes: [{ name: 'mixed', match: { pathPrefix: '/mixed' }, service: 'mixed' }],
    services: { mixed: { consul: { service: 'mixed' } } },
  });
});

after(async () => {
  await gw?.close();
  await Promise.all((good ?? []).map((b) => b.close()));
  await consul?.stop();
});

const lines = (event: string, instance: string) => gw.router.logs.records.filter((r) => r.event === event && r.instance === instance);

test('Consul holds every registration as given, null port and null meta included', async () => {
  const entries = (await (await fetch(`${consul.address}/v1/health/service/mixed`)).json()) as { Service: Record<string, unknown> }[];
  const byId = new Map(entries.map((e) => [e.Service.ID as string, e.Service]));
  assert.equal(byId.size, 2 + BAD.length);
  assert.equal(byId.get('bad-address')!.Address, 'not a host/x');
  assert.equal(byId.get('bad-port-high')!.Port, 70_000);
  assert.equal(byId.get('no-port')!.Port ?? null, null);
  assert.equal(byId.get('g1')!.Meta, null);
});

test('bad instances are skipped, each named once in the log, and every request goes to a good one', async () => {
  const seen = new Map<string, number>();
  for (let i = 0; i < 30; i++) {
    const r = await gw.get(`/mixed/${i}`);
    assert.equal(r.status, 200, `request ${i}: ${r.text}`);
    const name = r.json<EchoReply>().backend;
    seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ['g1', 'g2']);
  for (const [id, , field] of BAD) {
    const skipped = lines('discovery-instance-skipped', id);
    assert.equal(skipped.length, 1, `${id}: one line`);
    assert.equal(skipped[0]!.field, field, id);
    assert.equal(skipped[0]!.service, 'mixed');
    assert.equal(skipped[0]!.level, 'warn');
  }
  const ignored = lines('discovery-weight-ignored', 'g2');
  assert.equal(ignored.length, 1);
  assert.equal(ignored[0]!.value, '"heavy"');
  const ready = (await (await fetch(`${gw.router.addresses.adminUrl}/ready`)).json()) as { checks: { discovery: { services: { mixed: { instances: number } } } } };
  assert.equal(ready.checks.discovery.services.mixed.instances, 2);
});

test('a later change to the service does not log the bad instances again', async () => {
  await consul.register({ id: 'g3', name: 'mixed', port: good[2]!.port });
  await waitFor('g3 in rotation', async () => {
    for (let i = 0; i < 3; i++) if ((await gw.get('/mixed/new')).json<EchoReply>().backend === 'g3') return true;
    return undefined;
  }, 5_000);
  for (const [id] of BAD) assert.equal(lines('discovery-instance-skipped', id).length, 1, id);
  assert.equal(lines('discovery-weight-ignored', 'g2').length, 1);
});
