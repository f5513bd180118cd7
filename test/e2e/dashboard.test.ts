// The live dashboard, end to end: real Consul, two edges and a router that register there with their admin
// URLs, demo backends with TTL checks, and Debian's Chromium driven by playwright-core. The page served by
// one edge's admin listener must show the whole system (every edge and router, the demo services), live
// traffic, a refused request under its request id, and an instance turning critical within seconds of its
// Consul check failing. It saves a screenshot (test-results/dashboard.png) that docs/images/ keeps a copy of.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, type Gateway, type Tier } from '../harness/gateway.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { startBrowser, type TestBrowser } from '../harness/browser.js';
import { freePort, waitFor } from '../harness/ports.js';
import { repoRoot } from '../harness/binaries.js';
import type { ClusterView } from '../../shared/dashboard/cluster.js';

const TOKEN = 'dashboard-admin-token-0123456789abcdef';
const TOKEN_ENV = 'GATEHOUSE_TEST_DASHBOARD_TOKEN';
const JWT_SECRET = 'dashboard-jwt-secret-0123456789abcdef01';
const register = { checkIntervalSeconds: 1, antiEntropySeconds: 1 };

let consul: TestConsul;
let backends: EchoBackend[];
let gw: Gateway;
let secondEdge: Tier;
let browser: TestBrowser;

before(async () => {
  process.env[TOKEN_ENV] = TOKEN;
  consul = await startConsul();
  backends = await Promise.all(['demo-1', 'demo-2'].map((name) => startEchoBackend(name)));
  for (const [i, b] of backends.entries()) await consul.register({ id: `demo-${i + 1}`, name: 'demo', address: '127.0.0.1', port: b.port, ttlCheck: true });
  gw = await startGateway({
    routes: [
      { name: 'demo', match: { pathPrefix: '/demo' }, service: 'demo', rateLimit: 'demo-burst' },
      { name: 'private', match: { pathPrefix: '/private' }, service: 'demo', auth: { methods: ['jwt'] } },
      { name: 'catalog', match: { pathPrefix: '/catalog' }, service: 'demo' },
    ],
    services: { demo: { consul: { service: 'demo' } } },
    auth: { jwt: { issuers: [{ issuer: 'https://idp.test', audience: ['gatehouse'], algorithms: ['HS256'], secret: JWT_SECRET }] } },
    rateLimits: { 'demo-burst': { key: 'ip', windows: [{ name: 'minute', limit: 10, periodSeconds: 60 }] } },
    consul: consul.address,
    edgeExtra: { admin: { port: 0, tokenEnv: TOKEN_ENV }, register },
    routerExtra: { admin: { port: 0, tokenEnv: TOKEN_ENV }, register },
  });
  secondEdge = await startTier('edge', gw.edgeConfig);
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await secondEdge?.runtime.close();
  await gw?.close();
  await Promise.all((backends ?? []).map((b) => b.close()));
  await consul?.stop();
  delete process.env[TOKEN_ENV];
});

async function cluster(adminUrl: string, token = TOKEN): Promise<{ status: number; body: ClusterView }> {
  const res = await fetch(`${adminUrl}/admin/cluster`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as ClusterView };
}

test('/admin/cluster gathers every edge and router registered in Consul, and Consul\'s verdict on each demo instance', async () => {
  assert.equal((await cluster(gw.edge.addresses.adminUrl, `${TOKEN}x`)).status, 401);
  const view = await waitFor('three members', async () => {
    const { body } = await cluster(gw.router.addresses.adminUrl);
    return body.members.filter((m) => m.snapshot).length === 3 ? body : undefined;
  }, 10_000, 200);
  assert.deepEqual(view.members.map((m) => m.snapshot!.instance.tier).sort(), ['edge', 'edge', 'router']);
  assert.equal(new Set(view.members.map((m) => m.snapshot!.instance.id)).size, 3, 'the router found itself in Consul and counted itself once');
  assert.equal(view.members[0]!.source, 'self');
  assert.deepEqual(view.members.slice(1).map((m) => m.health), ['passing', 'passing']);
  assert.deepEqual(view.health.demo!.map((i) => [i.id, i.status]).sort(), [['demo-1', 'passing'], ['demo-2', 'passing']]);
  assert.deepEqual(view.consul, { ok: true });
});

