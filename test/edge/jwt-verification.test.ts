// Every check the jwt method makes on a bearer token, one refusal at a time,
// and what a verified token yields: the credential's shape, issuer, audience,
// algorithm, expiry with clock skew, required claims, token age, the claims
// the identity is built from, and how long an answer is remembered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, exportJWK, exportPKCS8, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { createJwtMethod } from '../../edge/auth/jwt.js';
import type { AuthOutcome } from '../../edge/auth/method.js';
import { checkJwtIssuer, type JwtAuthConfig, type JwtIssuerConfig } from '../../edge/auth/jwt-schema.js';
import { parseConfig } from '../../config/load.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-verify-'));
const ISS = 'https://idp.test/';
const SECRET = 's'.repeat(40);
const key = new TextEncoder().encode(SECRET);
const T0 = 1_700_000_000_000;

function config(issuer: Record<string, unknown> = {}, more: Record<string, unknown> = {}): JwtAuthConfig {
  return parseConfig(JSON.stringify({
    router: { listen: { port: 1 }, admin: { port: 2 } },
    identity: { keys: [{ id: 'k', secret: 'x'.repeat(32) }] },
    auth: { jwt: { issuers: [{ issuer: ISS, audience: ['api', 'api2'], algorithms: ['HS256'], secret: SECRET, ...issuer }], ...more } },
  }), 'jwt-verification-test.yaml').auth.jwt!;
}
const bearer = (token: string, scheme = 'Bearer ') => ({ headers: { authorization: `${scheme}${token}` } }) as unknown as FastifyRequest;
const now = () => Math.floor(Date.now() / 1000);

async function sign(claims: JWTPayload = {}, header: Record<string, unknown> = {}, secret: Uint8Array = key): Promise<string> {
  const payload: JWTPayload = { sub: 'alice', iss: ISS, aud: 'api', iat: now(), exp: now() + 300, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header } as { alg: string }).sign(secret);
}

async function outcome(method: ReturnType<typeof createJwtMethod>, token: string, scheme?: string): Promise<AuthOutcome | undefined> {
  return method.authenticate(bearer(token, scheme));
}
const reason = (o: AuthOutcome | undefined) => (o?.ok === false ? o.reason : 'accepted');

test('the scheme is Bearer in any case, followed by one space; other schemes are left to other methods', async () => {
  const method = createJwtMethod(config(), log);
  assert.equal(method.name, 'jwt');
  const token = await sign();
  for (const scheme of ['Bearer ', 'bearer ', 'BEARER ', 'Bearer    ']) assert.equal((await outcome(method, token, scheme))?.ok, true, scheme);
  for (const scheme of ['Basic ', 'Bearer', 'Bearer-', 'Token ']) assert.equal(await outcome(method, token, scheme), undefined, scheme);
  assert.equal(method.authenticate({ headers: { authorization: 'Bearer' } } as unknown as FastifyRequest), undefined, 'too short to be a bearer credential');
  assert.equal(reason(await outcome(method, '')), 'malformed bearer token', '"Bearer " with nothing after it');
});

test('a token that is not three base64url parts is refused before any parsing', async () => {
  const method = createJwtMethod(config(), log);
  for (const bad of ['a.b', 'a.b.c.d', 'a b.c.d', 'a.b c.d', '.b.c', 'a..c', 'a+b.c.d', 'a.b.c=', 'x'.repeat(20)]) {
    assert.deepEqual(await outcome(method, bad), { ok: false, code: 'invalid_token', reason: 'malformed bearer token' }, bad);
  }
  assert.match(reason(await outcome(method, `a.${'b'.repeat(8188)}.c`)), /^malformed token: /, '8192 characters are parsed');
  assert.match(reason(await outcome(method, 'eyJhbGciOiJIUzI1NiJ9.e30.')), /^unknown issuer$/, 'an empty signature part passes the shape check');
});

