// The routing tier through both tiers: matching (exact, patterns, headers,
// priority), rewrites and header edits, balancing over three backends,
// authorization decisions, and retries when a backend dies under load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { request } from 'undici';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, type TestIdp, type SigningKey } from '../harness/idp.js';
import { rawRequest, http1 } from '../harness/raw.js';
import { TEST_IDENTITY } from '../harness/gateway.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

let b: EchoBackend[];
let narrow: EchoBackend;
let guarded: EchoBackend;
let gw: Gateway;
let idp: TestIdp;
let key: SigningKey;

before(async () => {
  b = await Promise.all(['r1', 'r2', 'r3'].map((n) => startEchoBackend(n)));
  narrow = await startEchoBackend('narrow'); // its own origin: a connection pool is sized by the first service using it
  guarded = await startEchoBackend('guarded'); // its own, so a test can say everything it received
  key = await newSigningKey('rk');
  idp = await startIdp([key]);
  const three = b.map((x) => x.url);
  gw = await startGateway({
    authzDefault: null, // no authorization section: routes without authz are decided by the shipped default
    auth: { jwt: { issuers: [issuerConfig(idp)] } },
    routes: [
      { name: 'exact', match: { path: '/exact' }, service: 'rr', authz: {} },
      { name: 'users', match: { pathPattern: '/users/:id/orders/*' }, service: 'rr', rewrite: { path: '/v2/orders/{id}' }, authz: {} },
      { name: 'strip', match: { pathPrefix: '/api' }, service: 'rr', rewrite: { stripPrefix: true }, authz: {},
        requestHeaders: { set: { 'x-from': 'gatehouse', 'x-gatehouse-consumer': 'forged' }, remove: ['x-internal-note', 'x-forwarded-host'] }, responseHeaders: { set: { 'x-served-by': 'gatehouse' }, remove: ['x-backend'] } },
      { name: 'canary', match: { pathPrefix: '/api', headers: { 'x-canary': '1' } }, service: 'only-r3', rewrite: { replacePrefix: '/beta' }, authz: {} },
      { name: 'pinned', match: { pathPrefix: '/', headers: { 'x-pin': '*' } }, priority: 10, service: 'only-r3', authz: {} },
      { name: 'sticky', match: { pathPrefix: '/sticky' }, service: 'sticky', authz: {} },
      { name: 'bounded', match: { pathPrefix: '/bounded' }, service: 'rr', timeoutMs: 10_000, totalTimeoutMs: 300, authz: {} },
      { name: 'dying', match: { pathPrefix: '/dying' }, service: 'dying', authz: {} },
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'rr', auth: { methods: ['jwt'] }, authz: { scopes: { allOf: ['orders:write'] }, claims: [{ claim: 'tenant', oneOf: ['acme'] }] } },
      { name: 'closed', match: { pathPrefix: '/closed' }, service: 'rr' },
      { name: 'narrow', match: { pathPrefix: '/narrow' }, service: 'narrow', authz: {} },
      { name: 'public', match: { pathPrefix: '/public' }, service: 'guarded', authz: {} },
      { name: 'admin', match: { pathPrefix: '/admin' }, service: 'guarded', auth: { methods: ['jwt'] }, authz: {} },
    ],
    services: {
      rr: { static: three },
      'only-r3': { static: [b[2]!.url] },
      sticky: { static: three, balancer: { algorithm: 'maglev', hashOn: 'header:x-affinity' } },
      dying: { static: three, outlierDetection: { consecutiveFailures: 1 } },
      narrow: { static: [narrow.url], circuitBreaker: { maxConnections: 1, maxPending: 1 } },
      guarded: { static: [guarded.url] },
    },
  });
});

after(async () => {
  await gw.close();
  await Promise.all([...[...b, narrow, guarded].map((x) => x.close().catch(() => undefined)), idp.close()]);
});

const backendOf = async (path: string, headers: Record<string, string> = {}) => (await gw.get(path, { headers })).json<EchoReply>();

