// Server-side sessions through both tiers: a JWT exchanged for a session
// cookie works on every edge and across an edge restart, and a logout is
// refused everywhere at once. Other cookies still reach the backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, send, certificates, type Gateway, type Reply } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, type TestIdp, type SigningKey } from '../harness/idp.js';
import { startRedis, type TestRedis } from '../harness/redis.js';

let backend: EchoBackend;
let idp: TestIdp;
let key: SigningKey;
let redis: TestRedis;
let gw: Gateway;

before(async () => {
  [backend, redis, key] = await Promise.all([startEchoBackend('sessions'), startRedis(), newSigningKey('s1')]);
  idp = await startIdp([key]);
  const certs = await certificates;
  gw = await startGateway({
    redis: redis.url,
    auth: { jwt: { issuers: [issuerConfig(idp)] }, session: { exchange: ['jwt'], sameSite: 'strict' } },
    routes: [
      { name: 'app', match: { pathPrefix: '/app' }, service: 'app', auth: { methods: ['session', 'jwt'] } },
      // A route on the login path: the edge still answers it itself. No route covers the logout path.
      { name: 'shadow', match: { path: '/auth/session' }, service: 'app' },
    ],
    services: { app: { static: [backend.url] } },
    edgeExtra: { tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }], hsts: {} } },
  });
});

after(async () => {
  await gw.close();
  await Promise.all([backend.close(), idp.close(), redis.stop()]);
});

const HSTS = 'max-age=31536000; includeSubDomains';

function assertRefused(r: Reply, challenge: string): void {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.headers['www-authenticate'], challenge);
  assert.equal(r.headers['strict-transport-security'], HSTS);
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.deepEqual(r.json(), { error: 'unauthorized', message: 'Authentication is required, or the credential given was refused.', requestId: r.headers['x-request-id'] });
}

async function login(): Promise<string> {
  const r = await gw.get('/auth/session', { method: 'POST', headers: { authorization: `Bearer ${await idp.token(key)}` } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json().consumer, 'alice');
  assert.equal(r.headers['strict-transport-security'], HSTS, 'the login reply is a reply of the edge like any other');
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  const cookie = String(r.headers['set-cookie']);
  assert.match(cookie, /^gh_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200$/);
  assert.equal(backend.received.filter((b) => b.url.startsWith('/auth/')).length, 0, 'no route shadows the session endpoints');
  return cookie.split(';')[0]!;
}

test('a token exchanged for a session cookie admits requests on every edge; the backend sees the consumer, not the session', async () => {
  const cookie = await login();
  const r = await gw.get('/app/x', { headers: { cookie: `theme=dark; ${cookie}` } });
  assert.equal(r.status, 200, r.text);
  const seen = r.json<EchoReply>().headers;
  assert.equal(seen['x-gatehouse-consumer'], '"alice"');
  assert.equal(seen['x-gatehouse-auth-method'], '"session"');
  assert.equal(seen.cookie, 'theme=dark', 'the session cookie stops at the edge; other cookies pass');
  const second = await startTier('edge', gw.edgeConfig);
  try {
    assert.equal((await send(gw.client, `${second.addresses.url}/app/x`, { headers: { cookie } })).status, 200);
  } finally {
    await second.runtime.close();
  }
  const restarted = await startTier('edge', gw.edgeConfig);
  try {
    assert.equal((await send(gw.client, `${restarted.addresses.url}/app/x`, { headers: { cookie } })).status, 200, 'sessions survive edge restarts');
  } finally {
    await restarted.runtime.close();
  }
});

test('after logout the cookie is refused at once, on this edge and any other', async () => {
  const cookie = await login();
  const other = await startTier('edge', gw.edgeConfig);
  try {
    const out = await gw.get('/auth/logout', { method: 'POST', headers: { cookie } });
    assert.equal(out.status, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal(backend.received.filter((b) => b.url.startsWith('/auth/')).length, 0, 'no route shadows the session endpoints');
    assertRefused(await gw.get('/app/x', { headers: { cookie } }), 'Bearer realm="gatehouse", error="invalid_token"');
    assertRefused(await send(gw.client, `${other.addresses.url}/app/x`, { headers: { cookie } }), 'Bearer realm="gatehouse", error="invalid_token"');
  } finally {
    await other.runtime.close();
  }
});

test('login without a valid credential is 401 with a Bearer challenge, and sets no cookie', async () => {
  const none = await gw.get('/auth/session', { method: 'POST' });
  assertRefused(none, 'Bearer realm="gatehouse"');
  const bad = await gw.get('/auth/session', { method: 'POST', headers: { authorization: 'Bearer bad.token.x' } });
  assertRefused(bad, 'Bearer realm="gatehouse", error="invalid_token"');
  for (const r of [none, bad]) assert.equal(r.headers['set-cookie'], undefined);
});
