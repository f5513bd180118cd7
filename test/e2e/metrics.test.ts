// GET /metrics on both tiers' admin listeners, through real tiers, a real
// redis-server and an echo backend: what a Prometheus scrape would read, and
// that a flood of random paths and tokens adds no series.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { scrape, type Exposition } from '../harness/prometheus.js';

let backend: EchoBackend;
let redis: TestRedis;
let gw: Gateway;

before(async () => {
  [backend, redis] = await Promise.all([startEchoBackend('metrics'), startRedis()]);
  gw = await startGateway({
    redis: redis.url,
    auth: { apiKey: { header: 'x-api-key' } },
    routes: [
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'app', auth: { methods: ['api-key'] } },
      { name: 'public', match: { pathPrefix: '/public' }, service: 'app' },
    ],
    services: { app: { static: [backend.url] } },
  });
});

after(async () => {
  await gw?.close();
  await backend?.close();
  await redis?.stop();
});

const edgeMetrics = () => scrape(gw.edge.addresses.adminUrl);
const routerMetrics = () => scrape(gw.router.addresses.adminUrl);
const requests = (m: Exposition, tier: string, route: string, statusClass: string) =>
  m.value('gatehouse_requests_total', { tier, route, method: 'GET', status_class: statusClass }) ?? 0;
const durations = (m: Exposition, tier: string, route: string, statusClass: string) =>
  m.value('gatehouse_request_duration_seconds_count', { tier, route, method: 'GET', status_class: statusClass }) ?? 0;

test('a 200, a 404 and a 401 are counted by route, method, status class and tier, with their durations', async () => {
  const [edge0, router0] = await Promise.all([edgeMetrics(), routerMetrics()]);
  assert.equal((await gw.get('/public/a')).status, 200);
  assert.equal((await gw.get('/nowhere')).status, 404);
  assert.equal((await gw.get('/orders/1')).status, 401);
  const [edge, router] = await Promise.all([edgeMetrics(), routerMetrics()]);

  assert.equal(requests(edge, 'edge', 'public', '2xx') - requests(edge0, 'edge', 'public', '2xx'), 1);
  assert.equal(requests(edge, 'edge', 'none', '4xx') - requests(edge0, 'edge', 'none', '4xx'), 1, 'no route matched: route="none"');
  assert.equal(requests(edge, 'edge', 'orders', '4xx') - requests(edge0, 'edge', 'orders', '4xx'), 1);
  assert.equal(durations(edge, 'edge', 'public', '2xx') - durations(edge0, 'edge', 'public', '2xx'), 1);
  const authFailures = (m: Exposition) => m.value('gatehouse_auth_failures_total', { tier: 'edge', reason: 'no_credential' }) ?? 0;
  assert.equal(authFailures(edge) - authFailures(edge0), 1);

  // Only the request the edge let through reached the router.
  assert.equal(requests(router, 'router', 'public', '2xx') - requests(router0, 'router', 'public', '2xx'), 1);
  assert.equal(requests(router, 'router', 'orders', '4xx') - requests(router0, 'router', 'orders', '4xx'), 0);
  assert.equal(durations(router, 'router', 'public', '2xx') - durations(router0, 'router', 'public', '2xx'), 1);
  assert.equal(router.types.get('gatehouse_request_duration_seconds'), 'histogram');
  assert.equal(edge.types.get('gatehouse_requests_total'), 'counter');
  // The buckets are cumulative, the last (+Inf) is the count, and the sum is the seconds observed.
  const series = { tier: 'edge', route: 'public', method: 'GET', status_class: '2xx' };
  const buckets = edge.samples.filter((x) => x.name === 'gatehouse_request_duration_seconds_bucket' && Object.entries(series).every(([k, v]) => x.labels[k] === v));
  assert.equal(buckets.length, 15);
  assert.deepEqual(buckets.map((b) => b.value), [...buckets.map((b) => b.value)].sort((a, b) => a - b));
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  assert.equal(buckets.at(-1)!.value, edge.value('gatehouse_request_duration_seconds_count', series));
  const sum = edge.value('gatehouse_request_duration_seconds_sum', series)!;
  assert.ok(sum > 0 && sum < buckets.at(-1)!.value * 10, `sum ${sum}`);
});

