// Authentication at the edge and the identity hand-off, through both tiers
// with real tokens signed by jose, a real JWK set served over HTTP and API
// keys in a real Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeJwt, exportSPKI, importJWK, SignJWT } from 'jose';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, send, configFrom, TEST_IDENTITY, type Gateway, type Reply } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, AUDIENCE, type TestIdp, type SigningKey } from '../harness/idp.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { rawRequest, http1 } from '../harness/raw.js';
import { waitFor } from '../harness/ports.js';
import { ApiKeyStore, hashApiKey } from '../../edge/auth/api-key-store.js';
import { AssertionSigner, AssertionVerifier, IDENTITY_HEADER } from '../../shared/identity.js';
import { parseSfItem, parseSfList } from '../harness/structured-fields.js';

let backend: EchoBackend;
let idp: TestIdp;
let rotating: TestIdp;
let k1: SigningKey;
let redis: TestRedis;
let gw: Gateway;

before(async () => {
  [backend, redis, k1] = await Promise.all([startEchoBackend('auth'), startRedis(), newSigningKey('k1')]);
  idp = await startIdp([k1]);
  rotating = await startIdp([await newSigningKey('r1')]);
  gw = await startGateway({
    redis: redis.url,
    auth: {
      jwt: { issuers: [issuerConfig(idp), issuerConfig(rotating, { jwks: { cooldownSeconds: 1, cacheMaxAgeSeconds: 1, maxStaleSeconds: 3600 } })] },
      apiKey: { header: 'x-api-key' },
    },
    routes: [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'app', auth: { methods: ['jwt', 'api-key'] } },
      { name: 'public', match: { pathPrefix: '/public' }, service: 'app', auth: { anonymous: true } },
      { name: 'mixed', match: { pathPrefix: '/mixed' }, service: 'app', auth: { methods: ['jwt'], anonymous: true } },
      { name: 'keep', match: { pathPrefix: '/keep' }, service: 'app', auth: { methods: ['jwt'], hideCredentials: false } },
    ],
    services: { app: { static: [backend.url] } },
  });
});