test('exact paths, :param patterns, header matches and prefix rewrites reach the backend as configured', async () => {
  assert.equal((await backendOf('/exact')).url, '/exact');
  assert.equal((await gw.get('/exact/more')).status, 404, 'an exact path matches nothing longer');
  assert.equal((await backendOf('/exact', { 'x-pin': 'yes' })).backend, 'r3', 'an explicit priority beats a more specific route');
  assert.equal((await backendOf('/users/42/orders/7')).url, '/v2/orders/42');
  const stripped = await gw.get('/api/things?x=1', { headers: { 'x-internal-note': '1' } });
  const seen = stripped.json<EchoReply>();
  assert.equal(seen.url, '/things?x=1');
  assert.equal(seen.headers['x-from'], 'gatehouse');
  assert.equal(seen.headers['x-internal-note'], undefined);
  assert.equal(seen.headers['x-forwarded-host'], undefined, 'a route may remove one of the gateway\'s own headers');
  assert.ok(seen.headers['x-forwarded-for'], 'and only the ones it names');
  assert.equal(seen.headers['x-gatehouse-consumer'], '"anonymous"', 'route edits cannot write identity headers');
  assert.equal(stripped.headers['x-served-by'], 'gatehouse');
  assert.equal(stripped.headers['x-backend'], undefined);
  const canary = await backendOf('/api/things', { 'x-canary': '1' });
  assert.equal(canary.backend, 'r3');
  assert.equal(canary.url, '/beta/things');
});

test('path parameters, encoded dots, overlong UTF-8 and double encoding never reach a backend as another path: 400 bad_path on both tiers', async () => {
  // Raw bytes: an HTTP client library would resolve or re-encode these. Tomcat, Jetty and Spring read each as /admin.
  const open = await rawRequest(gw.edgeUrl, http1('GET', '/public/x', []));
  assert.equal((JSON.parse(open.body) as EchoReply).url, '/public/x', 'the open route is open');
  assert.equal((await rawRequest(gw.edgeUrl, http1('GET', '/admin/x', []))).status, 401, 'the guarded route is guarded');
  const before = guarded.received.length;
  const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
  const tiers = [['edge', gw.edgeUrl, []], ['router', gw.routerUrl, [`${IDENTITY_HEADER}: ${assertion}`]]] as const;
  const hostile = ['/public/..;/admin', '/public/%2e%2e;/admin', '/public/.;/admin', '/admin;x=1', '/public/%2e%2e%3b/admin',
    '/public/%c0%ae%c0%ae/admin', '/public/%e0%80%ae%e0%80%ae/admin', '/public/..%252fadmin', '/public/%252e%252e/admin'];
  const outcomes: string[] = [];
  for (const path of hostile) {
    for (const [tier, url, headers] of tiers) {
      const r = await rawRequest(url, http1('GET', path, headers));
      const reply = JSON.parse(r.body) as Record<string, string>;
      outcomes.push(`${tier} ${path}: ${r.status} ${reply.error}`);
      if (r.status === 400) {
        assert.match(reply.requestId!, /^[0-9a-f-]{36}$/, `${tier} ${path}`);
        assert.equal(reply.requestId, r.headers['x-request-id'], `${tier} ${path}: the error names the request`);
      }
    }
  }
  assert.deepEqual(guarded.received.slice(before).map((r) => r.url), [], 'the backend received none of them');
  assert.deepEqual(outcomes, hostile.flatMap((path) => tiers.map(([tier]) => `${tier} ${path}: 400 bad_path`)));
});

test('round robin is exact, and consistent hashing keeps each user on one instance', async () => {
  const rr: string[] = [];
  for (let i = 0; i < 9; i++) rr.push((await backendOf('/exact')).backend);
  assert.deepEqual(rr.slice(0, 3).sort(), ['r1', 'r2', 'r3']);
  assert.deepEqual(rr.slice(3, 6), rr.slice(0, 3));
  const sticky = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let u = 0; u < 30; u++) {
      const got = (await backendOf('/sticky/x', { 'x-affinity': `user-${u}` })).backend;
      assert.equal(sticky.get(`user-${u}`) ?? got, got, `user-${u} stays on one instance`);
      sticky.set(`user-${u}`, got);
    }
  }
  assert.equal(new Set(sticky.values()).size, 3, 'users spread over all three');
});

