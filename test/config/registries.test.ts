// The policy registries drive the config: the names a route, a service or an authz rule may use, the
// sections under auth:, the checks across sections and what the edge builds all come from them, so a
// policy added to (or dropped from) its registry is accepted (or refused) everywhere at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { parseConfig, ConfigError } from '../../config/load.js';
import { AUTH_METHODS } from '../../edge/auth/registry-schema.js';
import { buildAuthMethods } from '../../edge/auth/methods.js';
import { BALANCER_ALGORITHMS } from '../../shared/balancer/registry-schema.js';
import { createBalancer } from '../../shared/balancer/index.js';
import { AUTHZ_RULES } from '../../router/authz/registry-schema.js';
import { IDENTITY_METHOD_NAMES } from '../../shared/auth-methods-schema.js';

const FILE = '/etc/gatehouse/gatehouse.yaml';
/** A router with one route to one service; `route` adds lines to the route, `rest` sections to the file. */
const config = (route: string, rest = '') => `
services:
  orders:
    static: [http://10.0.0.5:8080]
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
router: { listen: { port: 9080 }, admin: { port: 9081 } }
routes:
  - name: orders
    match: { pathPrefix: /orders }
    service: orders
${route}
${rest}`;

function problems(text: string): string[] {
  try {
    parseConfig(text, FILE, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected the config to be refused');
}

const listed = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');

test('a route may name exactly the auth registry\'s methods: an unknown one is refused with every registered name', () => {
  assert.deepEqual(AUTH_METHODS.map((m) => m.name), ['jwt', 'api-key', 'mtls', 'session']);
  const [p, ...rest] = problems(config('    auth: { methods: [basic] }'));
  assert.deepEqual(rest, []);
  assert.match(p!, /routes\[0\]\.auth\.methods\[0\]: /);
  assert.ok(p!.endsWith(`expected one of ${listed(AUTH_METHODS.map((m) => m.name))}, found "basic"`), p);
});

test('each registered method names its section under auth: a route using one without it is refused with that section\'s key', () => {
  for (const method of AUTH_METHODS) {
    const all = problems(config(`    auth: { methods: [${method.name}] }`));
    assert.deepEqual(all.map((p) => p.replace(/^line \d+:\d+: /, '')), [`routes[0].auth.methods[0]: uses ${method.name}, which has no auth.${method.key} section`]);
  }
  const [unknown] = problems(config('    auth: { anonymous: true }', 'auth:\n  basic: {}\n'));
  assert.match(unknown!, /auth\.basic: unknown field/);
});

test('a session is exchanged only for another registered method, never for a session', () => {
  const others = AUTH_METHODS.map((m) => m.name).filter((n) => n !== 'session');
  const all = problems(config('    auth: { anonymous: true }', 'redis: { url: redis://127.0.0.1:6379 }\nauth:\n  session: { exchange: [session] }\n'));
  assert.ok(all.some((p) => p.endsWith(`auth.session.exchange[0]: expected one of ${listed(others)}, found "session"`)), all.join('\n'));
});

test('the edge builds one method per configured section, by the registry\'s factories', () => {
  const text = config('    auth: { methods: [jwt, mtls] }', `
auth:
  jwt: { issuers: [{ issuer: https://idp.example, audience: [orders], algorithms: [HS256], secret: 0123456789abcdef0123456789abcdef }] }
  mtls: {}
`);
  const auth = buildAuthMethods(parseConfig(text, FILE, {}), undefined, pino({ level: 'silent' }));
  try {
    assert.deepEqual([...auth.methods].map(([name, m]) => [name, m.name]), [['jwt', 'jwt'], ['mtls', 'mtls']]);
    assert.deepEqual(auth.credentialHeaders.get('jwt'), ['authorization']);
    assert.equal(auth.sessions, undefined);
  } finally {
    auth.close();
  }
});

test('a balancer unknown to the registry is refused with the registry\'s names; each registered one builds', () => {
  const names = BALANCER_ALGORITHMS.map((a) => a.name);
  const all = problems(config('    auth: { anonymous: true }').replace('static: [http://10.0.0.5:8080]', 'static: [http://10.0.0.5:8080]\n    balancer: { algorithm: random }'));
  assert.deepEqual(all.map((p) => p.replace(/^line \d+:\d+: /, '')), [`services.orders.balancer.algorithm: expected one of ${listed(names)}, found "random"`]);
  for (const a of BALANCER_ALGORITHMS) {
    const balancer = createBalancer(a.hashed ? { algorithm: a.name, hashOn: 'client-ip' } : { algorithm: a.name });
    assert.equal(typeof balancer.pick, 'function', a.name);
    const wrong = problems(config('    auth: { anonymous: true }').replace('static: [http://10.0.0.5:8080]', `static: [http://10.0.0.5:8080]\n    balancer: { algorithm: ${a.name}${a.hashed ? '' : ', hashOn: client-ip'} }`));
    assert.equal(wrong.length, 1, wrong.join('\n'));
    assert.match(wrong[0]!, a.hashed ? new RegExp(`services\\.orders\\.balancer: algorithm ${a.name} needs hashOn`) : /services\.orders\.balancer: hashOn is only used by ring-hash and maglev/);
  }
});

test('an authz policy holds only the registry\'s rule kinds, and authMethods only the names both tiers know', () => {
  const [unknownKind] = problems(config('    auth: { anonymous: true }\n    authz: { ips: [10.0.0.1] }'));
  assert.match(unknownKind!, /routes\[0\]\.authz\.ips: unknown field/);
  const accepted = parseConfig(config('    auth: { anonymous: true }\n    authz: { authMethods: [anonymous], methods: [GET] }'), FILE, {});
  assert.deepEqual(accepted.routes[0]!.authz, { authMethods: ['anonymous'], methods: ['GET'] });
  assert.deepEqual(AUTHZ_RULES.map((r) => r.key), ['scopes', 'roles', 'consumers', 'claims', 'methods', 'authMethods']);
  const [unknownMethod] = problems(config('    auth: { anonymous: true }\n    authz: { authMethods: [basic] }'));
  assert.ok(unknownMethod!.endsWith(`routes[0].authz.authMethods[0]: expected one of ${listed(IDENTITY_METHOD_NAMES)}, found "basic"`), unknownMethod);
});

test('a method\'s file paths are resolved against the config file\'s directory by its registry entry', () => {
  const text = config('    auth: { methods: [jwt] }', `
auth:
  jwt:
    issuers:
      - { issuer: https://a.example, audience: [orders], algorithms: [RS256], keyFiles: [keys/a.pem, /abs/b.pem] }
      - { issuer: https://b.example, audience: [orders], algorithms: [HS256], secretFile: secrets/b }
`);
  const [a, b] = parseConfig(text, FILE, {}).auth.jwt!.issuers;
  assert.deepEqual(a!.keyFiles, ['/etc/gatehouse/keys/a.pem', '/abs/b.pem']);
  assert.equal(b!.secretFile, '/etc/gatehouse/secrets/b');
});