test('a refused API key is counted as invalid_token, never by the key it sent', async () => {
  const before = await edgeMetrics();
  const key = randomBytes(16).toString('hex');
  assert.equal((await gw.get('/orders/1', { headers: { 'x-api-key': key } })).status, 401);
  const after = await edgeMetrics();
  const invalid = (m: Exposition) => m.value('gatehouse_auth_failures_total', { tier: 'edge', reason: 'invalid_token' }) ?? 0;
  assert.equal(invalid(after) - invalid(before), 1);
  assert.ok(!after.samples.some((s) => Object.values(s.labels).some((v) => v.includes(key))));
});

test('both tiers serve process, event-loop, discovery and (at the edge) Redis metrics, each labelled with its tier', async () => {
  const [edge, router] = await Promise.all([edgeMetrics(), routerMetrics()]);
  for (const [tier, m] of [['edge', edge], ['router', router]] as const) {
    assert.ok((m.value('gatehouse_process_cpu_user_seconds_total', { tier }) ?? -1) >= 0, `${tier}: process CPU`);
    assert.ok((m.value('gatehouse_process_resident_memory_bytes', { tier }) ?? 0) > 0, `${tier}: resident memory`);
    assert.ok((m.value('gatehouse_nodejs_eventloop_lag_seconds', { tier }) ?? -1) >= 0, `${tier}: event-loop lag`);
    const elu = m.value('gatehouse_event_loop_utilization_ratio', { tier });
    assert.ok(elu !== undefined && elu >= 0 && elu <= 1, `${tier}: event-loop utilisation ${elu}`);
    assert.ok(m.samples.every((s) => s.labels.tier === tier), `${tier}: every series carries tier="${tier}"`);
  }
  assert.equal(edge.value('gatehouse_discovery_resolved', { service: 'gatehouse-router' }), 1);
  assert.equal(edge.value('gatehouse_discovery_instances', { service: 'gatehouse-router' }), 1);
  assert.equal(router.value('gatehouse_discovery_resolved', { service: 'app' }), 1);
  assert.equal(router.value('gatehouse_circuit_open_instances', { service: 'app' }), 0);
  assert.equal(router.value('gatehouse_outlier_ejected_instances', { service: 'app' }), 0);
  assert.equal(edge.value('gatehouse_redis_up'), 1);
  assert.equal(router.value('gatehouse_redis_up'), undefined, 'the router has no Redis connection');
});

test('10,000 random paths and tokens through edge and router leave the number of series unchanged', async () => {
  const random = () => randomBytes(12).toString('base64url');
  const kinds = [
    () => gw.get(`/${random()}/${random()}`), // no route: 404
    () => gw.get(`/orders/${random()}`, { headers: { 'x-api-key': random() } }), // refused key: 401
    () => gw.get(`/public/${random()}?q=${random()}`, { headers: { authorization: `Bearer ${random()}` } }), // through both tiers: 200
  ];
  // Every label set these requests can produce exists once first; the flood may then only move values.
  for (const send of kinds) await send();
  const [edge0, router0] = await Promise.all([edgeMetrics(), routerMetrics()]);
  let next = 0;
  const worker = async () => {
    while (next < 10_000) {
      const reply = await kinds[next++ % kinds.length]!();
      assert.ok([200, 401, 404].includes(reply.status), `status ${reply.status}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const [edge, router] = await Promise.all([edgeMetrics(), routerMetrics()]);
  // Node's GC histogram gets a series per kind of collection the first time one runs (four kinds at most).
  const ours = (m: Exposition) => new Set([...m.series()].filter((s) => !s.startsWith('gatehouse_nodejs_gc_duration_seconds')));
  assert.deepEqual([...ours(edge)].filter((s) => !ours(edge0).has(s)), []);
  assert.deepEqual([...ours(router)].filter((s) => !ours(router0).has(s)), []);
  assert.equal(ours(edge).size, ours(edge0).size);
  assert.equal(ours(router).size, ours(router0).size);
  assert.ok(requests(router, 'router', 'public', '2xx') - requests(router0, 'router', 'public', '2xx') >= 3333, 'the flood reached the router');
});
