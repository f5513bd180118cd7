// How one route matches a request: exact paths, whole-segment prefixes,
// :param patterns with a /* tail, hosts with and without ports (IPv6 too),
// required headers, and the precedence between routes that all match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathMatcher, prefixMatches } from '../../shared/routing/path-matcher.js';
import { RouteTable } from '../../shared/routing/route-table.js';
import type { RouteConfig } from '../../config/schema.js';

const route = (name: string, match: RouteConfig['match'], priority = 0): RouteConfig => ({
  name, match, priority, service: 's', timeoutMs: 1, maxBodyBytes: 1, websocket: false,
  auth: { methods: [], anonymous: true, hideCredentials: true },
});
const pick = (routes: RouteConfig[], method: string, host: string, path: string, headers = {}) => new RouteTable(routes, () => undefined).match(method, host, path, headers)?.name;

test('an exact path matches only itself', () => {
  const m = compilePathMatcher({ path: '/health' });
  assert.equal(m.matches('/health'), true);
  assert.equal(m.matches('/health/'), false);
  assert.equal(m.matches('/healthz'), false);
  assert.deepEqual(m.params('/health'), {});
  assert.equal(m.prefix, undefined);
});

test('a prefix matches whole segments, with or without its trailing slash', () => {
  assert.equal(prefixMatches('/api', '/api'), true);
  assert.equal(prefixMatches('/api', '/api/x'), true);
  assert.equal(prefixMatches('/api', '/apix'), false);
  assert.equal(prefixMatches('/api', '/ap'), false);
  assert.equal(prefixMatches('/api', '/v1/api'), false);
  assert.equal(prefixMatches('/', '/anything'), true);
  const slash = compilePathMatcher({ pathPrefix: '/api/' });
  assert.equal(slash.prefix, '/api');
  assert.equal(slash.matches('/api'), true);
  assert.equal(slash.matches('/apix'), false);
  assert.deepEqual(slash.params('/api/x'), {});
  assert.equal(compilePathMatcher({}).prefix, '/', 'no path at all is the prefix /');
  assert.equal(compilePathMatcher({ pathPrefix: '/' }).matches('/x'), true);
});

test('a pattern binds each :param to one non-empty segment', () => {
  const m = compilePathMatcher({ pathPattern: '/users/:id/orders/:order' });
  assert.deepEqual(m.params('/users/42/orders/7'), { id: '42', order: '7' });
  assert.equal(m.matches('/users/42/orders/7'), true);
  assert.equal(m.matches('/users/42/orders'), false);
  assert.equal(m.matches('/users/42/orders/7/x'), false);
  assert.equal(m.matches('/users//orders/7'), false);
  assert.equal(m.matches('/members/42/orders/7'), false);
  assert.equal(m.params('/users/42'), undefined);
  assert.equal(m.prefix, undefined);
});

test('a pattern ending in /* matches its head alone or with any tail, which it binds to *', () => {
  const m = compilePathMatcher({ pathPattern: '/files/:bucket/*' });
  assert.deepEqual(m.params('/files/b1/a/b/c.txt'), { bucket: 'b1', '*': 'a/b/c.txt' });
  assert.deepEqual(m.params('/files/b1'), { bucket: 'b1', '*': '' });
  assert.equal(m.matches('/files'), false);
  assert.equal(m.matches('/other/b1/x'), false);
});

test('the pattern / matches the root path only, and /* matches every path', () => {
  const root = compilePathMatcher({ pathPattern: '/' });
  assert.equal(root.matches('/'), true);
  assert.deepEqual(root.params('/'), {});
  assert.equal(root.matches('/x'), false);
  const all = compilePathMatcher({ pathPattern: '/*' });
  assert.deepEqual(all.params('/'), { '*': '' });
  assert.deepEqual(all.params('/a/b'), { '*': 'a/b' });
  assert.equal(compilePathMatcher({ pathPattern: '/:id' }).matches('/'), false, 'a param needs a segment');
});

test('a trailing slash on a pattern is ignored', () => {
  const m = compilePathMatcher({ pathPattern: '/users/:id/' });
  assert.equal(m.matches('/users/42'), true);
  assert.deepEqual(m.params('/users/42'), { id: '42' });
  assert.equal(m.matches('/users/42/x'), false);
});

test('specificity: exact paths beat patterns and prefixes; more literal text beats less', () => {
  const exact = compilePathMatcher({ path: '/a' }).specificity;
  const longPrefix = compilePathMatcher({ pathPrefix: '/orders/archive' }).specificity;
  const pattern = (p: string) => compilePathMatcher({ pathPattern: p }).specificity;
  assert.ok(exact > longPrefix);
  assert.ok(compilePathMatcher({ path: '/ab' }).specificity > exact);
  assert.ok(pattern('/users/:id') > pattern('/:kind/:id'));
  assert.ok(pattern('/users/:id/x') > pattern('/users/:id'), 'one literal character more wins');
  assert.ok(pattern('/:a/:b') > pattern('/:a'), 'with no literals, more segments win');
  assert.ok(pattern('/abcd/:x') > pattern('/a/b/:x'), 'literal characters count, not the separators between them');
  assert.ok(pattern('/users/:id/*') === pattern('/users/:id'), 'the tail adds nothing');
  assert.equal(pattern('/ab/:x'), 2 * 2 + 2, 'two literal characters count twice, plus one per segment');
  assert.equal(compilePathMatcher({ pathPrefix: '/api' }).specificity, 8);
  assert.equal(exact, 1_000_002);
});