after(async () => {
  await gw.close();
  await Promise.all([backend.close(), idp.close(), rotating.close(), redis.stop()]);
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const seen = (r: Reply) => r.json<EchoReply>().headers;

function assertRefused(r: Reply, withError = true): void {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json().error, 'unauthorized');
  assert.equal(r.headers['www-authenticate'], withError ? 'Bearer realm="gatehouse", error="invalid_token"' : 'Bearer realm="gatehouse"');
  assert.ok(!/exp|aud|iss|signature|kid|alg/i.test(r.json<{ message: string }>().message), 'the reply does not say which check failed');
}

test('a valid token is admitted and the backend receives the verified identity, not the token', async () => {
  const r = await gw.get('/orders/1', bearer(await idp.token(k1, { tenant: 'acme' })));
  assert.equal(r.status, 200, r.text);
  const h = seen(r);
  assert.equal(h['x-gatehouse-consumer'], '"alice"');
  assert.equal(h['x-gatehouse-auth-method'], '"jwt"');
  assert.equal(h['x-gatehouse-scopes'], '"orders:read", "orders:write"');
  assert.equal(h['x-gatehouse-roles'], '"buyer"');
  assert.equal(h['x-gatehouse-claims'], '"{\\"tenant\\":\\"acme\\"}"');
  assert.equal(h.authorization, undefined, 'credentials are hidden from upstream by default');
  assert.equal(h['x-gatehouse-identity'], undefined, 'the assertion stops at the router');
  const kept = await gw.get('/keep/1', bearer(await idp.token(k1)));
  assert.match(String(seen(kept).authorization), /^Bearer /, 'hideCredentials: false passes the token on');
});

test('identity values with %, quotes, backslashes, spaces, commas, CR/LF and non-ASCII reach the backend as structured fields that parse back exactly', async () => {
  const identity = {
    sub: 'Jos\u00e9 "%61dmin" \\ \u65e5\u672c\r\nx-admin: 1',
    roles: ['read admin', 'a,b', '%61dmin', 'say "hi" \\'],
    scope: ['orders:read', 'caf\u00e9'],
    tenant: 'ac"me, \u00e9',
  };
  const r = await gw.get('/orders/hostile', bearer(await idp.token(k1, identity)));
  assert.equal(r.status, 200, r.text);
  const h = seen(r);
  assert.equal(h['x-gatehouse-consumer'], '%"Jos%c3%a9 %22%2561dmin%22 \\ %e6%97%a5%e6%9c%ac%0d%0ax-admin: 1"');
  assert.equal(h['x-gatehouse-auth-method'], '"jwt"');
  assert.equal(h['x-gatehouse-roles'], '"read admin", "a,b", "%61dmin", "say \\"hi\\" \\\\"');
  assert.equal(h['x-gatehouse-scopes'], '"orders:read", %"caf%c3%a9"');
  assert.equal(h['x-gatehouse-claims'], '"{\\"tenant\\":\\"ac\\\\\\"me, \\\\u00e9\\"}"');
  // What a backend's RFC 9651 parser gives back: the token's own values, one role per role.
  assert.equal(parseSfItem(String(h['x-gatehouse-consumer'])).value, identity.sub);
  assert.deepEqual(parseSfList(String(h['x-gatehouse-roles'])).map((m) => m.value), identity.roles);
  assert.deepEqual(parseSfList(String(h['x-gatehouse-scopes'])).map((m) => m.value), identity.scope);
  assert.deepEqual(JSON.parse(parseSfItem(String(h['x-gatehouse-claims'])).value), { tenant: identity.tenant });
  assert.equal(h['x-admin'], undefined, 'the CR/LF in sub split no header line');

  const broken = await gw.get('/orders/hostile', bearer(await idp.token(k1, { sub: 'alice\ud800' })));
  assertRefused(broken); // a lone surrogate has no faithful encoding: refused at the edge, not turned into U+FFFD
});

test('no credential on a protected route is 401 with a bare Bearer challenge', async () => {
  assertRefused(await gw.get('/orders/1'), false);
});

test('bad tokens are refused with 401 invalid_token, and the log says why', async () => {
  const now = Math.floor(Date.now() / 1000);
  const good = await idp.token(k1);
  const [h, p, s] = good.split('.');
  const flipped = `${s!.slice(0, -2)}${s!.endsWith('AA') ? 'BB' : 'AA'}`;
  const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
  const pem = await exportSPKI(await importJWK(k1.publicJwk, 'RS256', { extractable: true }) as never);
  const confused = await new SignJWT({ sub: 'mallory', iss: idp.issuer, aud: AUDIENCE, exp: now + 300 })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(pem));
  const cases: Record<string, string> = {
    'tampered signature': `${h}.${p}.${flipped}`,
    'tampered payload': `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`,
    expired: await idp.token(k1, { exp: now - 120 }),
    'not yet valid': await idp.token(k1, { nbf: now + 120 }),
    'wrong issuer': await idp.token(k1, { iss: 'https://evil.example/' }),
    'wrong audience': await idp.token(k1, { aud: 'other-api' }),
    'no exp': await new SignJWT({ sub: 'alice', iss: idp.issuer, aud: AUDIENCE }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(k1.privateKey),
    'alg none': none,
    'HS256 with the RSA public key as secret': confused,
    'malformed': 'abc.def',
  };
  for (const [name, token] of Object.entries(cases)) {
    const r = await gw.get('/orders/x', bearer(token));
    assertRefused(r);
    await new Promise((res) => setTimeout(res, 20));
    const line = gw.edge.logs.access().find((l) => l.requestId === r.headers['x-request-id']);
    assert.ok(line && typeof line.reason === 'string' && line.reason.startsWith('invalid_token: '), `${name}: ${JSON.stringify(line)}`);
  }
  const expiredLine = gw.edge.logs.access().findLast((l) => typeof l.reason === 'string' && l.reason.includes('"exp"'));
  assert.ok(expiredLine, 'expiry is named in the log');
  assert.equal((expiredLine.auth as Record<string, string>).issuer, idp.issuer);
  assert.equal((expiredLine.auth as Record<string, string>).kid, 'k1');
  assert.ok(!gw.edge.logs.text().includes(good), 'tokens never reach the log');
});

test('a token expired by less than the clock skew is still admitted', async () => {
  const r = await gw.get('/orders/skew', bearer(await idp.token(k1, { exp: Math.floor(Date.now() / 1000) - 10 })));
  assert.equal(r.status, 200);
});

test('a token admitted once is refused when it expires, though the edge cached it', async () => {
  // exp 28 s ago with 30 s of skew: valid for at least one more second, then no longer.
  const exp = Math.floor(Date.now() / 1000) - 28;
  const token = await idp.token(k1, { exp, jti: 'cached-then-expired' });
  assert.equal((await gw.get('/orders/cached', bearer(token))).status, 200);
  await new Promise((r) => setTimeout(r, (exp + 30) * 1000 - Date.now() + 100));
  const r = await gw.get('/orders/cached', bearer(token));
  assertRefused(r);
  await new Promise((res) => setTimeout(res, 20));
  assert.match(String(gw.edge.logs.access().find((l) => l.requestId === r.headers['x-request-id'])?.reason), /"exp" claim timestamp check failed/);
});

test('a rotated signing key is picked up from the JWK set', async () => {
  const r2 = await newSigningKey('r2');
  rotating.published = [rotating.published[0]!, r2];
  await new Promise((r) => setTimeout(r, 1_100)); // past the 1 s cooldown of that issuer
  const r = await gw.get('/orders/rotated', bearer(await rotating.token(r2)));
  assert.equal(r.status, 200, r.text);
});

test('when the JWK set endpoint fails, the last good keys keep serving', async () => {
  const known = rotating.published[0]!;
  rotating.broken = true;
  const fetchesBefore = rotating.fetches;
  await new Promise((r) => setTimeout(r, 1_100)); // cached keys are now past their max age
  assert.equal(rotating.fetches, fetchesBefore, 'keys are refreshed on use, not on a timer');
  const r = await gw.get('/orders/stale', bearer(await rotating.token(known, { jti: 'fresh-token' })));
  assert.equal(r.status, 200, r.text);
  assert.equal(rotating.fetches - fetchesBefore, 1, 'keys past their max age are refreshed once, on use');
  rotating.broken = false;
});

test('1,000 tokens with random kids cause at most one JWK set fetch per cooldown', async () => {
  const before = idp.fetches;
  const forged = await newSigningKey('forged');
  const tokens = await Promise.all(Array.from({ length: 1000 }, () => idp.token(forged, {}, { kid: randomBytes(8).toString('hex') })));
  for (let i = 0; i < tokens.length; i += 50) {
    const replies = await Promise.all(tokens.slice(i, i + 50).map((t) => gw.get('/orders/flood', bearer(t))));
    for (const r of replies) assert.equal(r.status, 401);
  }
  assert.ok(idp.fetches - before <= 1, `${idp.fetches - before} JWKS fetches`);
});

test('an API key works on every edge instance and a revoked one is refused everywhere within 1 second', async () => {
  const admin = new Redis(redis.url);
  const store = new ApiKeyStore(admin);
  const { key, record } = await store.create({ consumer: 'acme', scopes: ['orders:read'] });
  const second = await startTier('edge', gw.edgeConfig);
  const viaSecond = (path: string) => fetchVia(second.addresses.url, path, key);
  try {
    const first = await gw.get('/orders/k', { headers: { 'x-api-key': key } });
    assert.equal(first.status, 200);
    assert.equal(seen(first)['x-gatehouse-consumer'], '"acme"');
    assert.equal(seen(first)['x-api-key'], undefined, 'the key is not passed on');
    assert.equal((await viaSecond('/orders/k')).status, 200);
    await store.revoke(record.id);
    const revokedAt = Date.now();
    await waitFor('both edges to refuse', async () => {
      const [a, b] = await Promise.all([gw.get('/orders/k', { headers: { 'x-api-key': key } }), fetchVia(second.addresses.url, '/orders/k', key)]);
      return a.status === 401 && b.status === 401 ? true : undefined;
    }, 1_000, 20);
    assert.ok(Date.now() - revokedAt <= 1_000);
  } finally {
    await second.runtime.close();
    admin.disconnect();
  }
});

test('an API key whose status in Redis is damaged or unknown is refused, not taken as active', async () => {
  const admin = new Redis(redis.url);
  const store = new ApiKeyStore(admin);
  const recordOf = (key: string) => `gatehouse:apikey:{${hashApiKey(key)}}`;
  try {
    const damage: Record<string, (record: string) => Promise<unknown>> = {
      'unknown status': (record) => admin.hset(record, 'status', 'suspended'),
      'status in other case': (record) => admin.hset(record, 'status', 'ACTIVE'),
      'empty status': (record) => admin.hset(record, 'status', ''),
      'no status field': (record) => admin.hdel(record, 'status'),
    };
    for (const [name, apply] of Object.entries(damage)) {
      const { key } = await store.create({ consumer: `damaged-${name.replaceAll(' ', '-')}`, scopes: ['orders:read'] });
      await apply(recordOf(key));
      const r = await gw.get('/orders/damaged', { headers: { 'x-api-key': key } });
      assert.equal(r.status, 401, `${name}: ${r.text}`);
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse", error="invalid_token"', name);
      assert.equal(r.json().error, 'unauthorized', name);
    }
    const { key: intact } = await store.create({ consumer: 'intact', scopes: ['orders:read'] });
    const ok = await gw.get('/orders/damaged', { headers: { 'x-api-key': intact } });
    assert.equal(ok.status, 200, 'an intact active key next to them still works');
    assert.equal(seen(ok)['x-gatehouse-consumer'], '"intact"');
  } finally {
    admin.disconnect();
  }
});

function fetchVia(edgeUrl: string, path: string, key: string): Promise<Reply> {
  return send(gw.client, `${edgeUrl}${path}`, { headers: { 'x-api-key': key } });
}

test('identity headers a client sends never reach the router or the backend', async () => {
  const spoof = {
    'x-gatehouse-consumer': 'admin', 'x-gatehouse-scopes': '*', 'x-gatehouse-identity': 'forged', 'x-user-id': 'admin',
    'x-consumer-id': 'admin', 'x-authenticated-userid': 'admin',
  };
  const authed = seen(await gw.get('/orders/s', { headers: { ...spoof, authorization: `Bearer ${await idp.token(k1)}` } }));
  assert.equal(authed['x-gatehouse-consumer'], '"alice"');
  assert.equal(authed['x-gatehouse-scopes'], '"orders:read", "orders:write"');
  const anon = seen(await gw.get('/public/s', { headers: spoof }));
  assert.equal(anon['x-gatehouse-consumer'], '"anonymous"');
  for (const h of [authed, anon]) for (const name of ['x-user-id', 'x-consumer-id', 'x-authenticated-userid', 'x-gatehouse-identity']) assert.equal(h[name], undefined, name);

  // What the edge itself sends on, seen by a capture server standing in as the router: the router's own
  // stripping must not be what keeps a spoofed header from the backend.
  const standIn = await startEchoBackend('router-stand-in');
  const edge = await startTier('edge', configFrom({ ...gw.edgeConfig, edge: { ...gw.edgeConfig.edge, router: { static: [standIn.url] } } }));
  try {
    for (const path of ['/public/s', '/orders/s']) {
      const headers = { ...spoof, 'x-gatehouse-claims': '{"tenant":"evil"}', 'x-gatehouse-anything': '1', authorization: `Bearer ${await idp.token(k1)}` };
      assert.equal((await send(gw.client, `${edge.addresses.url}${path}`, { headers })).status, 200);
      const toRouter = standIn.received.at(-1)!.headers;
      assert.deepEqual(Object.keys(toRouter).filter((n) => n.startsWith('x-gatehouse-')), [IDENTITY_HEADER], `${path}: only the edge's own assertion`);
      const identity = await new AssertionVerifier(TEST_IDENTITY).verify(String(toRouter[IDENTITY_HEADER]));
      assert.equal(identity?.consumer, path === '/public/s' ? 'anonymous' : 'alice', `${path}: an assertion the edge signed`);
      for (const name of ['x-user-id', 'x-consumer-id', 'x-authenticated-userid']) assert.equal(toRouter[name], undefined, `${path}: ${name}`);
    }
  } finally {
    await edge.runtime.close();
    await standIn.close();
  }
});

test('naming Authorization in Connection does not bypass authentication', async () => {
  const token = await idp.token(k1);
  const r = await rawRequest(gw.edgeUrl, http1('GET', '/orders/c', [`Authorization: Bearer ${token}`, 'Connection: close, Authorization']));
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as EchoReply).headers['x-gatehouse-consumer'], '"alice"');
  const none = await rawRequest(gw.edgeUrl, http1('GET', '/orders/c', ['Connection: close, Authorization']));
  assert.equal(none.status, 401);
});

