// The compose demo's first-start secrets and its token tool, run as the stack runs them: files written
// once with private keys unreadable to others, never overwritten, and a token the written JWK set verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { ensureDemoSecrets, ADMIN_TOKEN_FILE, DEMO_AUDIENCE, DEMO_ISSUER, IDENTITY_KEY_FILE, ISSUER_JWKS_FILE, ISSUER_KEY_FILE } from '../../deploy/compose/demo-secrets.js';
import { repoRoot } from '../harness/binaries.js';

const tokenTool = (args: string[]) => spawnSync(process.execPath, [join(repoRoot(), 'dist/deploy/compose/token.js'), ...args], { encoding: 'utf8' });

test('demo secrets are written once, private keys 0600, and a file an operator put there is never overwritten', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'gatehouse-secrets-')), 'secrets');
  const written = await ensureDemoSecrets(dir);
  assert.deepEqual(written.map((f) => f.slice(dir.length + 1)).sort(), [ISSUER_JWKS_FILE, ISSUER_KEY_FILE, IDENTITY_KEY_FILE, ADMIN_TOKEN_FILE].sort());
  for (const file of [IDENTITY_KEY_FILE, ADMIN_TOKEN_FILE, ISSUER_KEY_FILE, 'certs/localhost-key.pem']) {
    assert.equal(statSync(join(dir, file)).mode & 0o077, 0, `${file} is readable by its owner only`);
  }
  assert.ok(readFileSync(join(dir, IDENTITY_KEY_FILE), 'utf8').length >= 43, 'an identity key of 32 random bytes');
  writeFileSync(join(dir, IDENTITY_KEY_FILE), 'the-operators-own-identity-key-0123456789');
  const before = readFileSync(join(dir, ISSUER_KEY_FILE), 'utf8');
  assert.deepEqual(await ensureDemoSecrets(dir), [], 'nothing written the second time');
  assert.equal(readFileSync(join(dir, IDENTITY_KEY_FILE), 'utf8'), 'the-operators-own-identity-key-0123456789');
  assert.equal(readFileSync(join(dir, ISSUER_KEY_FILE), 'utf8'), before);
});

test('the token tool signs for the demo issuer with the written key: the written JWK set verifies it; bad use is one line', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'gatehouse-secrets-')), 'secrets');
  await ensureDemoSecrets(dir);
  const run = tokenTool(['bob', '--scopes', 'orders:read,reports:read', '--ttl', '60', '--dir', dir]);
  assert.equal(run.status, 0, run.stderr);
  const jwks = JSON.parse(readFileSync(join(dir, ISSUER_JWKS_FILE), 'utf8')) as JSONWebKeySet;
  const { payload } = await jwtVerify(run.stdout.trim(), createLocalJWKSet(jwks), { issuer: DEMO_ISSUER, audience: DEMO_AUDIENCE, algorithms: ['ES256'] });
  assert.equal(payload.sub, 'bob');
  assert.equal(payload.scope, 'orders:read reports:read');
  assert.equal(payload.exp! - payload.iat!, 60);
  const badTtl = tokenTool(['--ttl', 'forever', '--dir', dir]);
  assert.equal(badTtl.status, 2);
  assert.match(badTtl.stderr, /^token: --ttl must be a whole number of seconds from 1 to 86400\n$/);
  const noKey = tokenTool(['--dir', join(dir, 'missing')]);
  assert.equal(noKey.status, 1);
  assert.match(noKey.stderr, /^token: cannot read the demo issuer's key .*missing\/demo-issuer-key\.pem \(ENOENT\); the compose stack's secrets service writes it on first start\n$/);
});
