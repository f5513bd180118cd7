// Routes that services publish, on a real Consul agent: a registration with gatehouse-route-prefix meta becomes
// a route within a second, a deregistration or failing health withdraws it, and what the allow-list forbids is
// refused and logged once. Drives the Consul source, the resolution and the composed config as a tier would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { LogCapture } from '../harness/logs.js';
import { waitFor } from '../harness/ports.js';
import { createLogger } from '../../shared/log.js';
import { consulClient } from '../../shared/discovery/directory.js';
import { PublishedRoutesSource } from '../../shared/discovery/published-routes-source.js';
import { PublishedRoutesReport } from '../../shared/routing/published-routes-report.js';
import type { PublishedClaim } from '../../shared/routing/published-routes.js';
import { parseConfig } from '../../config/load.js';
import { withPublishedRoutes } from '../../config/published-routes.js';
import type { Config } from '../../config/schema.js';

let consul: TestConsul;
let source: PublishedRoutesSource;
const logs = new LogCapture();
/** The routes of the config a tier would build from, as of the last claims the source reported. */
let routes: Config['routes'] = [];

const configText = (address: string) => `
router:
  listen: { port: 9080 }
  admin: { port: 9081 }
consul: { address: "${address}", waitSeconds: 30 }
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
routes:
  - name: orders-admin
    match: { pathPrefix: /orders/admin }
    service: admin
    auth: { anonymous: true }
  - name: stock-reserved
    match: { pathPrefix: /stock/reserved }
    service: admin
    auth: { anonymous: true }
services:
  admin:
    static: [http://10.0.0.5:8080]
publishedRoutes:
  profiles:
    public: { auth: { anonymous: true } }
  allow:
    - service: orders
      pathPrefixes: [/orders]
      profiles: [public]
      defaultProfile: public
    - service: "stock-*"
      pathPrefixes: [/stock]
      profiles: [public]
      defaultProfile: public
`;

before(async () => {
  consul = await startConsul();
  const config = parseConfig(configText(consul.address), 'gatehouse.yaml');
  const log = createLogger('router', 'info', logs);
  const report = new PublishedRoutesReport(log);
  source = new PublishedRoutesSource(consulClient(config.consul!), config.consul!, (claims: readonly PublishedClaim[]) => {
    const out = withPublishedRoutes(config, claims);
    routes = out.config.routes;
    report.report(out.published, out.refusals);
  }, log);
  await waitFor('the first report', () => source.current);
});

after(async () => {
  source?.close();
  await consul?.stop();
});

const route = (name: string) => routes.find((r) => r.name === name);
const events = (event: string, service: string, action?: string) => logs.records.filter((r) => r.event === event && r.service === service && (action === undefined || r.action === action));

test('a service registered with a route prefix gets its route within a second', async () => {
  const started = Date.now();
  await consul.register({ id: 'orders-1', name: 'orders', port: 9001, meta: { 'gatehouse-route-prefix': '/orders', 'gatehouse-route-strip-prefix': 'true' } });
  const r = await waitFor('published-orders', () => route('published-orders'), 5_000, 10);
  const took = Date.now() - started;
  assert.ok(took < 1_000, `took ${took} ms`);
  assert.deepEqual([r.match, r.service, r.priority, r.rewrite], [{ pathPrefix: '/orders' }, 'published-orders', -1, { stripPrefix: true }]);
  assert.deepEqual(events('published-route', 'orders').map((e) => [e.action, e.route, e.prefix, e.profile]), [['published', 'published-orders', '/orders', 'public']]);
});

test('a service without the meta, or with an empty prefix, publishes nothing', async () => {
  await consul.register({ id: 'plain-1', name: 'plain', port: 9002 });
  await consul.register({ id: 'blank-1', name: 'blank', port: 9003, meta: { 'gatehouse-route-prefix': '' } });
  await consul.register({ id: 'stock-eu-1', name: 'stock-eu', port: 9004, meta: { 'gatehouse-route-prefix': '/stock/eu' } });
  await waitFor('stock-eu', () => route('published-stock-eu'), 5_000, 10);
  assert.deepEqual(routes.map((r) => r.name).sort(), ['orders-admin', 'published-orders', 'published-stock-eu', 'stock-reserved']);
  assert.equal(source.current!.some((c) => c.service === 'plain' || c.service === 'blank'), false);
  assert.equal(source.status.services, 2, 'only publishing services get a health query of their own (Consul filters the catalog)');
});

test('a claim outside the allowance is refused and logged once, and so is a disagreement', async (t) => {
  t.after(async () => { await consul.deregister('orders-admin-1'); await consul.deregister('intruder-1'); });
  await consul.register({ id: 'intruder-1', name: 'stock-x', port: 9005, meta: { 'gatehouse-route-prefix': '/orders' } });
  await consul.register({ id: 'orders-admin-1', name: 'orders', port: 9006, meta: { 'gatehouse-route-prefix': '/orders/admin' } });
  await waitFor('the refusal of stock-x', () => events('published-route-refused', 'stock-x')[0], 5_000, 10);
  // orders now has two instances that disagree, one each: the smaller claim (/orders) is kept.
  await waitFor('the disagreement', () => events('published-route-disagreement', 'orders')[0], 5_000, 10);
  assert.equal(route('published-stock-x'), undefined);
  assert.deepEqual(route('published-orders')?.match, { pathPrefix: '/orders' });
  // More answers from Consul, and other routes coming and going, must not repeat either line.
  await consul.register({ id: 'plain-2', name: 'plain', port: 9007 });
  await consul.deregister('plain-2');
  await consul.register({ id: 'stock-eu-2', name: 'stock-eu', port: 9008, meta: { 'gatehouse-route-prefix': '/stock/eu' } });
  await consul.register({ id: 'stock-w-1', name: 'stock-w', port: 9012, meta: { 'gatehouse-route-prefix': '/stock/w' } });
  await waitFor('stock-w', () => route('published-stock-w'), 5_000, 10);
  await consul.deregister('stock-w-1');
  await waitFor('stock-w withdrawn', () => route('published-stock-w') === undefined || undefined, 5_000, 10);
  const refused = events('published-route-refused', 'stock-x');
  assert.equal(refused.length, 1);
  assert.match(String(refused[0]!.reason), /prefix \/orders is outside publishedRoutes\.allow\[1\]\.pathPrefixes \(\/stock\)/);
  assert.equal(events('published-route-disagreement', 'orders').length, 1);
});

