// The credential rules of the edge, through both tiers with real tokens, API
// keys and sessions in a real Redis, client certificates, raw HTTP/1.1 bytes
// and HTTP/2: a request that presents more than one credential is refused
// (whatever the methods would say), and a token's times and size are bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Agent } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, send, certificates, type Gateway } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, type TestIdp, type SigningKey } from '../harness/idp.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { clientCa, type ClientCa } from '../harness/client-ca.js';
import { rawRequest, http1 } from '../harness/raw.js';
import { h2WithRawHeaders } from '../harness/raw-h2.js';
import { waitFor } from '../harness/ports.js';
import { ApiKeyStore } from '../../edge/auth/api-key-store.js';

let backend: EchoBackend;
let idp: TestIdp;
let k1: SigningKey;
let redis: TestRedis;
let admin: Redis;
let trusted: ClientCa;
let gw: Gateway;
let alice: string;
let bob: string;
let key: string;
let otherKey: string;

before(async () => {
  [backend, redis, k1, trusted] = await Promise.all([startEchoBackend('credential-rules'), startRedis(), newSigningKey('k1'), clientCa()]);
  idp = await startIdp([k1]);
  const certs = await certificates;
  gw = await startGateway({
    redis: redis.url,
    auth: {
      jwt: { issuers: [issuerConfig(idp, { maxLifetimeSeconds: 3600 })] },
      apiKey: { header: 'x-api-key', queryParam: 'apikey' },
      session: { exchange: ['jwt', 'api-key'] },
      mtls: { consumerFrom: 'subject-cn' },
    },
    routes: [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'app', auth: { methods: ['jwt', 'api-key'] } },
      { name: 'app', match: { pathPrefix: '/app' }, service: 'app', auth: { methods: ['session', 'jwt'] } },
      { name: 'public', match: { pathPrefix: '/public' }, service: 'app', auth: { anonymous: true } },
      { name: 'partners', match: { pathPrefix: '/partners' }, service: 'app', auth: { methods: ['mtls', 'jwt'] } },
      { name: 'certs', match: { pathPrefix: '/certs' }, service: 'app', auth: { methods: ['mtls'] } },
    ],
    services: { app: { static: [backend.url] } },
    edgeExtra: { tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }], clientCertificates: { ca: trusted.file } } },
  });
  admin = new Redis(redis.url);
  const store = new ApiKeyStore(admin);
  [alice, bob, { key }, { key: otherKey }] = await Promise.all([
    idp.token(k1), idp.token(k1, { sub: 'bob' }), store.create({ consumer: 'acme', scopes: [] }), store.create({ consumer: 'globex', scopes: [] }),
  ]);
});

after(async () => {
  admin.disconnect();
  await gw.close();
  await Promise.all([backend.close(), idp.close(), redis.stop()]);
});

interface Answer { readonly status: number; readonly headers: Record<string, string | string[] | undefined>; readonly body: string }

const AMBIGUOUS_CHALLENGE = 'Bearer realm="gatehouse", error="invalid_request", error_description="more than one credential presented"';

/** What a client and the operator see of a refusal: status, challenge, JSON body, and the access line's reason. */
async function assertRefused(r: Answer, challenge: string, reason: RegExp): Promise<void> {
  assert.equal(r.status, 401, r.body);
  assert.equal(r.headers['www-authenticate'], challenge);
  const requestId = r.headers['x-request-id'];
  assert.match(String(requestId), /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(r.body), { error: 'unauthorized', message: 'Authentication is required, or the credential given was refused.', requestId });
  const line = await waitFor('the access line', () => gw.edge.logs.access().find((l) => l.requestId === requestId));
  assert.equal(line.status, 401);
  assert.match(String(line.reason), reason);
}

const ambiguous = (r: Answer, found: string) => assertRefused(r, AMBIGUOUS_CHALLENGE, new RegExp(`^invalid_request: more than one credential presented \\(${found}\\)$`));

async function get(path: string, headers: Record<string, string> = {}, client = gw.client): Promise<Answer> {
  const r = await send(client, `${gw.edgeUrl}${path}`, { headers });
  return { status: r.status, headers: r.headers, body: r.text };
}

/** Runs the requests and proves none of them reached the backend. */
async function noneReachBackend(requests: () => Promise<void>): Promise<void> {
  const before = backend.received.length;
  await requests();
  assert.equal(backend.received.length, before, 'nothing reached the backend');
}

