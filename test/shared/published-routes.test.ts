// What a service gets when it publishes a route through Consul meta: only what its allow entry grants, never a
// configured route's path, and the same winner of a conflict whatever order the claims arrive in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  globMatches, publishedRouteName, resolvePublishedRoutes,
  type ConfiguredRouteMatch, type PublishedAllowEntry, type PublishedClaim, type PublishedRoutesInput,
} from '../../shared/routing/published-routes.js';
import { agreeOnClaim } from '../../shared/discovery/published-routes-source.js';
import { RouteTable } from '../../shared/routing/route-table.js';
import type { RouteBaseConfig } from '../../shared/config/schema.js';

const allow: PublishedAllowEntry[] = [
  { service: 'orders', pathPrefixes: ['/orders'], profiles: ['partner-api', 'public'], defaultProfile: 'public' },
  { service: 'shop-*', pathPrefixes: ['/shop'], hosts: ['api.example.com', '*.shops.example.com'], profiles: ['public'] },
  { service: '*', pathPrefixes: ['/misc', '/orders'], profiles: ['public'], defaultProfile: 'public' },
];
const configured: ConfiguredRouteMatch[] = [
  { name: 'orders-admin', priority: 0, match: { pathPrefix: '/orders/admin' } },
  { name: 'health', priority: 5, match: { path: '/misc/health' } },
  { name: 'tenant', priority: 0, match: { host: 'api.example.com', pathPrefix: '/shop/legacy' } },
];
const profiles = ['partner-api', 'public'];

function resolve(claims: PublishedClaim[], extra: Partial<PublishedRoutesInput> = {}) {
  return resolvePublishedRoutes({ claims, allow, profiles, configured, ...extra });
}
function reasonFor(claim: PublishedClaim, extra: Partial<PublishedRoutesInput> = {}): string {
  const { routes, refusals } = resolve([claim], extra);
  assert.deepEqual(routes, [], 'expected a refusal');
  assert.equal(refusals.length, 1);
  assert.equal(refusals[0]!.service, claim.service);
  return refusals[0]!.reason;
}

test('a claim inside its allowance gets a route named for its service, below every configured route', () => {
  const { routes, refusals } = resolve([{ service: 'orders', prefix: '/orders/v2', profile: 'partner-api', stripPrefix: 'true' }]);
  assert.deepEqual(refusals, []);
  assert.deepEqual(routes, [{
    name: 'published-orders', service: 'orders', priority: -1, profile: 'partner-api', stripPrefix: true,
    match: { pathPrefix: '/orders/v2' },
  }]);
  const lowest = resolve([{ service: 'orders', prefix: '/orders' }], { configured: [...configured, { name: 'low', priority: -7, match: { path: '/x' } }] });
  assert.equal(lowest.routes[0]!.priority, -8);
  assert.equal(lowest.routes[0]!.profile, 'public', 'the allow entry\'s defaultProfile');
});

test('a prefix outside the allowance is refused, on whole segments', () => {
  assert.match(reasonFor({ service: 'orders', prefix: '/ordersx' }), /prefix \/ordersx is outside publishedRoutes\.allow\[0\]\.pathPrefixes \(\/orders\)/);
  assert.match(reasonFor({ service: 'orders', prefix: '/' }), /outside/);
  assert.match(reasonFor({ service: 'orders', prefix: '/misc' }), /outside/, 'the first matching entry decides; a later, wider one is not tried');
  assert.equal(resolve([{ service: 'orders', prefix: '/orders/' }]).routes[0]!.match.pathPrefix, '/orders', 'a trailing slash is the same prefix');
});

test('prefixes the path rules refuse, or not in normal form, are refused', () => {
  for (const prefix of ['orders', '/orders/../admin', '/orders;x', '/orders%2fx', '/orders?x=1', '/orders//v2', '/orders/%61']) {
    assert.match(reasonFor({ service: 'orders', prefix }), /^gatehouse-route-prefix /, prefix);
  }
});

test('a host must be one the allow entry lists; no hosts listed means only host-less routes', () => {
  assert.match(reasonFor({ service: 'orders', prefix: '/orders', host: 'api.example.com' }), /allows no hosts/);
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop' }), /no gatehouse-route-host, but .* allows only routes on api\.example\.com/);
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop', host: 'evil.example.com' }), /host evil\.example\.com is outside/);
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop', host: 'shops.example.com.evil.net' }), /outside/);
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop', host: 'a b' }), /not a host name/);
  const { routes } = resolve([
    { service: 'shop-eu', prefix: '/shop/eu', host: 'EU.Shops.Example.com', profile: 'public' },
    { service: 'shop-us', prefix: '/shop', host: '*.us.shops.example.com', profile: 'public' },
    { service: 'shop-x', prefix: '/shop', host: 'api.example.com', profile: 'public' },
  ]);
  assert.deepEqual(routes.map((r) => r.match), [
    { pathPrefix: '/shop/eu', host: 'eu.shops.example.com' },
    { pathPrefix: '/shop', host: '*.us.shops.example.com' },
    { pathPrefix: '/shop', host: 'api.example.com' },
  ]);
});