test('authorization allows what the policy grants and denies the rest with 403, logging why', async () => {
  const ok = await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key, { tenant: 'acme' })}` } });
  assert.equal(ok.status, 200);
  const wrongTenant = await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key, { tenant: 'other' })}` } });
  assert.equal(wrongTenant.status, 403);
  assert.equal(wrongTenant.json().error, 'forbidden');
  const noScope = await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key, { tenant: 'acme', scope: 'orders:read' })}` } });
  assert.equal(noScope.status, 403);
  const closed = await gw.get('/closed/x');
  assert.equal(closed.status, 403, 'no policy and no authorization.default in the config: the shipped default denies');
  assert.equal(closed.json().error, 'forbidden');
  await new Promise((r) => setTimeout(r, 50));
  const closedLine = gw.router.logs.access().find((l) => l.requestId === closed.headers['x-request-id']);
  assert.deepEqual(closedLine?.auth, { authz: 'deny', authzReason: 'no policy: default deny' });
  const line = gw.router.logs.access().find((l) => l.requestId === noScope.headers['x-request-id']);
  assert.equal((line?.auth as Record<string, string>).authz, 'deny');
  assert.match(String((line?.auth as Record<string, string>).authzReason), /orders:write/);
  const allowed = gw.router.logs.access().find((l) => l.requestId === ok.headers['x-request-id']);
  assert.equal((allowed?.auth as Record<string, string>).authz, 'allow');
});

test('a backend killed under load causes no client error for GET requests', async () => {
  let stop = false;
  const statuses: number[] = [];
  const load = Promise.all([0, 1, 2, 3].map(async () => {
    while (!stop) statuses.push((await gw.get('/dying/x')).status);
  }));
  await new Promise((r) => setTimeout(r, 200));
  await b[0]!.close();
  await new Promise((r) => setTimeout(r, 400));
  stop = true;
  await load;
  assert.ok(statuses.length > 20, `${statuses.length} requests`);
  assert.deepEqual([...new Set(statuses)], [200], 'every GET succeeded, retried on another instance');
});

test('a route\'s total timeout bounds the whole exchange even when the first-byte timeout is longer', async () => {
  const started = Date.now();
  const r = await gw.get('/bounded/x', { headers: { 'x-echo-delay-ms': '3000' } });
  assert.equal(r.status, 504);
  assert.equal(r.json().error, 'upstream_timeout');
  assert.ok(Date.now() - started < 1_500, `answered after ${Date.now() - started} ms`);
});

test('beyond maxPending requests waiting for a busy instance\'s connections, one is refused at once with 503, and the service recovers', async () => {
  const slow = { headers: { 'x-echo-delay-ms': '400' } };
  const started = Date.now();
  // One connection (maxConnections 1): the first request takes it, the second waits (maxPending 1), the third is refused.
  const replies = await Promise.all([0, 1, 2].map(() => gw.get('/narrow/x', slow).then((r) => ({ r, ms: Date.now() - started }))));
  assert.deepEqual(replies.map(({ r }) => r.status).sort(), [200, 200, 503]);
  const refused = replies.find(({ r }) => r.status === 503)!;
  assert.equal(refused.r.json().error, 'circuit_open');
  assert.ok(refused.ms < 400, `refused after ${refused.ms} ms, without waiting for a connection`);
  const waited = Math.max(...replies.filter(({ r }) => r.status === 200).map(({ ms }) => ms));
  assert.ok(waited >= 800, `the waiting request was served after the first (${waited} ms): one connection at a time`);
  const line = gw.router.logs.access().find((l) => l.requestId === refused.r.headers['x-request-id']);
  assert.match(String(line?.reason), /maxPending/);
  assert.equal((await gw.get('/narrow/x')).status, 200);
});

test('a response still streaming its body holds its connection: with it busy, one request waits and the next is refused', async () => {
  // The head arrives at once, the body 700 ms later: the only connection (maxConnections 1) is busy until then.
  const asked = Date.now();
  const streaming = await request(`${gw.edgeUrl}/narrow/stream`, { dispatcher: gw.client, headers: { 'x-echo-body-delay-ms': '700' } });
  assert.equal(streaming.statusCode, 200);
  assert.ok(Date.now() - asked < 500, `the head was passed on before the body, after ${Date.now() - asked} ms`);
  const started = Date.now();
  const replies = await Promise.all([0, 1].map(() => gw.get('/narrow/x').then((r) => ({ r, ms: Date.now() - started }))));
  assert.deepEqual(replies.map(({ r }) => r.status).sort(), [200, 503], 'one waits for the connection (maxPending 1), the other is refused');
  const refused = replies.find(({ r }) => r.status === 503)!;
  assert.ok(refused.ms < 400, `refused after ${refused.ms} ms, while the body was still on its way`);
  assert.match(String(gw.router.logs.access().find((l) => l.requestId === refused.r.headers['x-request-id'])?.reason), /maxPending/);
  assert.equal((await streaming.body.json() as EchoReply).url, '/narrow/stream', 'the streamed body arrives whole');
  assert.equal((await gw.get('/narrow/x')).status, 200, 'the connection is free again once the body ended');
});