async function withCertificate<T>(use: (client: Agent) => Promise<T>): Promise<T> {
  const partner = await trusted.issue('partner-7');
  const client = new Agent({ connect: { ca: readFileSync((await certificates).caFile), servername: 'localhost', cert: partner.cert, key: partner.key } });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

test('two Authorization header lines over HTTP/1.1 are refused, though node keeps only the first', async () => {
  await noneReachBackend(async () => {
    for (const path of ['/orders/1', '/public/1', '/app/1']) {
      const r = await rawRequest(gw.edgeUrl, http1('GET', path, [`Authorization: Bearer ${alice}`, `authorization: Bearer ${bob}`]));
      await ambiguous(r, '2 authorization header lines');
    }
    const mixed = await rawRequest(gw.edgeUrl, http1('GET', '/orders/1', ['Authorization: Basic YWxpY2U6cHc=', `Authorization: Bearer ${alice}`]));
    await ambiguous(mixed, '2 authorization header lines');
  });
});

test('two bearer tokens joined by a comma in one Authorization line are refused', async () => {
  await noneReachBackend(async () => {
    const r = await rawRequest(gw.edgeUrl, http1('GET', '/orders/1', [`Authorization: Bearer ${alice}, Bearer ${bob}`]));
    await ambiguous(r, '2 comma-joined in one authorization header');
  });
});

test('two authorization fields over HTTP/2 are refused', async () => {
  await noneReachBackend(async () => {
    const r = await h2WithRawHeaders(`${gw.edgeUrl}/orders/1`, ['authorization', `Bearer ${alice}`, 'authorization', `Bearer ${bob}`]);
    await ambiguous(r, '2 authorization header lines');
  });
  const one = await h2WithRawHeaders(`${gw.edgeUrl}/orders/1`, ['authorization', `Bearer ${alice}`]);
  assert.equal(one.status, 200, 'one is admitted over the same path');
  assert.equal((JSON.parse(one.body) as EchoReply).headers['x-gatehouse-consumer'], '"alice"');
});

test('credentials of two methods, or one API key in two places, are refused whatever the methods would say', async () => {
  await noneReachBackend(async () => {
    await ambiguous(await get('/orders/1', { authorization: `Bearer ${alice}`, 'x-api-key': key }), 'authorization header, x-api-key header');
    await ambiguous(await get(`/orders/1?apikey=${otherKey}`, { 'x-api-key': key }), 'x-api-key header, apikey query parameter');
    await ambiguous(await get(`/orders/1?apikey=${key}&apikey=${otherKey}`), '2 apikey query parameters');
    await ambiguous(await get(`/orders/1?api%6Bey=${otherKey}`, { 'x-api-key': key }), 'x-api-key header, apikey query parameter');
    await ambiguous(await get('/orders/1', { authorization: 'Bearer not.a.token', 'x-api-key': 'gh_unknown' }), 'authorization header, x-api-key header');
    await ambiguous(await get('/public/1', { authorization: `Bearer ${alice}`, 'x-api-key': key }), 'authorization header, x-api-key header');
  });
});

test('a session cookie with a bearer token, or two session cookies, are refused; a login with two credentials too', async () => {
  const login = await send(gw.client, `${gw.edgeUrl}/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${alice}` } });
  assert.equal(login.status, 201, login.text);
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  assert.equal((await get('/app/1', { cookie: `theme=dark; ${cookie}` })).status, 200, 'the session alone is admitted');
  await noneReachBackend(async () => {
    await ambiguous(await get('/app/1', { cookie, authorization: `Bearer ${bob}` }), 'authorization header, gh_session cookie');
    await ambiguous(await get('/app/1', { cookie: `${cookie}; theme=dark; gh_session=${'x'.repeat(43)}` }), '2 gh_session cookies');
    await ambiguous(await get('/orders/1', { cookie, 'x-api-key': key }), 'x-api-key header, gh_session cookie');
  });
  const twice = await send(gw.client, `${gw.edgeUrl}/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'x-api-key': key } });
  assert.equal(twice.headers['set-cookie'], undefined, 'no session is made');
  assert.equal(twice.status, 401);
  assert.equal(twice.headers['www-authenticate'], AMBIGUOUS_CHALLENGE);
  const refusal = await waitFor('the login refusal', () => gw.edge.logs.records.find((l) => l.event === 'session-login-refused' && l.requestId === twice.headers['x-request-id']));
  assert.equal(refusal.reason, 'invalid_request: more than one credential presented (authorization header, x-api-key header)');
  const relogin = await send(gw.client, `${gw.edgeUrl}/auth/session`, { method: 'POST', headers: { cookie, authorization: `Bearer ${alice}` } });
  assert.equal(relogin.status, 201, 'a stale session cookie does not count at login: it is about to be replaced');
});

test('a client certificate counts only where the route could also admit by another method', async () => {
  await withCertificate(async (client) => {
    await noneReachBackend(async () => {
      await ambiguous(await get('/partners/1', { authorization: `Bearer ${alice}` }, client), 'authorization header, client certificate');
    });
    const byCertificate = await get('/partners/1', {}, client);
    assert.equal(byCertificate.status, 200, byCertificate.body);
    assert.equal((JSON.parse(byCertificate.body) as EchoReply).headers['x-gatehouse-consumer'], '"partner-7"');
    for (const path of ['/certs/1', '/orders/1']) {
      const r = await get(path, { authorization: `Bearer ${alice}` }, client);
      assert.equal(r.status, 200, `${path}: ${r.body}`);
    }
  });
  const byToken = await get('/partners/1', { authorization: `Bearer ${alice}` });
  assert.equal(byToken.status, 200, 'the token alone, without a certificate');
});

test('one credential in each carrier is still admitted; another Authorization scheme is not a credential of the edge', async () => {
  const consumer = (r: Answer) => (JSON.parse(r.body) as EchoReply).headers['x-gatehouse-consumer'];
  assert.equal(consumer(await get('/orders/1', { authorization: `Bearer ${alice}` })), '"alice"');
  assert.equal(consumer(await get('/orders/1', { 'x-api-key': key })), '"acme"');
  assert.equal(consumer(await get(`/orders/1?apikey=${key}&page=2`)), '"acme"');
  const encoded = await get(`/orders/1?api%6Bey=${key}&page=2`);
  assert.equal(consumer(encoded), '"acme"', 'the api-key method decodes the parameter name');
  assert.equal((JSON.parse(encoded.body) as EchoReply).url, '/orders/1?page=2', 'and the key, however its name is encoded, is not passed on');
  assert.equal(consumer(await get('/orders/1', { authorization: 'Basic YWxpY2U6cHc=', 'x-api-key': key })), '"acme"');
});

test('an "iat" in the future is refused beyond the clock skew', async () => {
  const now = Math.floor(Date.now() / 1000);
  await noneReachBackend(async () => {
    const r = await get('/orders/1', { authorization: `Bearer ${await idp.token(k1, { iat: now + 600, exp: now + 900 })}` });
    await assertRefused(r, 'Bearer realm="gatehouse", error="invalid_token"', /^invalid_token: "iat" claim is \d+ s in the future \(clock skew allowed: 30 s\)$/);
  });
  assert.equal((await get('/orders/1', { authorization: `Bearer ${await idp.token(k1, { iat: now + 10 })}` })).status, 200, 'within the skew');
});

test('a token meant to live longer than maxLifetimeSeconds is refused; one within it is admitted', async () => {
  const now = Math.floor(Date.now() / 1000);
  await noneReachBackend(async () => {
    const decades = await get('/orders/1', { authorization: `Bearer ${await idp.token(k1, { iat: now, exp: now + 30 * 365 * 86_400 })}` });
    await assertRefused(decades, 'Bearer realm="gatehouse", error="invalid_token"', /^invalid_token: token lifetime 946080000 s \(exp - iat\) is over maxLifetimeSeconds 3600$/);
  });
  assert.equal((await get('/orders/1', { authorization: `Bearer ${await idp.token(k1, { iat: now, exp: now + 3600 })}` })).status, 200);
});

test('a valid 10 KB token is refused with 401 and the documented size limit as its reason', async () => {
  const large = await idp.token(k1, { pad: 'p'.repeat(7_600) });
  assert.ok(large.length > 10_000 && large.length < 11_000, String(large.length));
  await noneReachBackend(async () => {
    const reason = `token too large (${large.length} bytes > 8192)`;
    const r = await get('/orders/1', { authorization: `Bearer ${large}` });
    await assertRefused(r, `Bearer realm="gatehouse", error="invalid_token", error_description="${reason}"`, new RegExp(`^invalid_token: token too large \\(${large.length} bytes > 8192\\)$`));
  });
});