test('a token over maxTokenBytes (8192 by default) is refused unparsed, with a size the client is told', async () => {
  const method = createJwtMethod(config(), log);
  const tooLarge = { ok: false, code: 'invalid_token', reason: 'token too large (8193 bytes > 8192)', description: 'token too large (8193 bytes > 8192)' };
  assert.deepEqual(await outcome(method, `a.${'b'.repeat(8189)}.c`), tooLarge, '8193 characters, even malformed');
  const large = await sign({ pad: 'p'.repeat(9_000) });
  assert.match(reason(await outcome(method, large)), /^token too large \(\d{5} bytes > 8192\)$/, 'a valid token too');
  const roomy = createJwtMethod(config({}, { maxTokenBytes: 16_384 }), log);
  assert.equal((await outcome(roomy, large))?.ok, true, 'the limit is configurable');
});

test('the issuer is chosen by iss, and an unknown one is refused and named (truncated) for the log', async () => {
  const method = createJwtMethod(config(), log);
  const other = await sign({ iss: 'https://elsewhere.test/' });
  assert.deepEqual(await outcome(method, other), { ok: false, code: 'invalid_token', reason: 'unknown issuer', issuer: 'https://elsewhere.test/' });
  const long = await outcome(method, await sign({ iss: `https://${'e'.repeat(300)}` }));
  assert.equal(long?.ok === false && long.issuer?.length, 200);
  const noIssuer = await outcome(method, await sign({ iss: undefined }));
  assert.equal(noIssuer?.ok === false && noIssuer.issuer, 'undefined');
  const two = createJwtMethod(config({}, { issuers: [{ issuer: 'https://a.test/', audience: ['api'], algorithms: ['HS256'], secret: 'a'.repeat(32) }, { issuer: ISS, audience: ['api'], algorithms: ['HS256'], secret: SECRET }] }), log);
  assert.equal((await outcome(two, await sign()))?.ok, true, 'the second issuer verifies its own tokens');
  assert.equal((await outcome(two, await sign({ iss: 'https://a.test/' })))?.ok, false, 'and not the first issuer\'s');
});

test('a payload that is not JSON is refused as malformed', async () => {
  const method = createJwtMethod(config(), log);
  const o = await outcome(method, 'eyJhbGciOiJIUzI1NiJ9.bm90LWpzb24.c2ln');
  assert.equal(o?.ok === false && o.code, 'invalid_token');
  assert.match(reason(o), /^malformed token: /);
});

test('each claim check refuses on its own', async () => {
  const method = createJwtMethod(config({ requiredClaims: ['tenant'], clockSkewSeconds: 0 }), log);
  const good = { tenant: 't1' };
  assert.equal((await outcome(method, await sign(good)))?.ok, true);
  const refusals: Record<string, Promise<string>> = {
    'another audience': sign({ ...good, aud: 'other' }),
    'expired': sign({ ...good, exp: now() - 1 }),
    'not yet valid': sign({ ...good, nbf: now() + 60 }),
    'no exp': sign({ ...good, exp: undefined }),
    'no required claim': sign({}),
    'another algorithm': sign(good, { alg: 'HS512' }, new TextEncoder().encode('s'.repeat(64))),
    'another key': sign(good, {}, new TextEncoder().encode('t'.repeat(40))),
    'an empty subject': sign({ ...good, sub: '' }),
    'a numeric subject': sign({ ...good, sub: 7 as unknown as string }),
  };
  for (const [why, token] of Object.entries(refusals)) {
    const o = await outcome(method, await token);
    assert.equal(o?.ok, false, why);
    assert.equal(o?.ok === false && o.code, 'invalid_token', why);
    assert.equal(o?.ok === false && o.issuer, ISS, why);
  }
  assert.equal((await outcome(method, await sign({ ...good, aud: ['x', 'api2'] })))?.ok, true, 'any configured audience will do');
});

test('clock skew is allowed on expiry, and a maximum token age is enforced only when configured', async () => {
  const lenient = createJwtMethod(config({ clockSkewSeconds: 30 }), log);
  assert.equal((await outcome(lenient, await sign({ exp: now() - 20 })))?.ok, true, 'expired 20 s ago, within 30 s of skew');
  assert.equal((await outcome(lenient, await sign({ exp: now() - 40 })))?.ok, false);
  assert.equal((await outcome(lenient, await sign({ iat: now() - 86_400 })))?.ok, true, 'no maximum age by default');
  const fresh = createJwtMethod(config({ maxTokenAgeSeconds: 600, clockSkewSeconds: 0 }), log);
  assert.equal((await outcome(fresh, await sign({ iat: now() - 500 })))?.ok, true);
  assert.equal((await outcome(fresh, await sign({ iat: now() - 700 })))?.ok, false);
});

