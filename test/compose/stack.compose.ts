// Issue 16's checklist and the README's quick start, against the real
// `docker compose up -d --build --scale edge=2 --scale router=2` of the
// repository's docker-compose.yml (on the local stand-in base images), every
// request over HTTPS through the published front: one stack, checked in
// order, then `down -v` must leave nothing. Run by npm run test:compose (not
// npm test), after .ci/run's Docker stage. The published ports are free ones
// picked by Docker on 127.0.0.1 (the *_PUBLISH variables), not the defaults
// 8443/8080/8404/8500, which a CI machine may already use.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { composeProject, docker, requireStandIns, type ComposeProject } from '../harness/compose.js';
import { send, type Reply } from '../harness/gateway.js';
import { waitFor } from '../harness/ports.js';
import type { ClusterView } from '../../shared/dashboard/cluster.js';

const IMAGE = 'gatehouse-test/gatehouse:compose';
const UP_TIMEOUT_MS = 8 * 60_000; // a cold build: npm ci, tsc, and the image twice over
const CONSUL_RECOVERY_LIMIT_MS = 60_000;
const LOOPBACK_ANY_PORT = '127.0.0.1:';

interface Echo { backend: string; url: string; headers: Record<string, string> }
interface AccessLine { requestId: string; path: string; status?: number; client: string; upstream?: string; consumer?: string }

/** The access lines of one container's log (both tiers write one JSON line per request). */
async function accessLines(id: string): Promise<AccessLine[]> {
  return (await docker(['logs', id])).split('\n').filter((l) => l.includes('"event":"access"')).map((l) => JSON.parse(l) as AccessLine);
}