test('an exact host matches with or without the port, in any case', () => {
  const routes = [route('any', {}), route('api', { host: 'API.example.test' })];
  assert.equal(pick(routes, 'GET', 'api.example.test', '/'), 'api');
  assert.equal(pick(routes, 'GET', 'Api.Example.Test:8443', '/'), 'api');
  assert.equal(pick(routes, 'GET', 'api.example.test.evil', '/'), 'any');
  assert.equal(pick(routes, 'GET', 'x.api.example.test', '/'), 'any');
});

test('a wildcard host matches subdomains only, never the bare domain or a look-alike', () => {
  const routes = [route('any', {}), route('wild', { host: '*.example.test' })];
  assert.equal(pick(routes, 'GET', 'a.b.example.test', '/'), 'wild');
  assert.equal(pick(routes, 'GET', 'example.test', '/'), 'any');
  assert.equal(pick(routes, 'GET', 'badexample.test', '/'), 'any');
  assert.equal(pick(routes, 'GET', 'a.example.test.evil:443', '/'), 'any');
});

test('IPv6 authorities are compared with their brackets, without the port', () => {
  const routes = [route('any', {}), route('v6', { host: '[::1]' })];
  assert.equal(pick(routes, 'GET', '[::1]:8443', '/'), 'v6');
  assert.equal(pick(routes, 'GET', '[::1]', '/'), 'v6');
  assert.equal(pick(routes, 'GET', '[::2]:8443', '/'), 'any');
  assert.equal(pick([route('ported', { host: 'h:1' })], 'GET', 'h:1', '/'), 'ported');
});

test('required headers must be present, with the exact value unless the value is *', () => {
  const routes = [route('plain', {}), route('beta', { headers: { 'x-beta': '1' } }), route('canary', { headers: { 'x-canary': '*' } })];
  assert.equal(pick(routes, 'GET', 'h', '/', { 'x-beta': '1' }), 'beta');
  assert.equal(pick(routes, 'GET', 'h', '/', { 'x-beta': '2' }), 'plain');
  assert.equal(pick(routes, 'GET', 'h', '/', { 'x-canary': '' }), 'canary');
  assert.equal(pick(routes, 'GET', 'h', '/', {}), 'plain');
  assert.equal(pick([route('both', { headers: { a: '1', b: '2' } })], 'GET', 'h', '/', { a: '1' }), undefined, 'every header is required');
  assert.equal(new RouteTable([route('beta', { headers: { 'x-beta': '1' } })], () => undefined).match('GET', 'h', '/'), undefined, 'no headers given: none present');
});

test('no route at all answers undefined; a method list excludes the others', () => {
  assert.equal(pick([route('get', { methods: ['GET'] })], 'POST', 'h', '/'), undefined);
  assert.equal(pick([route('get', { pathPrefix: '/a', methods: ['GET'] })], 'GET', 'h', '/b'), undefined);
  assert.equal(pick([], 'GET', 'h', '/'), undefined);
});

test('precedence: priority, then host, then path, then headers, then methods, then file order', () => {
  assert.equal(pick([route('specific', { path: '/x' }), route('urgent', {}, 1)], 'GET', 'h', '/x'), 'urgent');
  assert.equal(pick([route('path', { path: '/x' }), route('wild', { host: '*.h' })], 'GET', 'a.h', '/x'), 'wild');
  assert.equal(pick([route('wild', { host: '*.h', path: '/x' }), route('exact', { host: 'a.h' })], 'GET', 'a.h', '/x'), 'exact');
  assert.equal(pick([route('short', { pathPrefix: '/a' }), route('long', { pathPrefix: '/a/b' })], 'GET', 'h', '/a/b/c'), 'long');
  assert.equal(pick([route('methods', { methods: ['GET'] }), route('headers', { headers: { a: '1' } })], 'GET', 'h', '/', { a: '1' }), 'headers');
  assert.equal(pick([route('headers', { pathPrefix: '/a', headers: { a: '1', b: '2' }, methods: ['GET'] }), route('longer', { pathPrefix: '/a/b' })], 'GET', 'h', '/a/b', { a: '1', b: '2' }), 'longer', 'a longer path prefix outweighs every header and method');
  assert.equal(pick([route('one', { headers: { a: '1' }, methods: ['GET'] }), route('two', { headers: { a: '1', b: '2' } })], 'GET', 'h', '/', { a: '1', b: '2' }), 'two');
  assert.equal(pick([route('any', {}), route('get', { methods: ['GET'] })], 'GET', 'h', '/'), 'get');
  assert.equal(pick([route('first', {}), route('second', {})], 'GET', 'h', '/'), 'first');
  assert.equal(pick([route('second', { pathPrefix: '/a' }), route('first', { pathPrefix: '/a' })], 'GET', 'h', '/a'), 'second');
  assert.equal(pick([route('p0', { path: '/x' }), route('p2', {}, 2), route('p1', {}, 1)], 'GET', 'h', '/x'), 'p2');
});

test('each route is built once with its own data', () => {
  const built: string[] = [];
  const table = new RouteTable([route('a', { pathPrefix: '/a' }), route('b', { pathPrefix: '/b' })], (r) => { built.push(r.name); return `data-${r.name}`; });
  assert.deepEqual(built, ['a', 'b']);
  const hit = table.match('GET', 'h', '/b/1');
  assert.equal(hit?.data, 'data-b');
  assert.equal(hit?.config.name, 'b');
  assert.equal(hit?.path.prefix, '/b');
});
