// Everything that registers itself in Consul (a router, the demo backend) keeps
// its registration there: after Consul is recreated with empty state, traffic
// through the edge recovers by itself, with nothing restarted. Discovery logs
// a change only when an instance list really changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import type { EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway, type Tier } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned, type Owned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';

let consul: TestConsul;
let backend: Owned;
let backendPort: number;
let gw: Gateway;

before(async () => {
  consul = await startConsul();
  backendPort = await freePort();
  // The demo backend as a process, as compose runs it: it registers itself through the shared module.
  backend = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/deploy/dev/echo-backend.js'), 'demo', String(backendPort), '127.0.0.1'], {
    ...process.env, GATEHOUSE_REGISTER_CONSUL: consul.address, GATEHOUSE_ANTI_ENTROPY_SECONDS: '1', GATEHOUSE_INSTANCE: 'demo-a',
  });
  gw = await startGateway({
    consul: consul.address,
    // Short blocking queries: their timeouts (answers with nothing new) happen within the test.
    consulExtra: { waitSeconds: 1 },
    routes: [
      { name: 'demo', match: { pathPrefix: '/demo' }, service: 'demo' },
      { name: 'ghost', match: { pathPrefix: '/ghost' }, service: 'ghost' },
    ],
    services: { demo: { consul: { service: 'demo' } }, ghost: { consul: { service: 'ghost' } } },
    routerService: { consul: { service: 'gatehouse-router' } },
    routerExtra: { register: { checkIntervalSeconds: 1, antiEntropySeconds: 1 } },
  });
});

after(async () => {
  await gw?.close();
  await backend?.stop();
  await consul?.stop();
});

const events = (tier: Tier, event: string) => tier.logs.records.filter((r) => r.event === event);
const passing = async (service: string) =>
  ((await (await fetch(`${consul.address}/v1/health/service/${service}?passing=true`)).json()) as { Service: { ID: string } }[]).map((e) => e.Service.ID);
const demoAnswers = async () => {
  const r = await gw.get('/demo/x');
  return r.status === 200 ? r : undefined;
};

test('the demo backend registers itself with a /health check and names its instance in every reply', async () => {
  const r = await waitFor('traffic to the self-registered demo backend', demoAnswers, 10_000);
  const reply = r.json<EchoReply>();
  assert.equal(reply.backend, 'demo');
  assert.equal(reply.instance, `demo-a-${backendPort}`, 'replicas are told apart by instance');
  assert.equal((await passing('demo')).length, 1);
  const health = await fetch(`http://127.0.0.1:${backendPort}/health`);
  assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }]);
});

test('after Consul is recreated with empty state, the router and the backend register again and traffic recovers within 10 s', async (t) => {
  await waitFor('traffic before the outage', demoAnswers, 10_000);
  // A client probing all along: what a user would see during and after the outage.
  const failures: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const r = await gw.get('/demo/x').catch(() => undefined);
      if (r?.status !== 200) failures.push(Date.now());
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const killedAt = Date.now();
    await consul.stop();
    await consul.start(); // same port, fresh -dev agent: it knows no service
    const upAt = Date.now();
    const registeredAt = await waitFor('both registrations back in Consul', async () =>
      ((await passing('gatehouse-router')).length === 1 && (await passing('demo')).length === 1 && Date.now()) || undefined, 10_000, 50);
    const reregisteredMs = registeredAt - upAt;
    // Without the registrations, discovery would have believed the empty lists by now (confirmed
    // after a second answer) and the edge would answer 503 no_healthy_upstream: it must not.
    await new Promise((r) => setTimeout(r, 3_000));
    probing = false;
    await probe;
    const lastFailure = failures.at(-1);
    t.diagnostic(`re-registered ${reregisteredMs} ms after the fresh Consul answered (${registeredAt - killedAt} ms after the old one was killed); ` +
      `${failures.length} failed probes${lastFailure ? `, the last ${lastFailure - upAt} ms after Consul answered` : ''}`);
    assert.ok(reregisteredMs < 10_000);
    assert.ok(lastFailure === undefined || lastFailure < registeredAt + 1_000, 'traffic works again once the registrations are back');
    assert.equal((await demoAnswers())?.status, 200);
  } finally {
    probing = false;
    await probe;
  }
  assert.equal(events(gw.router, 'consul-reregistered').length, 1, 'one line says the router registered again');
  assert.ok(events(gw.router, 'consul-register-failed').length <= 1, 'an outage is logged once, not per retry');
  await waitFor('the backend to log its re-registration', () => backend.output().includes('"event":"consul-reregistered"') || undefined, 5_000);
  // Nothing was restarted: the same backend answers.
  assert.equal((await demoAnswers())!.json<EchoReply>().instance, `demo-a-${backendPort}`);
});

test('discovery-change is logged only when an instance list changed, not for identical answers', async () => {
  await waitFor('traffic', demoAnswers, 10_000);
  await new Promise((r) => setTimeout(r, 1_500)); // whatever the recreation left to settle
  const count = (tier: Tier, service: string) => events(tier, 'discovery-change').filter((r) => r.service === service).length;
  const counts = () => ({ demo: count(gw.router, 'demo'), ghost: count(gw.router, 'ghost'), routers: count(gw.edge, 'router') });
  const demoChanges = async (n: number) => {
    await waitFor(`discovery-change number ${n} for demo`, () => count(gw.router, 'demo') >= n || undefined, 5_000);
    await new Promise((r) => setTimeout(r, 1_500)); // blocking queries (waitSeconds: 1) time out and come back meanwhile
    assert.equal(count(gw.router, 'demo'), n);
  };
  const start = counts();
  // A real change is logged, once.
  await consul.register({ id: 'demo-b', name: 'demo', port: backendPort, tags: ['blue'], ttlCheck: true });
  await demoChanges(start.demo + 1);
  assert.equal((events(gw.router, 'discovery-change').at(-1)!.instances as string[]).length, 2);
  // Consul answers again with a new index but the same instances (a tag no route filters on, other
  // services changing): nothing is logged.
  await consul.register({ id: 'demo-b', name: 'demo', port: backendPort, tags: ['green'], ttlCheck: true });
  await consul.register({ id: 'demo-b', name: 'demo', port: backendPort, tags: ['green', 'canary'], ttlCheck: true });
  for (let i = 0; i < 3; i++) await consul.register({ id: 'unrelated', name: 'unrelated', port: 7000 + i, meta: { round: String(i) } });
  await demoChanges(start.demo + 1);
  await consul.deregister('demo-b');
  await demoChanges(start.demo + 2);
  assert.deepEqual(counts(), { ...start, demo: start.demo + 2 }, 'the other lists never changed');
});

test('the demo backend deregisters on SIGTERM and exits 0', async () => {
  assert.equal((await passing('demo')).length, 1);
  backend.child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => (backend.child.exitCode !== null ? r(backend.child.exitCode) : backend.child.once('exit', (c) => r(c))));
  assert.equal(code, 0, backend.output());
  assert.deepEqual(await passing('demo'), []);
  assert.match(backend.output(), /"event":"consul-deregistered"/);
});
