// The publishedRoutes section: its mistakes are reported like any other config mistake (line, field, what
// was expected), and the config a tier builds from holds complete published routes, with a profile's
// defaults the same as a configured route's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { parseConfig, ConfigError } from '../../config/load.js';
import { crossCheck } from '../../config/cross-check.js';
import { withPublishedRoutes } from '../../config/published-routes.js';
import { RouteSchema, type Config } from '../../config/schema.js';

const GOOD = `
router:
  listen: { port: 9080 }
  admin: { port: 9081 }
consul: { address: http://127.0.0.1:8500 }
rateLimits:
  per-consumer: { key: consumer, windows: [{ name: second, limit: 10, periodSeconds: 1 }] }
auth:
  jwt:
    issuers: [{ issuer: https://idp.example.com, audience: [api], algorithms: [HS256], secret: 0123456789abcdef0123456789abcdef0123456789abcdef }]
routes:
  - name: orders-admin
    match: { pathPrefix: /orders/admin }
    service: admin
    auth: { anonymous: true }
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
services:
  admin:
    static: [http://10.0.0.5:8080]
  billing:
    consul: { service: billing }
    balancer: { algorithm: least-request }
publishedRoutes:
  profiles:
    partner-api:
      auth: { methods: [jwt] }
      rateLimit: per-consumer
      timeoutMs: 5000
    public:
      auth: { anonymous: true }
      rewrite: { stripPrefix: true }
  allow:
    - service: orders
      pathPrefixes: [/orders]
      profiles: [partner-api, public]
      defaultProfile: public
    - service: billing
      pathPrefixes: [/billing]
      profiles: [partner-api]
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, '/etc/gatehouse/gatehouse.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  assert.fail('expected the config to be refused');
}

test('a profile gets the same defaults as a configured route', () => {
  const c = parseConfig(GOOD, 'x.yaml');
  const pub = c.publishedRoutes!.profiles.public!;
  assert.equal(pub.timeoutMs, 30_000);
  assert.equal(pub.maxBodyBytes, 1_048_576);
  assert.equal(pub.websocket, false);
  assert.deepEqual(pub.auth, { methods: [], anonymous: true, hideCredentials: true });
});

test('profile mistakes are the route mistakes, reported at the profile', () => {
  const all = problems(GOOD
    .replace('rateLimit: per-consumer', 'rateLimit: per-partner')
    .replace('auth: { methods: [jwt] }', 'auth: { methods: [jwt, api-key] }')
    .replace('      auth: { anonymous: true }\n      rewrite', '      auth: {}\n      authz: { scopes: {} }\n      rewrite'));
  assert.deepEqual(all, [
    'line 27:30: publishedRoutes.profiles.partner-api.auth.methods[1]: uses api-key, which has no auth.apiKey section',
    'line 28:18: publishedRoutes.profiles.partner-api.rateLimit: names policy "per-partner", which is not defined under rateLimits',
    'line 31:13: publishedRoutes.profiles.public.auth: admits nobody: list methods, or set anonymous: true for a public route',
    'line 32:14: publishedRoutes.profiles.public.authz: scopes: expected allOf or anyOf, found an empty object (it would allow everyone)',
  ]);
});

test('a profile whose rate limit keys on a header the edge strips is refused, as a route\'s would be', () => {
  const edge = 'edge:\n  listen: { port: 8443 }\n  admin: { port: 8444 }\n  tls: { certificates: [{ cert: c.pem, key: k.pem }] }\n  router: { static: [http://127.0.0.1:9080] }\n';
  const keyed = GOOD.replace('per-consumer: { key: consumer,', 'per-consumer: { key: "header:x-http-method-override",');
  const all = problems(edge + keyed);
  assert.deepEqual(all.filter((p) => p.includes('keys on header')), [
    'line 33:18: publishedRoutes.profiles.partner-api.rateLimit: keys on header x-http-method-override, which the edge strips from the routes of profile "partner-api" before it is read (list it under stripHeaders.keep, or key on another header)',
  ]);
  // Kept by the profile, the header is read: no refusal.
  const kept = keyed.replace('      rateLimit: per-consumer', '      rateLimit: per-consumer\n      stripHeaders: { keep: [x-http-method-override] }');
  assert.doesNotThrow(() => parseConfig(edge + kept, 'x.yaml'));
});

test('a profile takes only policy fields, with the schema\'s own messages', () => {
  const all = problems(GOOD.replace('      timeoutMs: 5000', '      timeoutMs: 0\n      service: billing\n      rewrite: { replacePrefix: /x }'));
  assert.equal(all.length, 3, all.join('\n'));
  assert.match(all.join('\n'), /^line 29:18: publishedRoutes\.profiles\.partner-api\.timeoutMs: expected .*>= 1.*, found 0$/m);
  assert.match(all.join('\n'), /publishedRoutes\.profiles\.partner-api\.service: unknown field/);
  assert.match(all.join('\n'), /publishedRoutes\.profiles\.partner-api\.rewrite\.replacePrefix: unknown field/);
});

test('allow entries must name defined profiles, a default among them, and prefixes and hosts that routes can have', () => {
  const all = problems(GOOD
    .replace('profiles: [partner-api, public]\n      defaultProfile: public', 'profiles: [partner-api, internal]\n      defaultProfile: public\n      hosts: ["api.example.com", "a*b.example.com"]')
    .replace('pathPrefixes: [/billing]', 'pathPrefixes: [/billing/../admin, /billing%2f]'));
  assert.deepEqual(all, [
    'line 38:34: publishedRoutes.allow[0].hosts[1]: "a*b.example.com" is not a host name, *.suffix, or either with :port',
    'line 36:31: publishedRoutes.allow[0].profiles[1]: names profile "internal", which is not defined under publishedRoutes.profiles (defined: partner-api, public)',
    'line 37:23: publishedRoutes.allow[0].defaultProfile: "public" is not one of this entry\'s profiles (partner-api, internal)',
    'line 40:22: publishedRoutes.allow[1].pathPrefixes[0]: "/billing/../admin" is not in normal form (a request for it reads /admin)',
    'line 40:41: publishedRoutes.allow[1].pathPrefixes[1]: "/billing%2f" is refused by the path rules (see docs on path normalisation)',
  ]);
});

test('published routes need the consul section', () => {
  assert.deepEqual(problems(GOOD.replace('consul: { address: http://127.0.0.1:8500 }\n', '').replace('    consul: { service: billing }\n    balancer: { algorithm: least-request }\n', '    static: [http://10.0.0.6:8080]\n')), [
    'line 23:3: publishedRoutes: services publish routes through Consul, so a consul section (or GATEHOUSE_CONSUL_ADDR) is required',
  ]);
});

test('the config a tier builds from holds complete published routes and their services, and passes the cross-checks', () => {
  const c = parseConfig(GOOD, 'x.yaml');
  const { config, published, refusals } = withPublishedRoutes(c, [
    { service: 'orders', prefix: '/orders' },
    { service: 'billing', prefix: '/billing/v1', profile: 'partner-api' },
    { service: 'intruder', prefix: '/orders/admin' },
    { service: 'orders-two', prefix: '/orders' },
  ]);
  assert.deepEqual(published.map((r) => r.name), ['published-billing', 'published-orders']);
  assert.deepEqual(refusals.map((r) => r.service), ['intruder', 'orders-two']);
  assert.deepEqual(config.routes.map((r) => r.name), ['orders-admin', 'published-billing', 'published-orders']);
  const orders = config.routes.find((r) => r.name === 'published-orders')!;
  assert.deepEqual(orders, {
    name: 'published-orders', match: { pathPrefix: '/orders' }, service: 'published-orders', priority: -1,
    auth: { methods: [], anonymous: true, hideCredentials: true }, timeoutMs: 30_000, maxBodyBytes: 1_048_576, websocket: false,
    rewrite: { stripPrefix: true },
  });
  const billing = config.routes.find((r) => r.name === 'published-billing')!;
  assert.equal(billing.service, 'billing', 'the operator\'s own definition of the Consul service is used');
  assert.equal(billing.rateLimit, 'per-consumer');
  assert.equal(billing.timeoutMs, 5000);
  assert.equal(billing.rewrite, undefined);
  for (const r of config.routes) assert.ok(Value.Check(RouteSchema, r), JSON.stringify([...Value.Errors(RouteSchema, r)]));
  assert.equal(config.services['published-orders']!.consul!.service, 'orders');
  assert.equal(config.services['published-orders']!.balancer.algorithm, 'round-robin', 'a new service gets the schema defaults');
  assert.equal(config.services['published-orders']!.connectTimeoutMs, 5_000);
  assert.deepEqual(crossCheck(config as Config), []);
  assert.ok(Object.isFrozen(config.routes) && Object.isFrozen(config.services['published-orders']));
  assert.equal(c.routes.length, 1, 'the input config is untouched');
});

test('meta gatehouse-route-strip-prefix overrides the profile either way', () => {
  const c = parseConfig(GOOD, 'x.yaml');
  const off = withPublishedRoutes(c, [{ service: 'orders', prefix: '/orders', stripPrefix: 'false' }]).config.routes[1]!;
  assert.equal(off.rewrite, undefined);
  const on = withPublishedRoutes(c, [{ service: 'billing', prefix: '/billing', profile: 'partner-api', stripPrefix: 'true' }]).config.routes[1]!;
  assert.deepEqual(on.rewrite, { stripPrefix: true });
});

test('a services key the config uses for another upstream is not taken over', () => {
  const c = parseConfig(GOOD.replace('services:\n', 'services:\n  published-orders:\n    static: [http://10.0.0.9:8080]\n'), 'x.yaml');
  const { config, refusals } = withPublishedRoutes(c, [{ service: 'orders', prefix: '/orders' }]);
  assert.equal(config, c);
  assert.match(refusals[0]!.reason, /services\.published-orders is defined in the config for another upstream/);
});

test('without a publishedRoutes section nothing is published', () => {
  const c = parseConfig(GOOD.slice(0, GOOD.indexOf('publishedRoutes:')), 'x.yaml');
  const out = withPublishedRoutes(c, [{ service: 'orders', prefix: '/orders' }]);
  assert.equal(out.config, c);
  assert.deepEqual([out.published, out.refusals], [[], []]);
});
