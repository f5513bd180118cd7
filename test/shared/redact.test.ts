// Redaction of a config shown by the admin API: every secret-bearing field, by name, at any depth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets, REDACTED } from '../../shared/config/redact.js';

test('secret, password and token fields at any depth are redacted; names of variables and files and other values stay', () => {
  const config = {
    identity: { keys: [{ id: 'k1', secret: 's3cret-identity' }, { id: 'k2', secretEnv: 'IDENTITY_KEY' }] },
    redis: { url: 'redis://user:pw-in-url@redis:6379/0', sentinel: { name: 'm', password: 'sentinel-pw' }, passwordEnv: 'REDIS_PW' },
    consul: { address: 'http://consul:8500', token: 'acl-token' },
    auth: { oidc: { clientSecret: 'client-secret' }, jwt: { maxTokenBytes: 8192 } },
    edge: { admin: { host: '0.0.0.0', tokenFile: '/run/admin-token' } },
  };
  const shown = redactSecrets(config) as typeof config;
  const text = JSON.stringify(shown);
  for (const secret of ['s3cret-identity', 'pw-in-url', 'user:', 'sentinel-pw', 'acl-token', 'client-secret']) assert.ok(!text.includes(secret), secret);
  assert.equal(shown.identity.keys[0]!.secret, REDACTED);
  assert.equal(shown.identity.keys[1]!.secretEnv, 'IDENTITY_KEY');
  assert.equal(shown.redis.url, `redis://${REDACTED}@redis:6379/0`);
  assert.equal(shown.redis.passwordEnv, 'REDIS_PW');
  assert.equal(shown.auth.jwt.maxTokenBytes, 8192);
  assert.equal(shown.edge.admin.tokenFile, '/run/admin-token');
  assert.equal(config.consul.token, 'acl-token', 'the config itself is not changed');
});