test('a profile the allow entry does not grant, or none without a default, is refused', () => {
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop', host: 'api.example.com', profile: 'partner-api' }), /profile "partner-api" is not one publishedRoutes\.allow\[1\] allows \(public\)/);
  assert.match(reasonFor({ service: 'shop-eu', prefix: '/shop', host: 'api.example.com' }), /no gatehouse-profile, and publishedRoutes\.allow\[1\] has no defaultProfile/);
  assert.match(reasonFor({ service: 'orders', prefix: '/orders', profile: 'public' }, { profiles: ['partner-api'] }), /not defined under publishedRoutes\.profiles/);
  assert.match(reasonFor({ service: 'orders', prefix: '/orders', stripPrefix: 'yes' }), /gatehouse-route-strip-prefix must be "true" or "false", found "yes"/);
});

test('a service no allow entry names publishes nothing', () => {
  assert.match(reasonFor({ service: 'billing', prefix: '/misc' }, { allow: allow.slice(0, 2) }), /no publishedRoutes\.allow entry names this service/);
});

test('a path a configured route serves on the same host is refused, naming that route', () => {
  assert.match(reasonFor({ service: 'orders', prefix: '/orders/admin' }), /\/orders\/admin is served by configured route "orders-admin"/);
  assert.match(reasonFor({ service: 'orders', prefix: '/orders/admin/x' }), /configured route "orders-admin"/);
  assert.match(reasonFor({ service: 'misc', prefix: '/misc/health' }), /configured route "health"/);
  assert.match(reasonFor({ service: 'shop-x', prefix: '/shop/legacy', host: 'api.example.com', profile: 'public' }), /configured route "tenant"/);
  assert.match(reasonFor({ service: 'orders', prefix: '/orders' }, { configured: [{ name: 'everything', priority: 0, match: {} }] }), /configured route "everything"/);
  assert.match(reasonFor({ service: 'orders', prefix: '/orders' }, { configured: [{ name: 'published-orders', priority: 0, match: { path: '/elsewhere' } }] }), /route name published-orders is taken by a configured route/);
  // A configured route on one host leaves the path free on the others.
  const { routes } = resolve([{ service: 'shop-y', prefix: '/shop/legacy', host: 'x.shops.example.com', profile: 'public' }]);
  assert.equal(routes.length, 1);
});

test('a request both match goes to the configured route, however specific the published prefix', () => {
  const route = (name: string, priority: number, match: RouteBaseConfig['match']): RouteBaseConfig => ({ name, match, service: name, priority, timeoutMs: 1, maxBodyBytes: 1, websocket: false });
  // The long published prefix is more specific than the pattern by the route table's measure, and the pattern
  // does not match the prefix itself (so the claim is not refused): only the priority keeps items with the pattern.
  const items = route('items', 0, { pathPattern: '/orders/:id/items' });
  const { routes, refusals } = resolvePublishedRoutes({
    claims: [{ service: 'orders', prefix: '/orders/abcdefghijklmnop' }],
    allow: [{ service: 'orders', pathPrefixes: ['/orders'], profiles: ['p'], defaultProfile: 'p' }],
    profiles: ['p'], configured: [items],
  });
  assert.deepEqual(refusals, []);
  const table = new RouteTable([items, ...routes.map((r) => route(r.name, r.priority, r.match))], () => undefined);
  assert.equal(table.match('GET', 'h', '/orders/abcdefghijklmnop/items')?.name, 'items');
  assert.equal(table.match('GET', 'h', '/orders/abcdefghijklmnop/other')?.name, 'published-orders');
});

test('two services claiming one host and prefix: the earlier allow entry wins, then the smaller name', () => {
  const { routes, refusals } = resolve([
    { service: 'zeta', prefix: '/orders' },
    { service: 'orders', prefix: '/orders' },
    { service: 'alpha', prefix: '/orders' },
  ]);
  assert.deepEqual(routes.map((r) => r.service), ['orders']);
  assert.deepEqual(refusals, [
    { service: 'alpha', reason: '/orders is also claimed by service "orders", which wins with an earlier allow entry (0 before 2)' },
    { service: 'zeta', reason: '/orders is also claimed by service "orders", which wins with an earlier allow entry (0 before 2)' },
  ]);
  const same = resolve([{ service: 'zeta', prefix: '/misc' }, { service: 'alpha', prefix: '/misc/' }]);
  assert.deepEqual(same.routes.map((r) => r.service), ['alpha']);
  assert.deepEqual(same.refusals, [{ service: 'zeta', reason: '/misc is also claimed by service "alpha", which wins with a smaller name' }]);
});

