// Weighted balancing over instances registered in a real Consul agent with
// Weights, through both tiers: traffic follows the weights within 5%.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';

let consul: TestConsul;
let backends: EchoBackend[];
let gw: Gateway;

before(async () => {
  consul = await startConsul();
  backends = await Promise.all(['w1', 'w2', 'w3'].map((n) => startEchoBackend(n)));
  await Promise.all(backends.map((b, i) => consul.register({ id: b.name, name: 'weighted', port: b.port, weight: i + 1 })));
  gw = await startGateway({
    consul: consul.address,
    routes: [{ name: 'w', match: { pathPrefix: '/' }, service: 'weighted' }],
    services: { weighted: { consul: { service: 'weighted' }, balancer: { algorithm: 'weighted' } } },
  });
});

after(async () => {
  await gw?.close();
  await Promise.all((backends ?? []).map((b) => b.close()));
  await consul?.stop();
});

test('instances weighted 1:2:3 in Consul get traffic in that proportion within 5%', async () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 600; i += 20) {
    const replies = await Promise.all(Array.from({ length: 20 }, () => gw.get('/x')));
    for (const r of replies) counts.set(r.json<EchoReply>().backend, (counts.get(r.json<EchoReply>().backend) ?? 0) + 1);
  }
  for (const [name, weight] of [['w1', 1], ['w2', 2], ['w3', 3]] as const) {
    const share = (counts.get(name) ?? 0) / 600;
    assert.ok(Math.abs(share - weight / 6) <= 0.05, `${name}: ${(share * 100).toFixed(1)}% for weight ${weight}/6`);
  }
});