/** Which of the containers logged each of these request ids: container id -> how many. */
async function whoServed(ids: readonly string[], requestIds: ReadonlySet<string>): Promise<Map<string, number>> {
  const served = new Map<string, number>();
  for (const id of ids) served.set(id, (await accessLines(id)).filter((l) => requestIds.has(l.requestId)).length);
  return served;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const short = (id: string) => id.slice(0, 12);

class Stack {
  constructor(readonly project: ComposeProject, readonly https: string, readonly ca: string) {}

  client(): Agent {
    return new Agent({ connect: { ca: this.ca, servername: 'localhost' } });
  }

  /** One request on its own connection, so the front picks an edge for it anew. */
  async once(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    const client = this.client();
    try {
      return await send(client, `https://${this.https}${path}`, { headers });
    } finally {
      await client.close();
    }
  }

  get(client: Agent, path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return send(client, `https://${this.https}${path}`, { headers });
  }

  /** docker compose run --rm tools ARGS...: its output (stdout and stderr; callers pick what they need). */
  async tools(...args: string[]): Promise<string> {
    const run = await this.project.run(['run', '--rm', 'tools', ...args], 120_000);
    assert.equal(run.code, 0, `tools ${args.join(' ')} failed:\n${run.output}`);
    return run.output;
  }

  async token(subject: string): Promise<string> {
    const out = await this.tools('token', subject);
    const token = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(out)?.[0];
    assert.ok(token, `no JWT in the output of tools token ${subject}:\n${out}`);
    return token;
  }

  async consul(): Promise<string> {
    const [consul] = await this.project.published('consul', 8500);
    assert.ok(consul, 'consul runs and is published');
    return `http://${consul.address}`;
  }
}

/** The dev CA the `secrets` service wrote into the volume, read as the README says. */
async function secretsCa(project: ComposeProject): Promise<string> {
  const run = await project.run(['run', '--rm', '--entrypoint', 'cat', 'tools', '/secrets/certs/ca.pem'], 120_000);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(run.output)?.[0];
  assert.ok(run.code === 0 && pem, `no CA in the secrets volume:\n${run.output}`);
  return `${pem}\n`;
}

/** The first network the container is on, with its address and the network's gateway there. */
async function networkOf(id: string): Promise<{ network: string; ip: string; gateway: string }> {
  const out = await docker(['inspect', '--format', '{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{$n.IPAddress}} {{$n.Gateway}}{{"\\n"}}{{end}}', id]);
  const [network, ip, gateway] = out.trim().split('\n')[0]!.split(' ');
  return { network: network!, ip: ip!, gateway: gateway! };
}

async function dashboard(t: TestContext, s: Stack): Promise<void> {
  const printed = await s.tools('dashboard');
  const token = /^dashboard\s+.+\/dashboard#token=(\S+)$/m.exec(printed)?.[1];
  assert.ok(token, `no dashboard URL with a token in the output of tools dashboard:\n${printed}`);
  const [admin] = await s.project.published('front', 8445);
  assert.ok(admin, 'the front publishes the admin port');
  assert.match(admin.address, /^127\.0\.0\.1:\d+$/, 'published on loopback only');
  const base = `http://${admin.address}`;
  const page = await fetch(`${base}/dashboard`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>Gatehouse dashboard<\/title>/);
  const started = Date.now();
  const view = await waitFor('2 edges and 2 routers in the cluster view', async () => {
    const res = await fetch(`${base}/admin/cluster`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as ClusterView;
    const tiers = body.members.filter((m) => m.snapshot).map((m) => m.snapshot!.instance.tier).sort();
    return tiers.join() === 'edge,edge,router,router' && body.health.demo && body.health.orders ? body : undefined;
  }, 30_000, 500);
  t.diagnostic(`cluster view whole after ${Date.now() - started} ms: ${view.members.map((m) => `${m.snapshot!.instance.tier} ${m.adminUrl ?? 'self'}`).join(', ')}`);
  assert.deepEqual(view.consul, { ok: true });
  assert.ok(view.health.demo!.every((i) => i.status === 'passing'), JSON.stringify(view.health.demo));
  assert.equal((await fetch(`${base}/admin/cluster`)).status, 401, 'no token, no data');
  assert.match(await (await fetch(`${base}/metrics`)).text(), /^gatehouse_requests_total\{/m);
}

async function quickStart(t: TestContext, s: Stack): Promise<void> {
  const demo = await s.once('/demo/hello');
  assert.equal(demo.status, 200, demo.text);
  const echo = demo.json<Echo>();
  assert.equal(echo.backend, 'demo');
  assert.equal(echo.url, '/demo/hello');
  assert.equal(echo.headers['x-request-id'], demo.headers['x-request-id'], 'the backend saw the edge\'s request id');

  const anonymous = await s.once('/orders/42');
  assert.equal(anonymous.status, 401, anonymous.text);
  const refusal = anonymous.json<{ error: string; message: string; requestId: string }>();
  assert.equal(refusal.error, 'unauthorized');
  assert.equal(refusal.requestId, anonymous.headers['x-request-id']);

  const bearer = { authorization: `Bearer ${await s.token('alice')}` };
  const client = s.client();
  try {
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 8 && !statuses.includes(429); i++) {
      const r = await s.get(client, '/orders/42', bearer);
      if (r.status === 200) assert.equal(r.json<Echo>().backend, 'orders');
      if (r.status === 429) assert.equal(r.json<{ error: string }>().error, 'rate_limited');
      statuses.push(r.status);
    }
    const elapsed = Date.now() - started;
    t.diagnostic(`quick start: /orders with alice's token gave ${statuses.join(' ')} in ${elapsed} ms`);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200], 'five quick requests are admitted');
    assert.equal(statuses.at(-1), 429, 'then the limit refuses');
    // The limit is a GCRA of 5 per 10 s: one more request is earned every 2 s of a slow run.
    if (statuses.length - 1 > 5 + Math.floor(elapsed / 2_000)) {
      // Over the limit: say whether an edge fell back to counting locally (a Redis command past its timeout).
      const redisEvents = (await Promise.all((await s.project.ids('edge')).map((id) => docker(['logs', id]))))
        .flatMap((log) => log.split('\n').filter((l) => /"event":"(redis-|ratelimit-store-)/.test(l)));
      assert.fail(`admitted ${statuses.length - 1} in ${elapsed} ms; the edges' Redis events:\n${redisEvents.join('\n') || '(none)'}`);
    }
  } finally {
    await client.close();
  }

  const created = await s.tools('keys', 'create', '--consumer', 'acme', '--scopes', 'reports:read');
  const key = /Created API key[^\n]*\n\s*\n\s+(\S+)\s*\n/.exec(created)?.[1];
  assert.ok(key, `no key in the output of tools keys create:\n${created}`);
  const report = await s.once('/reports/q1', { 'x-api-key': key });
  assert.equal(report.status, 200, report.text);
  assert.equal(report.json<Echo>().backend, 'orders');
  assert.equal((await s.once('/reports/q1', { 'x-api-key': `${key}x` })).status, 401, 'a wrong key is refused');
}

async function everyInstanceCarriesTraffic(t: TestContext, s: Stack): Promise<void> {
  const edges = await s.project.ids('edge');
  const routers = await s.project.ids('router');
  assert.equal(edges.length, 2);
  assert.equal(routers.length, 2);
  const requestIds = new Set<string>();
  for (let i = 0; i < 16; i++) {
    const r = await s.once(`/demo/spread-${i}`);
    assert.equal(r.status, 200, r.text);
    requestIds.add(String(r.headers['x-request-id']));
  }
  // Each tier writes its access line when the exchange ends: give the last ones a moment to reach the log.
  const byEdge = await waitFor('every request in an edge\'s log', async () => {
    const served = await whoServed(edges, requestIds);
    return [...served.values()].reduce((a, b) => a + b, 0) === requestIds.size ? served : undefined;
  }, 10_000, 250);
  const byRouter = await waitFor('every request in a router\'s log', async () => {
    const served = await whoServed(routers, requestIds);
    return [...served.values()].reduce((a, b) => a + b, 0) === requestIds.size ? served : undefined;
  }, 10_000, 250);
  t.diagnostic(`16 requests: edges ${[...byEdge.values()].join('/')}, routers ${[...byRouter.values()].join('/')}`);
  for (const [id, n] of byEdge) assert.ok(n > 0, `edge ${short(id)} served none of the 16 requests`);
  for (const [id, n] of byRouter) assert.ok(n > 0, `router ${short(id)} served none of the 16 requests`);

  // The client each edge logs is the one the front's PROXY header carried: where the published port's
  // connection came from (Docker's proxy, on the network's gateway), never the front itself.
  const [front] = await s.project.ids('front');
  const net = await networkOf(front!);
  for (const edge of edges) {
    const clients = new Set((await accessLines(edge)).filter((l) => requestIds.has(l.requestId)).map((l) => l.client));
    for (const client of clients) {
      assert.notEqual(client, net.ip, `edge ${short(edge)} logs the front (${net.ip}) as the client`);
      assert.ok([net.gateway, '127.0.0.1'].includes(client), `edge ${short(edge)} logs client ${client}, expected ${net.gateway}`);
    }
  }
}

async function oneLimitAcrossEdges(t: TestContext, s: Stack): Promise<void> {
  const edges = await s.project.ids('edge');
  const bearer = { authorization: `Bearer ${await s.token('carol')}` };
  const admitted = new Set<string>();
  const all = new Set<string>();
  const started = Date.now();
  for (let i = 0; i < 12; i++) {
    const r = await s.once(`/orders/limit-${i}`, bearer);
    assert.ok(r.status === 200 || r.status === 429, `${r.status} ${r.text}`);
    all.add(String(r.headers['x-request-id']));
    if (r.status === 200) admitted.add(String(r.headers['x-request-id']));
  }
  const elapsed = Date.now() - started;
  const byEdge = await waitFor('the 12 requests in the edges\' logs', async () => {
    const served = await whoServed(edges, all);
    return [...served.values()].reduce((a, b) => a + b, 0) === all.size ? served : undefined;
  }, 10_000, 250);
  const admittedByEdge = await whoServed(edges, admitted);
  t.diagnostic(`12 requests of one consumer in ${elapsed} ms: edges ${[...byEdge.values()].join('/')}, admitted ${[...admittedByEdge.values()].join('/')}`);
  for (const [id, n] of byEdge) assert.ok(n > 0, `edge ${short(id)} got none of the 12 requests`);
  // Two separate limits would admit up to 5 on each edge; the shared one admits 5 in all (plus what 2 s refills).
  assert.ok(admitted.size >= 5 && admitted.size <= 5 + Math.floor(elapsed / 2_000), `admitted ${admitted.size} of 12 in ${elapsed} ms`);
}

async function serviceRegisteredThroughConsul(t: TestContext, s: Stack): Promise<void> {
  const [front] = await s.project.ids('front');
  const { network } = await networkOf(front!);
  // Another instance of `demo`, which does not register itself: an operator registers it through Consul's API.
  const extra = (await docker([
    'run', '-d', '--init', '--no-healthcheck', ...s.project.extraLabel, '--network', network, IMAGE,
    'node', 'dist/deploy/dev/echo-backend.js', 'demo-extra', '9003', '0.0.0.0',
  ])).trim();
  const { ip } = await networkOf(extra);
  const consul = await s.consul();
  const registered = Date.now();
  const put = await fetch(`${consul}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ ID: 'demo-extra', Name: 'demo', Address: ip, Port: 9003, Check: { HTTP: `http://${ip}:9003/health`, Interval: '1s' } }),
  });
  assert.equal(put.status, 200, await put.text());
  await waitFor('a reply from the instance registered through Consul', async () => {
    const r = await s.once('/demo/extra');
    return r.status === 200 && r.json<Echo>().backend === 'demo-extra' ? r : undefined;
  }, 30_000, 250);
  t.diagnostic(`the instance registered through Consul's API answered ${Date.now() - registered} ms after its registration`);
  const deregister = await fetch(`${consul}/v1/agent/service/deregister/demo-extra`, { method: 'PUT' });
  assert.equal(deregister.status, 200);
  await docker(['rm', '-f', extra]);
}

/** Whether Consul again lists both demo services and both routers as passing, and /demo answers. */
async function recovered(s: Stack): Promise<boolean> {
  const consul = await s.consul();
  for (const [service, count] of [['demo', 1], ['orders', 1], ['gatehouse-router', 2]] as const) {
    const r = await fetch(`${consul}/v1/health/service/${service}?passing=true`, { signal: AbortSignal.timeout(2_000) });
    if (!r.ok || (await r.json() as unknown[]).length < count) return false;
  }
  return (await s.once('/demo/recovered')).status === 200;
}

async function consulRecreated(t: TestContext, s: Stack): Promise<void> {
  const [before] = await s.project.ids('consul');
  const started = Date.now();
  // Its volume goes too (-v): the agent keeps local registrations in /consul/data, and a new Consul that
  // found them there would prove nothing about the services re-registering (and the volume would be left over).
  const rm = await s.project.run(['rm', '--stop', '--force', '-v', 'consul'], 120_000);
  assert.equal(rm.code, 0, `removing consul failed:\n${rm.output}`);
  const up = await s.project.run(['up', '-d', '--no-deps', 'consul'], 180_000);
  assert.equal(up.code, 0, `recreating consul failed:\n${up.output}`);
  const [after] = await s.project.ids('consul');
  assert.notEqual(after, before, 'a new Consul container');
  const empty = await fetch(`${await s.consul()}/v1/catalog/service/gatehouse-router`).then((r) => r.json() as Promise<unknown[]>, () => []);
  t.diagnostic(`routers in the new Consul's catalog as soon as it was up: ${empty.length}`);
  const recreated = Date.now();
  let failed = 0;
  await waitFor('Consul\'s catalog and /demo to recover', async () => {
    try {
      if (await recovered(s)) return true;
    } catch { /* the new agent is not answering yet */ }
    failed++;
    return undefined;
  }, CONSUL_RECOVERY_LIMIT_MS, 500);
  const recovery = Date.now() - recreated;
  t.diagnostic(`Consul recreated in ${recreated - started} ms; catalog and traffic whole again ${recovery} ms later (${failed} probes before)`);
  // Once whole, it stays whole: nothing was restarted but Consul.
  for (let i = 0; i < 10; i++) assert.equal((await s.once(`/demo/after-consul-${i}`)).status, 200);
}

/**
 * One replica of a tier stopped as `docker compose stop` would (SIGTERM, then the stop_grace_period) while four
 * clients loop through the front: a router leaves Consul first, an edge fails its readiness so the front's
 * checks take it out during its drain delay; either way no request may fail and the replica exits 0.
 */
async function stoppedUnderLoad(t: TestContext, s: Stack, service: 'router' | 'edge'): Promise<void> {
  const [victim, survivor] = await s.project.ids(service);
  assert.ok(victim && survivor);
  await waitFor('the stack to serve /demo before the load starts', async () => (await s.once('/demo/before-load')).status === 200 || undefined, 30_000, 500);
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const worker = async (n: number) => {
    const client = s.client();
    try {
      while (running) {
        try {
          const r = await s.get(client, `/demo/load-${n}`);
          if (r.status === 200) ok++; else failures.push(`${r.status} ${r.text}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    } finally {
      await client.close();
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  await sleep(2_000);
  const beforeStop = ok;
  const stopped = Date.now();
  await docker(['stop', '--time', '25', victim], 60_000); // SIGTERM, and the grace period docker compose stop gives (stop_grace_period)
  const stopMs = Date.now() - stopped;
  await sleep(3_000);
  running = false;
  await Promise.all(workers);
  const exit = (await docker(['inspect', '--format', '{{.State.ExitCode}}', victim])).trim();
  t.diagnostic(`${service} ${short(victim)} stopped in ${stopMs} ms (exit ${exit}) under load: ${ok + failures.length} requests (${beforeStop} before the stop), ${failures.length} failed`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} requests failed`);
  assert.ok(ok > beforeStop, 'requests went on during and after the stop');
  assert.equal(exit, '0', `the ${service} drained and exited 0`);
  const last = await accessLines(survivor);
  assert.ok(last.length > 0, `the other ${service} carries the traffic`);
}

test('docker compose up --build --scale edge=2 --scale router=2: the quick start and issue 16\'s checklist over HTTPS, and down -v leaves nothing', { timeout: 10 * 60_000 }, async (t) => {
  await requireStandIns();
  const project = composeProject({
    name: 'gatehouse-test',
    env: {
      GATEHOUSE_IMAGE: IMAGE,
      GATEHOUSE_HTTPS_PUBLISH: LOOPBACK_ANY_PORT,
      GATEHOUSE_HTTP_PUBLISH: LOOPBACK_ANY_PORT,
      GATEHOUSE_STATS_PUBLISH: LOOPBACK_ANY_PORT,
      GATEHOUSE_CONSUL_PUBLISH: LOOPBACK_ANY_PORT,
      GATEHOUSE_ADMIN_PUBLISH: LOOPBACK_ANY_PORT,
    },
  });
  t.diagnostic(`compose: ${project.command.join(' ')}`);
  t.after(async () => { if (project.mayBeUp) await project.down(); }); // a failed assertion or a timeout

  // A run killed before its cleanup leaves its project up: start from nothing.
  assert.deepEqual(await project.down(), [], 'nothing left of an earlier run');

  const upStarted = Date.now();
  const up = await project.run(['up', '-d', '--build', '--scale', 'edge=2', '--scale', 'router=2'], UP_TIMEOUT_MS);
  assert.equal(up.code, 0, `compose up failed:\n${up.output}`);
  t.diagnostic(`up --build took ${Date.now() - upStarted} ms; image ${IMAGE}: ${(await docker(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim()} bytes`);
  assert.deepEqual((await project.containers()).filter((c) => !c.startsWith('secrets ')), [
    'consul running', 'demo running', 'edge running', 'edge running', 'front running', 'orders running', 'redis running', 'router running', 'router running',
  ]);

  const [https] = await project.published('front', 8443);
  assert.ok(https, 'the front is published');
  assert.match(https.address, /^127\.0\.0\.1:\d+$/, 'HTTPS is published on loopback only');
  const stack = new Stack(project, https.address, await secretsCa(project));
  // up -d returns once the front's container runs; its first health checks of the edges take a moment.
  await waitFor('the front to pass a request to an edge', async () => (await stack.once('/demo/ready')).status === 200 || undefined, 60_000, 500);

  await t.test('quick start: anonymous 200 on /demo, 401 then 200 with a tools token on /orders, 429 after 5, a tools API key on /reports', (t) => quickStart(t, stack));
  await t.test('the dashboard and metrics: tools dashboard prints the URL with the token; it shows both edges, both routers and the demo services', (t) => dashboard(t, stack));
  await t.test('both edges and both routers carry traffic; the edges log the real client, not the front', (t) => everyInstanceCarriesTraffic(t, stack));
  await t.test('one rate limit holds across the two edges', (t) => oneLimitAcrossEdges(t, stack));
  await t.test('a service registered through Consul\'s HTTP API while the stack runs starts receiving traffic', (t) => serviceRegisteredThroughConsul(t, stack));
  await t.test('Consul recreated: registrations and traffic recover on their own', (t) => consulRecreated(t, stack));
  await t.test('stopping one router under load loses no request', (t) => stoppedUnderLoad(t, stack, 'router'));
  await t.test('stopping one edge under load loses no request: the front takes it out while it drains', (t) => stoppedUnderLoad(t, stack, 'edge'));

  assert.deepEqual(await project.down(), [], 'no container, network or volume of the project is left');
});