const claimArb = fc.record({
  service: fc.constantFrom('orders', 'alpha', 'zeta', 'shop-eu', 'shop-us', 'Shop.EU', 'misc', 'billing'),
  prefix: fc.constantFrom('/orders', '/orders/v2', '/misc', '/shop', '/shop/legacy', '/orders/admin', '/x'),
  // Absent half the time, so that many claims pass their allowance and meet in conflicts.
  host: fc.option(fc.constantFrom('api.example.com', 'eu.shops.example.com', 'evil.com'), { nil: undefined, freq: 1 }),
  profile: fc.option(fc.constantFrom('public', 'partner-api', 'nope'), { nil: undefined, freq: 1 }),
}).map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as PublishedClaim);
const uniqueClaims = fc.uniqueArray(claimArb, { selector: (c) => c.service, maxLength: 8 });

test('every instance decides the same, whatever order Consul lists the services in', () => {
  fc.assert(fc.property(uniqueClaims.chain((claims) => fc.tuple(fc.constant(claims), fc.shuffledSubarray(claims, { minLength: claims.length }))), ([claims, shuffled]) => {
    assert.deepEqual(resolve(shuffled), resolve(claims));
  }), { numRuns: 300 });
});

test('whatever the claims: routes stay inside their allowance, never share a host and prefix, and every claim is answered', () => {
  fc.assert(fc.property(uniqueClaims, (claims) => {
    const { routes, refusals } = resolve(claims);
    assert.equal(routes.length + refusals.length, claims.length);
    const keys = new Set(routes.map((r) => `${r.match.host}|${r.match.pathPrefix}`));
    assert.equal(keys.size, routes.length);
    for (const r of routes) {
      const entry = allow.find((e) => globMatches(e.service, r.service))!;
      assert.ok(entry.pathPrefixes.some((p) => r.match.pathPrefix === p || r.match.pathPrefix.startsWith(`${p}/`)), JSON.stringify(r));
      assert.ok(entry.profiles.includes(r.profile));
      assert.ok(r.priority < Math.min(...configured.map((c) => c.priority)));
      assert.match(r.name, /^[a-z0-9][a-z0-9-]*$/);
    }
  }), { numRuns: 300 });
});

test('route names fit the route-name pattern, and services whose names differ get different names', () => {
  assert.equal(publishedRouteName('orders'), 'published-orders');
  assert.match(publishedRouteName('Orders.API'), /^published-orders-api-[0-9a-f]{8}$/);
  assert.notEqual(publishedRouteName('orders.api'), publishedRouteName('orders-api'));
  assert.match(publishedRouteName('___'), /^published-[0-9a-f]{8}$/);
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), (a, b) => {
    assert.match(publishedRouteName(a), /^[a-z0-9][a-z0-9-]*$/);
    if (a !== b) assert.notEqual(publishedRouteName(a), publishedRouteName(b));
  }), { numRuns: 500 });
});

test('service patterns: * stands for any run of characters, the rest is literal', () => {
  assert.ok(globMatches('orders', 'orders'));
  assert.ok(!globMatches('orders', 'orders-eu'));
  assert.ok(globMatches('orders-*', 'orders-eu'));
  assert.ok(globMatches('orders-*', 'orders-'));
  assert.ok(!globMatches('orders-*', 'orders'));
  assert.ok(globMatches('*-api-*', 'a-api-b'));
  assert.ok(!globMatches('*-api-*', '-api-'.slice(0, 4)));
  assert.ok(globMatches('a*a', 'aa'));
  assert.ok(!globMatches('a*a', 'a'));
  assert.ok(!globMatches('o.ders', 'orders'), 'a dot is a dot');
});

test('instances that disagree: the claim most passing instances hold wins, a tie goes to the smallest', () => {
  const inst = (meta: Record<string, string>) => ({ meta });
  const p = (prefix: string, more: Record<string, string> = {}) => inst({ 'gatehouse-route-prefix': prefix, ...more });
  assert.deepEqual(agreeOnClaim('orders', [p('/b'), p('/a'), p('/b')]), { claim: { service: 'orders', prefix: '/b' }, held: 2, of: 3 });
  assert.deepEqual(agreeOnClaim('orders', [p('/b'), p('/a')])?.claim.prefix, '/a');
  assert.deepEqual(agreeOnClaim('orders', [p('/a'), p('/b')])?.claim.prefix, '/a');
  assert.deepEqual(agreeOnClaim('orders', [p('/a', { 'gatehouse-profile': 'x' }), p('/a'), inst({}), inst({})]), { claim: { service: 'orders', prefix: '/a', profile: 'x' }, held: 1, of: 2 }, 'instances without the prefix abstain; of the tied two, the smaller serialized claim');
  assert.equal(agreeOnClaim('orders', [inst({}), inst({ 'gatehouse-route-prefix': '' })]), undefined);
  assert.deepEqual(agreeOnClaim('orders', [p('/a', { 'gatehouse-route-host': 'h.example.com', 'gatehouse-profile': 'public', 'gatehouse-route-strip-prefix': 'true' })])?.claim,
    { service: 'orders', prefix: '/a', host: 'h.example.com', profile: 'public', stripPrefix: 'true' });
});
