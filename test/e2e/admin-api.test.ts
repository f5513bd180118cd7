// The read-only admin API on both tiers' admin listeners, through real tiers and sockets: the bearer token
// (none, wrong, right), the redacted config, routes, services with each instance's circuit and ejection as
// this tier sees it, rate-limit policies, build facts; off (404) where no token is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startEchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, TEST_IDENTITY } from '../harness/gateway.js';
import { resettingPort } from '../harness/failing-instances.js';
import { freePort, waitFor } from '../harness/ports.js';
import { spawnOwned } from '../harness/process.js';
import { repoRoot } from '../harness/binaries.js';

const EDGE_TOKEN = 'edge-admin-token-0123456789abcdef-edge';
const ROUTER_TOKEN = 'router-admin-token-0123456789abcdef-rtr';
const JWT_SECRET = 'jwt-hmac-secret-that-must-never-show-0123';
const CONSUL_TOKEN = 'consul-acl-token-that-must-never-show-4567';
const TOKEN_ENV = 'GATEHOUSE_TEST_EDGE_ADMIN_TOKEN';

async function admin(base: string, path: string, token?: string): Promise<{ status: number; headers: Headers; text: string; body: any }> {
  const res = await fetch(`${base}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

interface InstanceView { id: string; origin: string; health: string; ejected: unknown; breaker: string }

test('the admin API answers a bearer token only, and shows config (secrets redacted), routes, services with circuit state, rate limits and build', async () => {
  const [good, broken, flaky] = await Promise.all([startEchoBackend('orders'), resettingPort(), startEchoBackend('flaky')]);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'));
  const tokenFile = join(dir, 'router-admin-token');
  writeFileSync(tokenFile, `${ROUTER_TOKEN}\n`);
  process.env[TOKEN_ENV] = EDGE_TOKEN;
  const gw = await startGateway({
    routes: [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'orders' },
      // The backend answers 500 to every request of this route: outlier detection ejects it at the router.
      { name: 'flaky', match: { pathPrefix: '/flaky' }, service: 'flaky', requestHeaders: { set: { 'x-echo-status': '500' } } },
    ],
    services: {
      orders: {
        static: [good.url, broken.url], balancer: { algorithm: 'round-robin' },
        // The reset instance's circuit opens after a few attempts and stays open past the test; ejection is not its cause.
        circuitBreaker: { minimumRequests: 2, openMs: 60_000 }, outlierDetection: { consecutiveFailures: 1000 },
      },
      flaky: { static: [flaky.url], outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 } },
    },
    auth: { jwt: { issuers: [{ issuer: 'https://idp.test', audience: ['gatehouse'], algorithms: ['HS256'], secret: JWT_SECRET }] } },
    rateLimits: { 'per-ip': { key: 'ip', windows: [{ name: 'second', limit: 100, periodSeconds: 1 }] } },
    consul: 'http://127.0.0.1:1', consulExtra: { token: CONSUL_TOKEN },
    edgeExtra: { admin: { port: 0, tokenEnv: TOKEN_ENV }, rateLimit: 'per-ip' },
    routerExtra: { admin: { port: 0, tokenFile } },
  });
  const edge = gw.edge.addresses.adminUrl;
  const router = gw.router.addresses.adminUrl;
  try {
    // Probes stay open: a load balancer or Consul check carries no token.
    assert.equal((await fetch(`${edge}/live`)).status, 200);
    assert.equal((await fetch(`${router}/ready`)).status, 200);

    for (const [base, token] of [[edge, undefined], [edge, ROUTER_TOKEN], [router, EDGE_TOKEN], [router, `${ROUTER_TOKEN}x`], [router, '']] as const) {
      const r = await admin(base, '/admin/config', token);
      assert.equal(r.status, 401, `${base} with ${token === undefined ? 'no token' : `token ${token}`}: ${r.text}`);
      assert.equal(r.body.error, 'unauthorized');
      assert.match(r.body.requestId, /^[0-9a-f]{32}$/);
      assert.equal(r.headers.get('x-request-id'), r.body.requestId);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }

    const config = await admin(edge, '/admin/config', EDGE_TOKEN);
    assert.equal(config.status, 200, config.text);
    assert.equal(config.headers.get('cache-control'), 'no-store');
    for (const secret of [EDGE_TOKEN, ROUTER_TOKEN, JWT_SECRET, CONSUL_TOKEN, ...TEST_IDENTITY.keys.map((k) => k.secret)]) {
      assert.ok(!config.text.includes(secret), `a secret shows in /admin/config: ${secret.slice(0, 8)}...`);
    }
    assert.equal(config.body.config.identity.keys[0].secret, '[redacted]');
    assert.equal(config.body.config.auth.jwt.issuers[0].secret, '[redacted]');
    assert.equal(config.body.config.consul.token, '[redacted]');
    assert.equal(config.body.config.edge.admin.tokenEnv, TOKEN_ENV, 'the name of the variable is no secret');
    assert.equal(config.body.config.routes[0].name, 'orders');
    const routerConfig = await admin(router, '/admin/config', ROUTER_TOKEN);
    assert.equal(routerConfig.status, 200, routerConfig.text);
    assert.ok(!routerConfig.text.includes(ROUTER_TOKEN) && !routerConfig.text.includes(CONSUL_TOKEN));
    assert.equal(routerConfig.body.config.router.admin.tokenFile, tokenFile);

    const routes = await admin(router, '/admin/routes', ROUTER_TOKEN);
    assert.deepEqual(routes.body.routes, [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'orders', source: 'configured' },
      { name: 'flaky', match: { pathPrefix: '/flaky' }, service: 'flaky', source: 'configured' },
    ]);

    const instancesOf = async (service = 'orders') => {
      const r = await admin(router, '/admin/services', ROUTER_TOKEN);
      assert.equal(r.status, 200, r.text);
      const svc = r.body.services.find((s: { name: string }) => s.name === service);
      return new Map<string, InstanceView>(svc.instances.map((i: InstanceView) => [i.origin, i]));
    };
    const before = await instancesOf();
    assert.deepEqual([...before.keys()].sort(), [good.url, broken.url].sort());
    for (const i of before.values()) assert.deepEqual({ health: i.health, ejected: i.ejected, breaker: i.breaker }, { health: 'passing', ejected: null, breaker: 'closed' });

    for (let n = 0; n < 8; n++) await gw.get(`/orders/${n}`);
    const after = await instancesOf();
    assert.equal(after.get(broken.url)!.breaker, 'open', 'the instance resetting every connection: its circuit opened');
    assert.equal(after.get(good.url)!.breaker, 'closed');
    assert.equal((await instancesOf('flaky')).get(flaky.url)!.ejected, null);
    for (let n = 0; n < 3; n++) assert.equal((await gw.get(`/flaky/${n}`)).status, 500);
    const ejected = (await instancesOf('flaky')).get(flaky.url)!.ejected as { until: string; times: number };
    assert.equal(ejected.times, 1, 'ejected once after three 500s in a row');
    assert.ok(Date.parse(ejected.until) > Date.now() + 30_000, `ejected for a minute: until ${ejected.until}`);

    const edgeServices = await admin(edge, '/admin/services', EDGE_TOKEN);
    const routers = edgeServices.body.services.find((s: { name: string }) => s.name === 'gatehouse-router');
    assert.deepEqual(routers.instances.map((i: InstanceView) => [i.origin, i.breaker]), [[gw.routerUrl, 'closed']]);

    const limits = await admin(edge, '/admin/ratelimits', EDGE_TOKEN);
    assert.equal(limits.status, 200, limits.text);
    assert.deepEqual(limits.body, {
      global: 'per-ip',
      policies: [{
        name: 'per-ip', key: 'ip', windows: [{ name: 'second', limit: 100, periodSeconds: 1 }],
        mode: 'exact', lease: { maxTokens: 100, ttlMs: 200 }, onRedisFailure: 'open', instances: 1,
      }],
      store: { kind: 'memory', ok: true, store: 'up' },
    });
    assert.equal((await admin(router, '/admin/ratelimits', ROUTER_TOKEN)).status, 404, 'the router has no rate limits');

    const build = await admin(router, '/admin/build', ROUTER_TOKEN);
    const pkg = JSON.parse(readFileSync(resolve(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual({ ...build.body, startedAt: typeof build.body.startedAt }, { version: pkg.version, node: process.version, tier: 'router', startedAt: 'string', pid: process.pid });
  } finally {
    delete process.env[TOKEN_ENV];
    await gw.close();
    await Promise.all([good.close(), broken.close(), flaky.close()]);
  }
});

test('without a token the admin API and the dashboard are off (404) on a loopback admin listener; the probes answer', async () => {
  const backend = await startEchoBackend('app');
  const gw = await startGateway({ routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }], services: { app: { static: [backend.url] } } });
  try {
    for (const base of [gw.edge.addresses.adminUrl, gw.router.addresses.adminUrl]) {
      for (const path of ['/admin/config', '/admin/cluster', '/admin/snapshot', '/dashboard', '/dashboard/app.js']) {
        assert.equal((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer anything-at-all-anything-at-all-0' } })).status, 404, path);
      }
      assert.equal((await fetch(`${base}/ready`)).status, 200);
    }
  } finally {
    await gw.close();
    await backend.close();
  }
});

test('a tier started from its file shows that file\'s hash and generation in /admin/config; the token file is relative to it', async () => {
  const backend = await startEchoBackend('app');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-main-'));
  writeFileSync(join(dir, 'admin-token'), ROUTER_TOKEN);
  const ports = { port: await freePort(), admin: await freePort() };
  const text = stringify({
    router: { listen: { port: ports.port }, admin: { port: ports.admin, tokenFile: 'admin-token' }, shutdown: { drainDelayMs: 0 } },
    config: { watchFile: false },
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app', auth: { anonymous: true }, authz: {} }],
    services: { app: { static: [backend.url] } },
    identity: TEST_IDENTITY,
  });
  const file = join(dir, 'router.yaml');
  writeFileSync(file, text);
  const proc = spawnOwned(process.execPath, [resolve(repoRoot(), 'dist/router/main.js'), '--config', file]);
  try {
    const base = `http://127.0.0.1:${ports.admin}`;
    await waitFor('router ready', async () => (await fetch(`${base}/ready`).then((r) => r.ok, () => false)) || undefined, 20_000);
    const r = await admin(base, '/admin/config', ROUTER_TOKEN);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      { source: r.body.status.source, location: r.body.status.location, hash: r.body.status.hash, generation: r.body.status.generation },
      { source: 'file', location: file, hash: createHash('sha256').update(text).digest('hex'), generation: 1 },
    );
    assert.ok(!r.text.includes(TEST_IDENTITY.keys[0]!.secret));
  } finally {
    await proc.stop();
    await backend.close();
  }
});
