// The lifecycle of both tiers on SIGTERM: leave Consul, fail readiness at
// once, keep accepting through the drain delay, stop accepting, finish what is
// in flight within the shutdown timeout, close clients, exit 0. A rolling
// restart of the routers under load loses no request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, configFrom, httpsClient, send, certificates, TEST_IDENTITY, type Gateway, type Tier } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned, type Owned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let consul: TestConsul;
let redis: TestRedis;
let backend: EchoBackend;
/** Every tier process a test starts, stopped in after() whatever a test's assertions did. */
const spawned: Owned[] = [];

before(async () => {
  [consul, redis, backend] = await Promise.all([startConsul(), startRedis(), startEchoBackend('drain')]);
});

after(async () => {
  await Promise.all(spawned.map((p) => p.stop('SIGKILL')));
  await backend?.close();
  await consul?.stop();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exitCode = (p: Owned) => new Promise<number | null>((r) => (p.child.exitCode !== null ? r(p.child.exitCode) : p.child.once('exit', (c) => r(c))));
/** The log lines a process wrote from its shutdown line on. */
const linesAfterShutdown = (p: Owned) => {
  const lines = p.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.slice(lines.findIndex((l) => l.event === 'shutdown'));
};

/** A tier as a process, from a config object, as an operator runs it. */
async function spawnTier(kind: 'edge' | 'router', config: Record<string, unknown>): Promise<Owned> {
  const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-lifecycle-')), `${kind}.yaml`);
  writeFileSync(file, stringify({ identity: TEST_IDENTITY, authorization: { default: 'allow' }, ...config }));
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), `dist/${kind}/main.js`), '--config', file]);
  spawned.push(proc);
  const admin = (config[kind] as { admin: { port: number } }).admin.port;
  await waitFor(`${kind} ready`, async () => {
    if (proc.child.exitCode !== null) throw new Error(proc.output());
    return (await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false)) || undefined;
  }, 15_000);
  return proc;
}

const route = { name: 'app', match: { pathPrefix: '/' }, service: 'app', auth: { anonymous: true } };

test('a rolling restart of the routers under load loses no request', async (t) => {
  // Every router leaves Consul, then serves a second more while the edge's blocking query returns.
  const router = { register: { checkIntervalSeconds: 30 }, shutdown: { drainDelayMs: 1_000 } };
  const gw: Gateway = await startGateway({
    consul: consul.address,
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [backend.url] } },
    routerService: { consul: { service: 'gatehouse-router' } },
    routerExtra: router,
  });
  const more = () => startTier('router', configFrom({ ...gw.routerConfig, router: { ...gw.routerConfig.router, listen: { port: 0 } } }));
  const live: Tier[] = [gw.router];
  try {
    live.push(await more());
    const statuses: number[] = [];
    let running = true;
    // Four clients, each sending one request after another. One sends slow POSTs, longer than the drain
    // delay and never retried by the edge: one is in flight on a router when its listener closes.
    const slow = { method: 'POST', body: 'order', headers: { 'x-echo-delay-ms': '1500' } } as const;
    const clients = Array.from({ length: 4 }, (_, i) => (async () => {
      while (running) {
        const r = await gw.get('/work', i === 0 ? slow : {}).catch(() => ({ status: 0 }));
        statuses.push(r.status);
      }
    })());
    const takesTraffic = async (tier: Tier) => {
      const since = tier.logs.access().length;
      await waitFor('the new router to take traffic', () => tier.logs.access().length > since || undefined, 5_000, 20);
    };
    // Replace each router in turn: stop the old one (SIGTERM's path), start its replacement.
    for (let round = 0; round < 2; round++) {
      await sleep(300);
      const old = live.shift()!;
      // Slow POSTs spread over both routers just before one leaves: some are in flight on it when it closes.
      const inFlight = Array.from({ length: 4 }, () => gw.get('/work', { ...slow, headers: { 'x-echo-delay-ms': '2000' } }).then((r) => r.status, () => 0));
      await sleep(50);
      const replacement = more();
      await old.runtime.close();
      statuses.push(...await Promise.all(inFlight));
      const fresh = await replacement;
      live.push(fresh);
      await takesTraffic(fresh);
    }
    await sleep(300);
    running = false;
    await Promise.all(clients);
    const failed = statuses.filter((s) => s !== 200);
    t.diagnostic(`${statuses.length} requests through a rolling restart of two routers, ${failed.length} not 200`);
    assert.ok(statuses.length > 100, `enough load: ${statuses.length}`);
    assert.deepEqual(failed, [], 'no request failed');
    // Each router left Consul on its way out (its check, every 30 s, would have kept it listed).
    const listed = (await (await fetch(`${consul.address}/v1/health/service/gatehouse-router?passing=true`)).json()) as { Service: { Port: number } }[];
    assert.deepEqual(listed.map((e) => e.Service.Port).sort(), live.map((r) => Number(new URL(r.addresses.url).port)).sort());
  } finally {
    await gw.client.close();
    await gw.edge.runtime.close();
    for (const r of live) await r.runtime.close();
  }
});

