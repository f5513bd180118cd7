// The jwt method with each key source, its cache, and the config rules that
// make algorithm confusion impossible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, exportSPKI, exportJWK, SignJWT } from 'jose';
import type { FastifyRequest } from 'fastify';
import pino from 'pino';
import { createJwtMethod } from '../../edge/auth/jwt.js';
import { parseConfig } from '../../config/load.js';
import type { JwtAuthConfig } from '../../edge/auth/jwt-schema.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jwt-'));
const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` } }) as unknown as FastifyRequest;

function issuer(extra: Record<string, unknown>): JwtAuthConfig {
  const config = parseConfig(JSON.stringify({
    router: { listen: { port: 1 }, admin: { port: 2 } },
    identity: { keys: [{ id: 'k', secret: 'x'.repeat(32) }] },
    auth: { jwt: { issuers: [{ issuer: 'https://idp.test/', audience: ['api'], ...extra }] } },
  }), 'jwt-test.yaml');
  return config.auth.jwt!;
}

const claims = { sub: 'svc-1', aud: 'api', iss: 'https://idp.test/' };

test('a PEM public key file verifies ES256 tokens, and the verified token is then answered from cache synchronously', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'partner.pem'), await exportSPKI(publicKey));
  const method = createJwtMethod(issuer({ algorithms: ['ES256'], keyFiles: [join(dir, 'partner.pem')] }), log);
  const token = await new SignJWT({ ...claims, scope: ['a', 'b'] }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('5m').sign(privateKey);
  const first = await method.authenticate(request(token));
  assert.equal(first?.ok, true);
  assert.deepEqual(first?.ok && first.identity.scopes, ['a', 'b']);
  const second = method.authenticate(request(token));
  assert.ok(!(second instanceof Promise), 'a repeat token is answered without awaiting');
  assert.equal(second?.ok, true);
});

test('a JWK set file selects the key by kid', async () => {
  const a = await generateKeyPair('RS256', { extractable: true });
  const b = await generateKeyPair('RS256', { extractable: true });
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({ keys: [{ ...(await exportJWK(a.publicKey)), kid: 'a' }, { ...(await exportJWK(b.publicKey)), kid: 'b' }] }));
  const method = createJwtMethod(issuer({ algorithms: ['RS256'], keyFiles: [join(dir, 'keys.json')] }), log);
  const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'b' }).setExpirationTime('5m').sign(b.privateKey);
  assert.equal((await method.authenticate(request(token)))?.ok, true);
  const wrongKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'a' }).setExpirationTime('5m').sign(b.privateKey);
  assert.equal((await method.authenticate(request(wrongKid)))?.ok, false);
});

test('a shared secret from the environment verifies HS256 tokens', async () => {
  process.env.TEST_JWT_SECRET = 's'.repeat(40);
  const method = createJwtMethod(issuer({ algorithms: ['HS256'], secretEnv: 'TEST_JWT_SECRET' }), log);
  const good = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('s'.repeat(40)));
  const bad = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('t'.repeat(40)));
  assert.equal((await method.authenticate(request(good)))?.ok, true);
  const refused = await method.authenticate(request(bad));
  assert.equal(refused?.ok, false);
  assert.equal(refused?.ok === false && refused.code, 'invalid_token');
});

test('a token without the consumer claim is refused; other credentials are left to other methods', async () => {
  process.env.TEST_JWT_SECRET = 's'.repeat(40);
  const method = createJwtMethod(issuer({ algorithms: ['HS256'], secretEnv: 'TEST_JWT_SECRET' }), log);
  const token = await new SignJWT({ aud: 'api', iss: 'https://idp.test/' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('s'.repeat(40)));
  const r = await method.authenticate(request(token));
  assert.equal(r?.ok === false && r.reason, 'claim "sub" must be a non-empty string');
  assert.equal(method.authenticate({ headers: { authorization: 'Basic eDp5' } } as unknown as FastifyRequest), undefined);
  assert.equal(method.authenticate({ headers: {} } as unknown as FastifyRequest), undefined);
});

test('HMAC algorithms with public keys, or asymmetric ones with a secret, are config errors', () => {
  assert.throws(() => issuer({ algorithms: ['HS256', 'RS256'], jwksUrl: 'https://idp.test/jwks' }), /HMAC algorithms \(HS256\) cannot be used with public keys/);
  assert.throws(() => issuer({ algorithms: ['RS256'], secret: 'x'.repeat(32) }), /a shared secret verifies only HS256/);
  assert.throws(() => issuer({ algorithms: ['RS256'], jwksUrl: 'https://idp.test/jwks', keyFiles: ['a.pem'] }), /exactly one key source/);
  assert.throws(() => issuer({ algorithms: ['none'], jwksUrl: 'https://idp.test/jwks' }), /algorithms\[0\]/);
});
