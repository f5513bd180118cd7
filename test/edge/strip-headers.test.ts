// The strip list on its own: its config shape as the loader validates it (defaults, readable errors,
// keeps that keep nothing), how the default list, the edge's edits and a route's edits combine, and
// the stage deleting from the request's own headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../config/load.js';
import { stripHeaders } from '../../edge/strip-headers.js';
import { buildStripList, strips, DEFAULT_STRIP_HEADERS } from '../../edge/strip-headers-schema.js';
import { Exchange } from '../../shared/exchange.js';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';

const config = (edgeStrip: string, routeStrip: string) => `
edge:
  listen: { port: 0 }
  admin: { port: 0 }
  tls: { certificates: [{ cert: /etc/gatehouse/cert.pem, key: /etc/gatehouse/key.pem }] }
  router: { static: [http://127.0.0.1:9080] }
${edgeStrip}
routes:
  - name: orders
    match: { pathPrefix: /orders }
    service: orders
    auth: { anonymous: true }
${routeStrip}
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
services:
  orders: { static: [http://10.0.0.5:8080] }
`;

function problems(text: string): string[] {
  try {
    parseConfig(text, 'gatehouse.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.problems];
  }
  return assert.fail('expected the config to be refused');
}

test('config: edge.stripHeaders defaults to no edits of the default list; a route without stripHeaders has none', () => {
  const c = parseConfig(config('', ''), 'gatehouse.yaml');
  assert.deepEqual(c.edge!.stripHeaders, { add: [], keep: [] });
  assert.equal(c.routes[0]!.stripHeaders, undefined);
  const edited = parseConfig(config('  stripHeaders: { add: [x-tenant-hint] }', '    stripHeaders: { keep: [x-envoy-*] }'), 'gatehouse.yaml');
  assert.deepEqual(edited.edge!.stripHeaders, { add: ['x-tenant-hint'], keep: [] });
  assert.deepEqual(edited.routes[0]!.stripHeaders, { add: [], keep: ['x-envoy-*'] });
});

test('config: an entry must be a lower-case name or a prefix ending in *, and add and keep are the only fields', () => {
  const found = problems(config('  stripHeaders: { add: [X-Upper, "*", "x-*-y"], remove: [a] }', ''));
  assert.equal(found.length, 4, found.join('\n'));
  assert.match(found.join('\n'), /edge\.stripHeaders\.add\[0\]: expected .*found "X-Upper"/);
  assert.match(found.join('\n'), /edge\.stripHeaders\.add\[1\]: expected .*found "\*"/);
  assert.match(found.join('\n'), /edge\.stripHeaders\.add\[2\]: expected .*found "x-\*-y"/);
  assert.match(found.join('\n'), /edge\.stripHeaders\.remove: unknown field/);
});

test('config: a keep that names nothing stripped, or a header the gateway always sets, is an error with its line', () => {
  const found = problems(config('  stripHeaders: { keep: [x-not-listed] }', '    stripHeaders: { keep: [x-http-method-override, x-real-ip, x-gatehouse-consumer, x-nope-*, x-envoy-retry-on] }'));
  assert.deepEqual(found, [
    'line 13:52: routes[0].stripHeaders.keep[1]: keeps x-real-ip, which the gateway sets itself: a client\'s copy is always dropped',
    'line 13:63: routes[0].stripHeaders.keep[2]: keeps x-gatehouse-consumer, which the gateway sets itself: a client\'s copy is always dropped',
    'line 13:85: routes[0].stripHeaders.keep[3]: keeps x-nope-*, which is not stripped here (nothing to keep)',
    'line 7:26: edge.stripHeaders.keep[0]: keeps x-not-listed, which is not stripped here (nothing to keep)',
  ]);
});

test('config: a rate limit or a balancer keyed on a header the edge strips is an error; kept, it loads', () => {
  const keyed = (routeStrip: string) => config('  rateLimit: per-client', routeStrip)
    .replace('    auth: { anonymous: true }', '    auth: { anonymous: true }\n    rateLimit: per-tenant')
    .replace('  orders: { static: [http://10.0.0.5:8080] }', '  orders: { static: [http://10.0.0.5:8080], balancer: { algorithm: ring-hash, hashOn: "header:x-forwarded-server" } }')
    + 'rateLimits:\n  per-client: { key: "header:true-client-ip", windows: [{ name: s, limit: 5, periodSeconds: 1 }] }\n'
    + '  per-tenant: { key: "header:x-tenant", windows: [{ name: s, limit: 5, periodSeconds: 1 }] }\n';
  const found = problems(keyed('    stripHeaders: { add: [x-tenant] }'));
  assert.deepEqual(found.map((p) => p.replace(/^line \d+:\d+: /, '')), [
    'edge.rateLimit: keys on header true-client-ip, which the edge strips from route "orders" before it is read (list it under stripHeaders.keep, or key on another header)',
    'routes[0].rateLimit: keys on header x-tenant, which the edge strips from route "orders" before it is read (list it under stripHeaders.keep, or key on another header)',
    'services.orders.balancer.hashOn: keys on header x-forwarded-server, which the edge strips from route "orders" before it is read (list it under stripHeaders.keep, or key on another header)',
  ]);
  const kept = parseConfig(keyed('    stripHeaders: { keep: [true-client-ip, x-forwarded-server] }'), 'gatehouse.yaml');
  assert.equal(kept.routes[0]!.rateLimit, 'per-tenant');
});

test('the list: names, prefixes, a name kept under a stripped prefix, a kept prefix, and a route re-adding what the edge kept', () => {
  const none = { add: [], keep: [] };
  const base = buildStripList(none);
  for (const name of ['x-original-url', 'x-original-host', 'x-http-method-override', 'true-client-ip', 'x-envoy-fault-abort-request', 'x-debug', 'x-debugger', 'l5d-dst-override', 'x-forwarded-server']) {
    assert.ok(strips(base, name), name);
  }
  for (const name of ['accept', 'authorization', 'x-envoy', 'x-originalurl', 'x-client-version', 'cookie', 'x-request-id']) assert.ok(!strips(base, name), name);
  const edge = { add: ['x-tenant-hint'], keep: ['x-envoy-retry-on', 'cf-*'] };
  const atEdge = buildStripList(edge);
  assert.ok(strips(atEdge, 'x-tenant-hint'));
  assert.ok(!strips(atEdge, 'x-envoy-retry-on') && strips(atEdge, 'x-envoy-max-retries'));
  assert.ok(!strips(atEdge, 'cf-connecting-ip'));
  const route = buildStripList(edge, { add: ['x-envoy-retry-on'], keep: ['x-tenant-hint'] });
  assert.ok(strips(route, 'x-envoy-retry-on'), 'a route adds back what the edge kept');
  assert.ok(!strips(route, 'x-tenant-hint'), 'a route keeps what the edge added');
  assert.deepEqual([...base.problems, ...atEdge.problems, ...route.problems], []);
  assert.ok(DEFAULT_STRIP_HEADERS.every((e) => /^[a-z0-9-]+\*?$/.test(e)) && new Set(DEFAULT_STRIP_HEADERS).size === DEFAULT_STRIP_HEADERS.length);
});

test('the stage deletes listed headers from the request itself and leaves the rest; a route stripping nothing gets no stage', () => {
  const stage = stripHeaders(buildStripList({ add: [], keep: [] }))!;
  const headers: Record<string, string> = { accept: '*/*', 'x-http-method-override': 'DELETE', 'x-envoy-max-retries': '9', authorization: 'Bearer t', 'x-kept': '1' };
  assert.equal(stage(new Exchange('r1'), { headers } as unknown as GatewayRequest, {} as GatewayReply), undefined, 'synchronous');
  assert.deepEqual(headers, { accept: '*/*', authorization: 'Bearer t', 'x-kept': '1' });
  assert.equal(stripHeaders(buildStripList({ add: [], keep: DEFAULT_STRIP_HEADERS.slice() })), undefined);
});