test('on a route open to anonymous callers, a bad token is served as anonymous and not passed on', async () => {
  const r = await gw.get('/mixed/x', bearer('bad.token.value'));
  assert.equal(r.status, 200);
  assert.equal(seen(r)['x-gatehouse-consumer'], '"anonymous"');
  assert.equal(seen(r).authorization, undefined);
  assert.equal(seen(await gw.get('/mixed/x', bearer(await idp.token(k1))))['x-gatehouse-consumer'], '"alice"');
});

test('a request sent straight to the router without a valid assertion gets 401', async () => {
  const direct = await fetch(`${gw.routerUrl}/public/x`, { headers: { 'x-gatehouse-consumer': 'admin' } });
  assert.equal(direct.status, 401);
  assert.equal(((await direct.json()) as { error: string }).error, 'unauthorized');
  const forged = await new SignJWT({ gh: { m: 'jwt', s: ['*'], r: [], c: {} } }).setProtectedHeader({ alg: 'HS256', kid: 'test-1', typ: 'gatehouse-identity+jwt' })
    .setSubject('admin').setIssuer('gatehouse-edge').setAudience('gatehouse-router').setIssuedAt().setExpirationTime('1m')
    .sign(new TextEncoder().encode('not-the-shared-key-but-long-enough-0123456789'));
  const withForged = await fetch(`${gw.routerUrl}/public/x`, { headers: { 'x-gatehouse-identity': forged } });
  assert.equal(withForged.status, 401);
  assert.ok(!backend.received.some((r) => ['admin', '"admin"'].includes(String(r.headers['x-gatehouse-consumer']))));
});

test('an identity assertion the router accepted is refused once it expires', async () => {
  const assertion = await new AssertionSigner({ ...TEST_IDENTITY, ttlSeconds: 2 }).assertionFor({ consumer: 'replayed', method: 'api-key', scopes: [], roles: [], claims: {} });
  const replay = () => fetch(`${gw.routerUrl}/public/replay`, { headers: { [IDENTITY_HEADER]: assertion } });
  const first = await replay();
  assert.equal(first.status, 200);
  assert.equal(((await first.json()) as EchoReply).headers['x-gatehouse-consumer'], '"replayed"');
  await new Promise((r) => setTimeout(r, decodeJwt(assertion).exp! * 1000 - Date.now() + 100));
  const late = await replay();
  assert.equal(late.status, 401);
  assert.equal(((await late.json()) as { error: string }).error, 'unauthorized');
});