test('the page shows the whole system live, a refused request by its id, and an instance turning critical within seconds of its check failing', async (t) => {
  const page = await browser.browser.newPage({ viewport: { width: 1400, height: 1100 } });
  let stopLoad = async () => {};
  const elsewhere: string[] = [];
  const admin = gw.edge.addresses.adminUrl;
  page.on('request', (r) => { if (!r.url().startsWith(admin)) elsewhere.push(r.url()); });
  try {
    // Without a token the page asks for one and shows nothing.
    await page.goto(`${admin}/dashboard`);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#main').isHidden(), true);

    await page.goto(`${admin}/dashboard#token=${TOKEN}`);
    await page.locator('#members tbody tr[data-tier]').nth(2).waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(() => location.hash), '', 'the token is taken out of the address bar');
    assert.deepEqual((await page.locator('#members tbody tr[data-tier]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tier')))).sort(), ['edge', 'edge', 'router']);
    const demo = page.locator('.service[data-service="demo"][data-tier="router"]');
    await demo.locator('tr[data-instance="demo-2"][data-state="healthy"]').waitFor({ timeout: 10_000 });
    assert.equal(await demo.locator('tr[data-instance="demo-1"]').getAttribute('data-state'), 'healthy');

    // Steady traffic meanwhile, as a screenshot of a dashboard should show: served, and now and then refused.
    let loading = true;
    const load = (async () => {
      for (let n = 0; loading; n++) {
        await gw.get(n % 10 === 9 ? '/private/steady' : '/catalog/steady');
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    stopLoad = async () => { loading = false; await load; };

    // Traffic: served requests, some over the rate limit, and one refused without a credential.
    const statuses = await Promise.all(Array.from({ length: 30 }, () => gw.get('/demo/x').then((r) => r.status)));
    assert.ok(statuses.includes(200) && statuses.includes(429), `some served, some limited: ${statuses.join(' ')}`);
    const refused = await gw.get('/private/x');
    assert.equal(refused.status, 401);
    const requestId = refused.headers['x-request-id'] as string;
    await page.locator(`#failures tr[data-request-id="${requestId}"]`).waitFor({ timeout: 10_000 });
    assert.match(await page.locator(`#failures tr[data-request-id="${requestId}"]`).innerText(), /401 \(edge\)\s+no_credential\s+private\s+GET \/private\/x/);
    await waitFor('a request rate on route catalog', async () => {
      const rate = await page.locator('#routes tr[data-route="catalog"] td').nth(2).innerText();
      return rate !== '–' && Number(rate) > 0 || undefined;
    }, 10_000, 200);
    await page.locator('#ratelimits tr[data-policy="demo-burst"]').waitFor({ timeout: 10_000 });
    assert.ok(Number(await page.locator('#ratelimits tr[data-policy="demo-burst"] td').nth(3).innerText()) > 0, 'the limited requests are counted');

    // The check of demo-2 fails: the page says so within a few seconds.
    const failedAt = Date.now();
    await consul.setHealth('demo-2', 'fail');
    await demo.locator('tr[data-instance="demo-2"][data-state="critical"]').waitFor({ timeout: 5_000 });
    const shownAfterMs = Date.now() - failedAt;
    assert.equal(await demo.locator('tr[data-instance="demo-1"]').getAttribute('data-state'), 'healthy');
    assert.match(await demo.locator('tr[data-instance="demo-2"]').innerText(), /0 of 1/, 'the router no longer lists it');

    const dir = join(repoRoot(), 'test-results');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    assert.deepEqual(elsewhere, [], 'the page loads nothing from anywhere but its admin listener');
    t.diagnostic(`demo-2 shown critical ${shownAfterMs} ms after its check failed`);
  } finally {
    await stopLoad();
    await page.close();
    await consul.setHealth('demo-2', 'pass');
  }
});

test('a peer that cannot be reached or refuses the token is shown as such; the rest of the view stands', async () => {
  const closed = await freePort();
  process.env.GATEHOUSE_TEST_OTHER_TOKEN = 'another-admin-token-0123456789abcdef0123';
  // Its edge lists three peers: a closed port, its own router (another token), and the first gateway's router.
  const routerAdminPort = await freePort();
  const single = await startGateway({
    routes: [{ name: 'demo', match: { pathPrefix: '/demo' }, service: 'demo' }],
    services: { demo: { static: [backends[0]!.url] } },
    routerExtra: { admin: { port: routerAdminPort, tokenEnv: 'GATEHOUSE_TEST_OTHER_TOKEN' } },
    edgeExtra: {
      admin: { port: 0, tokenEnv: TOKEN_ENV, peers: [`http://127.0.0.1:${closed}`, `http://127.0.0.1:${routerAdminPort}`, gw.router.addresses.adminUrl.replace('127.0.0.1', 'localhost')] },
    },
  });
  try {
    const page = await fetch(`${single.edge.addresses.adminUrl}/dashboard`);
    assert.equal(page.status, 200, 'the page itself holds no data: it loads without the token');
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'.*frame-ancestors 'none'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`${single.edge.addresses.adminUrl}/admin/snapshot`)).status, 401);
    const { body } = await cluster(single.edge.addresses.adminUrl);
    assert.equal(body.consul, null, 'no consul section: Consul is not asked');
    assert.equal(body.members.length, 4);
    assert.equal(body.members[0]!.snapshot?.instance.tier, 'edge');
    const at = (url: string) => body.members.find((m) => m.adminUrl === url)!;
    assert.equal(at(`http://127.0.0.1:${closed}`).snapshot, null);
    assert.match(at(`http://127.0.0.1:${closed}`).error!, /unreachable \(ECONNREFUSED\)/);
    assert.equal(at(`http://127.0.0.1:${routerAdminPort}`).snapshot, null);
    assert.equal(at(`http://127.0.0.1:${routerAdminPort}`).error, 'refused this instance\'s admin token (401)');
    assert.equal(body.members.find((m) => m.adminUrl?.includes('localhost'))!.snapshot?.instance.tier, 'router');
  } finally {
    await single.close();
    delete process.env.GATEHOUSE_TEST_OTHER_TOKEN;
  }
});
