// The remote JWK set against a real HTTP server on loopback: when it fetches
// (at start, for a new kid at most once per cooldown, when too old), how long
// the last good keys serve while the server fails, and which answers count as
// a failed fetch.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair, exportJWK, SignJWT, jwtVerify, type JWK, type CryptoKey } from 'jose';
import { pino } from 'pino';
import { RemoteJwks, type JwksSettings } from '../../edge/auth/jwks.js';
import { createJwtMethod } from '../../edge/auth/jwt.js';

interface Key { readonly kid: string; readonly privateKey: CryptoKey; readonly jwk: JWK }
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}
const token = (key: Key) => new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setExpirationTime('5m').sign(key.privateKey);

/** A JWKS endpoint whose answer each test sets: the published keys, or any status and body. */
const server = {
  published: [] as Key[],
  answer: undefined as { status: number; body: string } | 'hang' | undefined,
  fetches: 0,
  seen: [] as { method: string | undefined; headers: IncomingHttpHeaders }[],
};
const http = createServer((req, res) => {
  server.fetches++;
  server.seen.push({ method: req.method, headers: req.headers });
  if (server.answer === 'hang') return;
  const { status, body } = server.answer ?? { status: 200, body: JSON.stringify({ keys: server.published.map((k) => k.jwk) }) };
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);
});
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/jwks.json`;
after(() => new Promise<void>((r) => { http.closeAllConnections(); http.close(() => r()); }));

const warnings: { event: string; msg: string; err: string; servingCachedKeys: boolean; url: string }[] = [];
const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
const settings = (over: Partial<JwksSettings> = {}): JwksSettings => ({ cooldownMs: 60_000, maxAgeMs: 60_000, maxStaleMs: 60_000, timeoutMs: 2_000, ...over });

function reset(published: Key[], answer?: typeof server.answer) {
  server.published = published;
  server.answer = answer;
  server.fetches = 0;
  server.seen.length = 0;
  warnings.length = 0;
}
const verifies = async (jwks: RemoteJwks, key: Key) => jwtVerify(await token(key), jwks.getKey).then(() => true, (err: Error) => err.message);

test('the set is fetched once at start with a plain GET for JSON, and serves every request after', async () => {
  const k1 = await newKey('k1');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings(), log);
  assert.deepEqual(jwks.status(), { url, ageSeconds: undefined, fetches: 1 }, 'no keys until the first answer');
  assert.equal(await verifies(jwks, k1), true);
  assert.equal(await verifies(jwks, k1), true);
  assert.equal(server.fetches, 1);
  assert.equal(server.seen[0]!.method, 'GET');
  assert.equal(server.seen[0]!.headers.accept, 'application/json');
  assert.deepEqual(jwks.status(), { url, ageSeconds: 0, fetches: 1 });
});

test('a new kid fetches again, once for many concurrent requests, and never again within the cooldown', async () => {
  const k1 = await newKey('k1');
  const k2 = await newKey('k2');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings({ cooldownMs: 1_500 }), log);
  assert.equal(await verifies(jwks, k1), true);
  server.published = [k1, k2];
  assert.match(String(await verifies(jwks, k2)), /no applicable key found/i, 'within the cooldown the set is not fetched again');
  assert.equal(server.fetches, 1);
  await sleep(1_600);
  const all = await Promise.all(Array.from({ length: 5 }, () => verifies(jwks, k2)));
  assert.deepEqual(all, [true, true, true, true, true]);
  assert.equal(server.fetches, 2, 'one fetch shared by all five');
  assert.equal(jwks.fetches, 2);
});

test('a set younger than its maximum age is not fetched again, even with no cooldown', async () => {
  const k1 = await newKey('k1');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings({ cooldownMs: 0 }), log);
  assert.equal(await verifies(jwks, k1), true);
  assert.equal(await verifies(jwks, k1), true);
  assert.equal(server.fetches, 1);
});

test('a set older than its maximum age is fetched again before use, so a withdrawn key stops working', async () => {
  const k1 = await newKey('k1');
  const k2 = await newKey('k2');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings({ maxAgeMs: 1_000, cooldownMs: 800 }), log);
  assert.equal(await verifies(jwks, k1), true);
  server.published = [k2];
  assert.equal(await verifies(jwks, k1), true, 'still young: no fetch');
  assert.equal(server.fetches, 1);
  await sleep(1_100);
  assert.match(String(await verifies(jwks, k1)), /no applicable key found/i, 'fetched again, and the kid is not retried within the cooldown');
  assert.equal(server.fetches, 2);
  assert.equal(await verifies(jwks, k2), true);
});

test('while the server fails, the last good keys serve until they are older than maxStale, and the log says so', async () => {
  const k1 = await newKey('k1');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings({ maxAgeMs: 100, maxStaleMs: 1_000, cooldownMs: 0 }), log);
  assert.equal(await verifies(jwks, k1), true);
  server.answer = { status: 500, body: 'down' };
  await sleep(150);
  assert.equal(await verifies(jwks, k1), true, 'stale keys still serve');
  assert.deepEqual(warnings.map((w) => [w.event, w.msg, w.err, w.servingCachedKeys, w.url]), [['jwks-fetch-failed', 'JWKS fetch failed', 'HTTP 500', true, url]]);
  await sleep(1_000);
  assert.match(String(await verifies(jwks, k1)), /no usable JWKS/);
  assert.equal(warnings.at(-1)?.servingCachedKeys, false);
  assert.equal(jwks.status().ageSeconds, undefined);
});

test('past maxStale the keys are dropped even when the cooldown holds back a fetch', async () => {
  const k1 = await newKey('k1');
  reset([k1]);
  const jwks = new RemoteJwks(url, settings({ maxAgeMs: 100, maxStaleMs: 300, cooldownMs: 60_000 }), log);
  assert.equal(await verifies(jwks, k1), true);
  await sleep(350);
  assert.match(String(await verifies(jwks, k1)), /no usable JWKS/);
  assert.equal(server.fetches, 1);
});

test('a non-200 answer, a body over 512 KiB, or anything but a JWK set is a failed fetch', async () => {
  const k1 = await newKey('k1');
  const set = JSON.stringify({ keys: [k1.jwk] });
  const cases: [typeof server.answer, string][] = [
    [{ status: 404, body: set }, 'HTTP 404'],
    [{ status: 200, body: set.replace('{', `{${' '.repeat(512 * 1024)}`) }, 'JWKS larger than 524288 bytes'],
    [{ status: 200, body: '{"keys":{}}' }, 'not a JWK set (no "keys" array)'],
    [{ status: 200, body: 'null' }, 'not a JWK set (no "keys" array)'],
  ];
  for (const [answer, err] of cases) {
    reset([k1], answer);
    const jwks = new RemoteJwks(url, settings(), log);
    assert.match(String(await verifies(jwks, k1)), /no usable JWKS \(fetch failed and no keys are cached\)/, err);
    assert.equal(warnings[0]?.err, err);
  }
  reset([k1], { status: 200, body: set.replace('{', `{${' '.repeat(512 * 1024 - set.length)}`) });
  assert.equal(Buffer.byteLength(server.answer !== 'hang' ? server.answer!.body : ''), 512 * 1024);
  assert.equal(await verifies(new RemoteJwks(url, settings(), log), k1), true, 'exactly 512 KiB is accepted');
});

test('a server that never answers fails the fetch after timeoutMs', async () => {
  const k1 = await newKey('k1');
  reset([k1], 'hang');
  const started = Date.now();
  const jwks = new RemoteJwks(url, settings({ timeoutMs: 200 }), log);
  assert.match(String(await verifies(jwks, k1)), /no usable JWKS/);
  assert.ok(Date.now() - started < 2_000, `gave up after ${Date.now() - started} ms`);
  assert.equal(warnings.length, 1);
  http.closeAllConnections();
});

test('an issuer\'s jwks settings are in seconds: cooldown, maximum age and maximum staleness', async () => {
  const k1 = await newKey('k1');
  const issuer = (jwks: Record<string, number>) => createJwtMethod({
    cacheSize: 100,
    maxTokenBytes: 8192,
    issuers: [{ issuer: 'https://idp.test/', audience: ['api'], algorithms: ['ES256'], jwksUrl: url, clockSkewSeconds: 0, requiredClaims: [], consumerClaim: 'sub', scopesClaim: 'scope', rolesClaim: 'roles', forwardClaims: [], jwks: { timeoutMs: 2_000, ...jwks } as never }],
  }, log);
  const bearer = async (key: Key) => ({ headers: { authorization: `Bearer ${await new SignJWT({ sub: 'alice', iss: 'https://idp.test/', aud: 'api', jti: String(Math.random()) }).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setExpirationTime('5m').sign(key.privateKey)}` } }) as never;
  const ok = async (method: ReturnType<typeof issuer>, key: Key) => (await method.authenticate(await bearer(key)))?.ok;

  reset([k1]);
  const cooling = issuer({ cooldownSeconds: 1, cacheMaxAgeSeconds: 600, maxStaleSeconds: 3600 });
  assert.equal(await ok(cooling, k1), true);
  assert.equal(await ok(cooling, await newKey('unknown')), false);
  assert.equal(server.fetches, 1, 'an unknown kid within the 1 s cooldown fetches nothing');

  reset([k1]);
  const young = issuer({ cooldownSeconds: 0, cacheMaxAgeSeconds: 1, maxStaleSeconds: 3600 });
  assert.equal(await ok(young, k1), true);
  await sleep(20);
  assert.equal(await ok(young, k1), true);
  assert.equal(server.fetches, 1, 'a set 20 ms old is not fetched again under a 1 s maximum age');

  reset([k1]);
  const stale = issuer({ cooldownSeconds: 0, cacheMaxAgeSeconds: 0, maxStaleSeconds: 2 });
  assert.equal(await ok(stale, k1), true);
  server.answer = { status: 500, body: '' };
  await sleep(20);
  assert.equal(await ok(stale, k1), true, 'keys 20 ms old serve while the server fails, under a 2 s maximum staleness');
});