test('two services on one prefix: one wins, the same on every instance; a configured route\'s prefix is refused', async (t) => {
  t.after(async () => { await consul.deregister('stock-z-1'); await consul.deregister('stock-r-1'); });
  await consul.register({ id: 'stock-z-1', name: 'stock-z', port: 9009, meta: { 'gatehouse-route-prefix': '/stock/eu' } });
  await consul.register({ id: 'stock-r-1', name: 'stock-r', port: 9011, meta: { 'gatehouse-route-prefix': '/stock/reserved/x' } });
  const refused = await waitFor('the refusal of stock-z', () => events('published-route-refused', 'stock-z')[0], 5_000, 10);
  assert.match(String(refused.reason), /\/stock\/eu is also claimed by service "stock-eu", which wins with a smaller name/);
  const reserved = await waitFor('the refusal of stock-r', () => events('published-route-refused', 'stock-r')[0], 5_000, 10);
  assert.match(String(reserved.reason), /\/stock\/reserved\/x is served by configured route "stock-reserved"/);
  assert.equal(route('published-stock-eu')?.service, 'published-stock-eu');
  assert.equal(route('published-stock-z'), undefined);
});

test('deregistering every instance withdraws the route within a second', async () => {
  await consul.deregister('stock-eu-1');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(route('published-stock-eu'), 'one instance left still publishes');
  const started = Date.now();
  await consul.deregister('stock-eu-2');
  await waitFor('stock-eu withdrawn', () => route('published-stock-eu') === undefined || undefined, 5_000, 10);
  const took = Date.now() - started;
  assert.ok(took < 1_000, `took ${took} ms`);
  assert.deepEqual(events('published-route', 'stock-eu').map((e) => [e.action, e.route]), [['published', 'published-stock-eu'], ['withdrawn', 'published-stock-eu']]);
});

test('a service whose instances all fail their health check loses its route, and gets it back when they pass', async () => {
  await consul.register({ id: 'stock-us-1', name: 'stock-us', port: 9010, ttlCheck: true, meta: { 'gatehouse-route-prefix': '/stock/us' } });
  await waitFor('stock-us', () => route('published-stock-us'), 5_000, 10);
  const started = Date.now();
  await consul.setHealth('stock-us-1', 'fail');
  await waitFor('stock-us withdrawn', () => route('published-stock-us') === undefined || undefined, 5_000, 10);
  // An empty answer is believed after a second look 1 s later (consul-source.ts), as for routing itself.
  const took = Date.now() - started;
  assert.ok(took < 2_000, `took ${took} ms`);
  await consul.setHealth('stock-us-1', 'pass');
  await waitFor('stock-us back', () => route('published-stock-us'), 2_000, 10);
});

test('a service that changes its meta gets its route changed, logged as such', async () => {
  await consul.register({ id: 'stock-us-1', name: 'stock-us', port: 9010, meta: { 'gatehouse-route-prefix': '/stock/us/v2', 'gatehouse-route-strip-prefix': 'true' } });
  const r = await waitFor('the new prefix', () => route('published-stock-us')?.match.pathPrefix === '/stock/us/v2' ? route('published-stock-us') : undefined, 2_000, 10);
  assert.deepEqual(r.rewrite, { stripPrefix: true });
  const changed = events('published-route', 'stock-us', 'changed');
  assert.deepEqual(changed.map((e) => [e.prefix, e.stripPrefix]), [['/stock/us/v2', true]]);
});

test('while Consul is down the routes last seen stay, the outage is logged a few times, not per retry', async () => {
  const before = routes.map((r) => r.name);
  assert.ok(before.includes('published-orders'));
  const from = logs.records.length;
  await consul.stop();
  await new Promise((r) => setTimeout(r, 4_000));
  assert.deepEqual(routes.map((r) => r.name), before);
  const errors = logs.records.slice(from).filter((r) => r.event === 'published-routes-consul-error' && r.service === undefined);
  assert.ok(errors.length >= 1 && errors.length <= 4, `${errors.length} lines`);
  assert.deepEqual(errors.map((e) => e.failures), [1, 2, 4, 8].slice(0, errors.length));
  assert.equal(source.status.resolved, true);
  assert.match(String(source.status.lastError), /./);
  // A -dev agent comes back empty: every route its services published is withdrawn, as after a real loss.
  await consul.start();
  await waitFor('the routes withdrawn', () => routes.every((r) => !r.name.startsWith('published-')) || undefined, 20_000, 50);
  await waitFor('the recovery line', () => logs.records.slice(from).find((r) => r.event === 'published-routes-consul-back'), 20_000, 50);
  assert.equal(source.status.lastError, undefined);
});
