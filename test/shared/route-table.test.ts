// Route precedence: exact host, wildcard host, any host; longest prefix; methods; file order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../shared/routing/route-table.js';
import { RoundRobin } from '../../shared/balancer/round-robin.js';
import type { RouteConfig } from '../../config/schema.js';

const r = (name: string, match: RouteConfig['match']): RouteConfig => ({ name, match, service: 's', timeoutMs: 1, maxBodyBytes: 1, priority: 0, websocket: false, auth: { methods: [], anonymous: true, hideCredentials: true } });
const table = new RouteTable([
  r('root', { pathPrefix: '/' }),
  r('api', { pathPrefix: '/api' }),
  r('api-get', { pathPrefix: '/api', methods: ['GET'] }),
  r('api-v2', { pathPrefix: '/api/v2/' }),
  r('wild', { host: '*.example.test', pathPrefix: '/api' }),
  r('exact', { host: 'shop.example.test', pathPrefix: '/' }),
  r('ported', { host: 'p.test:8443', pathPrefix: '/' }),
], () => undefined);
const name = (m: string, host: string, path: string) => table.match(m, host, path)?.name;

test('more specific routes win', () => {
  assert.equal(name('GET', 'x', '/api/1'), 'api-get');
  assert.equal(name('POST', 'x', '/api/1'), 'api');
  assert.equal(name('POST', 'x', '/api/v2/x'), 'api-v2');
  assert.equal(name('POST', 'x', '/api/v2'), 'api-v2');
  assert.equal(name('GET', 'x', '/apix'), 'root');
  assert.equal(name('GET', 'a.example.test', '/api/1'), 'wild');
  assert.equal(name('GET', 'A.EXAMPLE.TEST:443', '/api/1'), 'wild');
  assert.equal(name('GET', 'shop.example.test:8443', '/api/1'), 'exact');
  assert.equal(name('GET', 'example.test', '/api'), 'api-get');
  assert.equal(name('GET', 'p.test:8443', '/'), 'ported');
  assert.equal(name('GET', 'p.test:9999', '/'), 'root');
});

test('round robin visits every instance in turn and survives a shrinking list', () => {
  const inst = (id: string) => ({ id, origin: id, authority: id, weight: 1, meta: {} });
  const rr = new RoundRobin();
  const three = [inst('a'), inst('b'), inst('c')];
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => rr.pick(three)!.id), ['a', 'b', 'c', 'a', 'b', 'c']);
  rr.pick(three);
  rr.pick(three);
  assert.equal(rr.pick([inst('a')])!.id, 'a');
  assert.equal(rr.pick([]), undefined);
});