test('an "iat" in the future is refused beyond the clock skew, whether or not a maximum age is configured', async () => {
  const method = createJwtMethod(config({ clockSkewSeconds: 30 }), log);
  assert.equal((await outcome(method, await sign({ iat: now() + 20 })))?.ok, true, '20 s ahead, within 30 s of skew');
  const ahead = await outcome(method, await sign({ iat: now() + 3600, exp: now() + 7200 }));
  assert.equal(ahead?.ok === false && ahead.code, 'invalid_token');
  assert.match(reason(ahead), /^"iat" claim is 36\d\d s in the future \(clock skew allowed: 30 s\)$/);
  assert.equal(ahead?.ok === false && ahead.issuer, ISS);
  assert.equal((await outcome(method, await sign({ iat: undefined })))?.ok, true, 'a token without iat is not refused for it');
});

test('maxLifetimeSeconds bounds exp - iat, or exp - now without iat, and is off by default', async () => {
  const t = now();
  const decades = { iat: t, exp: t + 30 * 365 * 86_400 };
  assert.equal((await outcome(createJwtMethod(config(), log), await sign(decades)))?.ok, true, 'no maximum unless configured');
  const bounded = createJwtMethod(config({ maxLifetimeSeconds: 3600, clockSkewSeconds: 30 }), log);
  assert.match(reason(await outcome(bounded, await sign(decades))), /^token lifetime 946080000 s \(exp - iat\) is over maxLifetimeSeconds 3600$/);
  assert.equal((await outcome(bounded, await sign({ iat: t - 100, exp: t + 3500 })))?.ok, true, 'exactly the maximum');
  assert.equal((await outcome(bounded, await sign({ iat: t - 100, exp: t + 3501 })))?.ok, false, 'one second over it, though it ends within the hour');
  assert.equal((await outcome(bounded, await sign({ iat: undefined, exp: now() + 3620 })))?.ok, true, 'without iat: exp - now, within the skew');
  assert.match(reason(await outcome(bounded, await sign({ iat: undefined, exp: now() + 3700 }))), /^token lifetime 3(69\d|700) s \(exp - now\) is over maxLifetimeSeconds 3600$/);
});

test('a refusal names the key id for the log, cut to 128 characters, and survives a header that is not JSON', async () => {
  const method = createJwtMethod(config(), log);
  const o = await outcome(method, await sign({ exp: now() - 3600 }, { kid: 'k-2024' }));
  assert.equal(o?.ok === false && o.kid, 'k-2024');
  const long = await outcome(method, await sign({ exp: now() - 3600 }, { kid: 'k'.repeat(300) }));
  assert.equal(long?.ok === false && long.kid, 'k'.repeat(128));
  const numeric = await outcome(method, await sign({ exp: now() - 3600 }, { kid: 42 }));
  assert.equal(numeric?.ok === false && 'kid' in numeric, false);
  const none = await outcome(method, await sign({ exp: now() - 3600 }));
  assert.equal(none?.ok === false && 'kid' in none, false);
  const payload = (await sign()).split('.')[1];
  const garbled = await outcome(method, `bm90LWpzb24.${payload}.c2ln`);
  assert.equal(garbled?.ok, false);
  assert.equal(garbled?.ok === false && 'kid' in garbled, false);
  const noSubject = await outcome(method, await sign({ sub: undefined }, { kid: 'k-7' }));
  assert.deepEqual(noSubject, { ok: false, code: 'invalid_token', reason: 'claim "sub" must be a non-empty string', issuer: ISS, kid: 'k-7' });
});