test('on SIGTERM the edge turns unready at once, accepts new connections through its drain delay, finishes in-flight requests, refuses after, and exits 0', async (t) => {
  const routerAdmin = await freePort();
  const router = await spawnTier('router', {
    router: { listen: { port: 0 }, admin: { port: routerAdmin }, register: { service: 'drain-router', checkIntervalSeconds: 30 } },
    consul: { address: consul.address },
    routes: [route],
    services: { app: { static: [backend.url] } },
  });
  const certs = await certificates;
  const [port, admin] = [await freePort(), await freePort()];
  const drainDelayMs = 1_000;
  let edge: Owned | undefined;
  try {
    // Redis and Consul clients open, so closing them is part of what is tested.
    edge = await spawnTier('edge', {
      edge: {
        listen: { port }, admin: { port: admin }, tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] },
        router: { consul: { service: 'drain-router' } }, shutdown: { drainDelayMs, timeoutMs: 10_000 },
      },
      consul: { address: consul.address },
      redis: { url: redis.url, commandTimeoutMs: 2_000 }, // a loaded test machine must not time a request's command out
      rateLimits: { 'per-client': { key: 'ip', windows: [{ name: 'minute', limit: 1000, periodSeconds: 60 }] } },
      routes: [{ ...route, rateLimit: 'per-client' }],
      services: { app: { static: [backend.url] } },
    });
    const url = `https://127.0.0.1:${port}`;
    const client = await httpsClient();
    // In flight across the whole drain delay and past it.
    const inFlight = send(client, `${url}/slow`, { headers: { 'x-echo-delay-ms': String(drainDelayMs + 700) } });
    await sleep(200);
    const signalledAt = Date.now();
    edge.child.kill('SIGTERM');
    await waitFor('readiness to fail', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 503 || undefined, 1_000, 10);
    const unreadyMs = Date.now() - signalledAt;
    // A client that has not noticed yet still gets served, on a new connection.
    const late = await httpsClient();
    const served = await send(late, `${url}/late`);
    const servedAt = Date.now() - signalledAt;
    assert.equal(served.status, 200, 'served during the drain delay');
    assert.equal(served.headers.connection, 'close', 'and told to go elsewhere next time');
    await late.close();
    // Then the listener closes: new connections are refused.
    const refusedAt = await waitFor('new connections to be refused', async () => {
      const probe = await httpsClient();
      const r = await send(probe, `${url}/after`).then(() => undefined, (err: Error & { code?: string }) => (err.code === 'ECONNREFUSED' ? Date.now() - signalledAt : undefined));
      await probe.destroy();
      return r;
    }, 5_000, 20);
    t.diagnostic(`after SIGTERM: unready at ${unreadyMs} ms, a new connection served at ${servedAt} ms, refused from ${refusedAt} ms (drain delay ${drainDelayMs} ms)`);
    // At once: the signal is handled before anything else, so balancers see it within the first half of the
    // drain delay (usually under 50 ms; 267 ms on a machine at load average 16).
    assert.ok(unreadyMs < drainDelayMs / 2, `unready ${unreadyMs} ms after SIGTERM`);
    assert.ok(servedAt < drainDelayMs && refusedAt >= drainDelayMs, `served at ${servedAt} ms, refused from ${refusedAt} ms (drain delay ${drainDelayMs} ms)`);
    const done = await inFlight;
    assert.equal(done.status, 200, 'the in-flight request completed');
    assert.equal(await exitCode(edge), 0, edge.output());
    await client.close();
    const after = linesAfterShutdown(edge);
    assert.equal(after.at(-1)!.event, 'shutdown-complete');
    assert.equal(after.at(-1)!.outcome, 'drained');
    assert.deepEqual(after.filter((l) => l.level === 'warn' || l.level === 'error'), [], 'closing Redis and Consul logs no error');
  } finally {
    await edge?.stop();
    await router.stop();
  }
  // The router deregisters on SIGTERM too.
  assert.equal(await exitCode(router), 0, router.output());
  assert.match(router.output(), /"event":"consul-deregistered"/);
});

test('requests that outlive shutdown.timeoutMs are cut and the process exits 1; a second signal exits at once', async () => {
  const config = (port: number, admin: number, shutdown: Record<string, number>) => ({
    router: { listen: { port }, admin: { port: admin }, shutdown },
    routes: [route],
    services: { app: { static: [backend.url] } },
  });
  const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);

  const [port, admin] = [await freePort(), await freePort()];
  const slow = await spawnTier('router', config(port, admin, { drainDelayMs: 0, timeoutMs: 300 }));
  const stuck = fetch(`http://127.0.0.1:${port}/stuck`, { headers: { 'x-echo-delay-ms': '5000', [IDENTITY_HEADER]: assertion } }).then((r) => r.status, () => 'cut');
  await sleep(150);
  const signalledAt = Date.now();
  slow.child.kill('SIGTERM');
  assert.equal(await exitCode(slow), 1, slow.output());
  assert.ok(Date.now() - signalledAt < 2_000, 'bounded by the timeout');
  assert.equal(await stuck, 'cut');
  assert.match(slow.output(), /"event":"shutdown-forced"/);

  const [port2, admin2] = [await freePort(), await freePort()];
  const patient = await spawnTier('router', config(port2, admin2, { drainDelayMs: 20_000 }));
  patient.child.kill('SIGTERM');
  await waitFor('readiness to fail', async () => (await fetch(`http://127.0.0.1:${admin2}/ready`)).status === 503 || undefined, 2_000, 10);
  const secondAt = Date.now();
  patient.child.kill('SIGTERM');
  assert.equal(await exitCode(patient), 1, patient.output());
  assert.ok(Date.now() - secondAt < 1_000, 'the second signal does not wait for the drain');
  assert.match(patient.output(), /"event":"shutdown-immediate"/);
});