test('the identity: the consumer claim, scopes from a string or a list, roles, forwarded claims and the issuer', async () => {
  const method = createJwtMethod(config({ consumerClaim: 'client_id', scopesClaim: 'scp', rolesClaim: 'groups', forwardClaims: ['tenant', 'tier', 'absent'] }), log);
  const o = await outcome(method, await sign({ client_id: 'svc-9', scp: ' orders:read  orders:write ', groups: ['admin', 3, 'ops'], tenant: { id: 't1' }, tier: 0, other: 'not forwarded' }));
  assert.ok(o?.ok);
  assert.deepEqual(o.identity, { consumer: 'svc-9', method: 'jwt', scopes: ['orders:read', 'orders:write'], roles: ['admin', 'ops'], claims: { tenant: { id: 't1' }, tier: 0 }, issuer: ISS });
  assert.ok(Object.isFrozen(o.identity));
  const bare = await outcome(method, await sign({ client_id: 'svc-9', scp: 5, groups: 'admin ops' }));
  assert.ok(bare?.ok);
  assert.deepEqual([bare.identity.scopes, bare.identity.roles, bare.identity.claims], [[], ['admin', 'ops'], {}]);
  assert.equal(reason(await outcome(method, await sign({ client_id: '' }))), 'claim "client_id" must be a non-empty string');
  assert.equal(reason(await outcome(method, await sign({ sub: 'alice' }))), 'claim "client_id" must be a non-empty string', 'sub is not the consumer claim here');
});

test('a verified token is answered from memory until exp plus skew, then checked again', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const method = createJwtMethod(config({ clockSkewSeconds: 30 }), log);
  const token = await sign({ iat: T0 / 1000, exp: T0 / 1000 + 60 });
  assert.equal((await outcome(method, token))?.ok, true);
  t.mock.timers.setTime(T0 + 89_999);
  const cached = method.authenticate(bearer(token));
  assert.ok(!(cached instanceof Promise) && cached?.ok === true, 'cached until exp + skew');
  t.mock.timers.setTime(T0 + 90_000);
  const again = method.authenticate(bearer(token));
  assert.ok(again instanceof Promise, 'checked again');
  assert.equal((await again)?.ok, false);
});

test('a refused token is remembered for 5 s, so a flood of one bad token costs one check', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const method = createJwtMethod(config(), log);
  const token = await sign({ iat: T0 / 1000, exp: T0 / 1000 + 600 }, {}, new TextEncoder().encode('t'.repeat(40)));
  const first = await outcome(method, token);
  assert.equal(first?.ok, false);
  t.mock.timers.setTime(T0 + 4_999);
  const cached = method.authenticate(bearer(token));
  assert.ok(!(cached instanceof Promise));
  assert.deepEqual(cached, first);
  t.mock.timers.setTime(T0 + 5_000);
  assert.ok(method.authenticate(bearer(token)) instanceof Promise, 'checked again after 5 s');
});

test('a token refused for its claims is not remembered as good', async () => {
  const method = createJwtMethod(config(), log);
  const token = await sign({ sub: '' });
  assert.equal((await outcome(method, token))?.ok, false);
  assert.equal((await outcome(method, token))?.ok, false);
});

test('key files: a JWK, a JWK set, a private JWK reduced to its public half, and PEM keys named by their file', async () => {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  writeFileSync(join(dir, 'single.json'), `  \n${JSON.stringify({ ...(await exportJWK(es.publicKey)), kid: 'single' })}`);
  writeFileSync(join(dir, 'private.json'), JSON.stringify({ keys: [{ ...(await exportJWK(rs.privateKey)), kid: 'priv' }] }));
  writeFileSync(join(dir, 'partner.2024.pem'), await exportPKCS8(es.privateKey));
  const method = createJwtMethod(config({ secret: undefined, algorithms: ['ES256', 'RS256'], keyFiles: [join(dir, 'single.json'), join(dir, 'private.json'), join(dir, 'partner.2024.pem')] }), log);
  const signed = (alg: string, kid: string, privateKey: CryptoKey) => new SignJWT({ sub: 'alice', iss: ISS, aud: 'api', exp: now() + 60 }).setProtectedHeader({ alg, kid }).sign(privateKey);
  assert.equal((await outcome(method, await signed('ES256', 'single', es.privateKey)))?.ok, true);
  assert.equal((await outcome(method, await signed('RS256', 'priv', rs.privateKey)))?.ok, true);
  assert.equal((await outcome(method, await signed('ES256', 'partner.2024', es.privateKey)))?.ok, true, 'a PEM key\'s kid is its file name without the extension');
  assert.equal((await outcome(method, await signed('ES256', 'partner.2024.pem', es.privateKey)))?.ok, false);
  assert.equal((await outcome(method, await signed('ES256', 'partner', es.privateKey)))?.ok, false);
});

test('key files that cannot be used stop the start with the field and the file named', async () => {
  const issuerWith = (keyFile: string) => config({ secret: undefined, algorithms: ['ES256'], keyFiles: [keyFile] });
  writeFileSync(join(dir, 'oct.json'), JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }));
  writeFileSync(join(dir, 'junk.pem'), 'not a key');
  writeFileSync(join(dir, 'junk.json'), '{ not json');
  assert.throws(() => createJwtMethod(issuerWith(join(dir, 'missing.pem')), log), /^Error: auth\.jwt\.issuers\[0\]\.keyFiles\[0\]: cannot read .*missing\.pem: ENOENT/);
  assert.throws(() => createJwtMethod(issuerWith(join(dir, 'oct.json')), log), /keyFiles\[0\]: .*oct\.json is not a PEM public key, certificate or JWK: symmetric keys belong in secret, not keyFiles/);
  assert.throws(() => createJwtMethod(issuerWith(join(dir, 'junk.pem')), log), /keyFiles\[0\]: .*junk\.pem is not a PEM public key, certificate or JWK: /);
  assert.throws(() => createJwtMethod(issuerWith(join(dir, 'junk.json')), log), /junk\.json is not a PEM public key/);
  const second = config({}, { issuers: [{ issuer: 'https://a.test/', audience: ['api'], algorithms: ['HS256'], secret: SECRET }, { issuer: ISS, audience: ['api'], algorithms: ['ES256'], keyFiles: [join(dir, 'missing.pem')] }] });
  assert.throws(() => createJwtMethod(second, log), /^Error: auth\.jwt\.issuers\[1\]\.keyFiles\[0\]: cannot read/);
  const none = { ...second.issuers[0]!, secret: undefined } as JwtIssuerConfig;
  assert.throws(() => createJwtMethod({ ...second, issuers: [none] }, log), /^Error: auth\.jwt\.issuers\[0\]: no key source$/);
});

test('issuer config: exactly one key source, and algorithms that fit it', () => {
  const c = (over: Partial<JwtIssuerConfig>) => ({ issuer: ISS, audience: ['api'], algorithms: ['RS256'], ...over }) as JwtIssuerConfig;
  assert.equal(checkJwtIssuer(c({})), 'expected exactly one key source (jwksUrl, keyFiles, or secret/secretEnv/secretFile), found 0');
  assert.equal(checkJwtIssuer(c({ jwksUrl: 'https://idp/jwks', secretEnv: 'X' })), 'expected exactly one key source (jwksUrl, keyFiles, or secret/secretEnv/secretFile), found 2');
  assert.equal(checkJwtIssuer(c({ keyFiles: ['a.pem'], secretFile: '/s' })), 'expected exactly one key source (jwksUrl, keyFiles, or secret/secretEnv/secretFile), found 2');
  assert.equal(checkJwtIssuer(c({ jwksUrl: 'https://idp/jwks' })), undefined);
  assert.equal(checkJwtIssuer(c({ keyFiles: ['a.pem'], algorithms: ['ES256', 'EdDSA'] })), undefined);
  for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
    assert.equal(checkJwtIssuer(c({ secretFile: '/s', algorithms: [alg] })), undefined, alg);
    assert.equal(checkJwtIssuer(c({ keyFiles: ['a.pem'], algorithms: ['RS256', alg] })), `HMAC algorithms (${alg}) cannot be used with public keys`, alg);
  }
  assert.equal(checkJwtIssuer(c({ jwksUrl: 'https://idp/jwks', algorithms: ['HS256', 'HS512', 'RS256'] })), 'HMAC algorithms (HS256, HS512) cannot be used with public keys');
  assert.equal(checkJwtIssuer(c({ secretEnv: 'X', algorithms: ['HS256', 'RS256'] })), 'a shared secret verifies only HS256/HS384/HS512');
  assert.equal(checkJwtIssuer(c({ secret: 'x'.repeat(32), algorithms: ['HS256', 'HS384', 'HS512'] })), undefined);
});
