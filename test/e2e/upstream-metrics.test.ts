// /metrics of both tiers for what happens past routing, through real tiers, a
// real redis-server and real backends (one that answers, one that resets every
// connection, a port nobody listens on): upstream attempts by instance and
// outcome, retries, rate-limit decisions and Redis round trips, authorization
// denials by rule kind, and an instance's series gone once discovery drops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { resettingPort, type ResettingPort } from '../harness/failing-instances.js';
import { freePort } from '../harness/ports.js';
import { scrape, type Exposition } from '../harness/prometheus.js';

let backend: EchoBackend;
let resetting: ResettingPort;
let closedPort: string;
let redis: TestRedis;
let gw: Gateway;

before(async () => {
  [backend, resetting, redis] = await Promise.all([startEchoBackend('app'), resettingPort(), startRedis()]);
  closedPort = `http://127.0.0.1:${await freePort()}`; // nothing listens: every connect is refused
  gw = await startGateway({
    redis: redis.url,
    rateLimits: {
      everyone: { key: 'ip', windows: [{ name: 'minute', limit: 10_000, periodSeconds: 60 }] },
      tight: { key: 'ip', windows: [{ name: 'minute', limit: 3, periodSeconds: 60 }] },
    },
    edgeExtra: { rateLimit: 'everyone' },
    routes: [
      { name: 'app', match: { pathPrefix: '/app' }, service: 'app' },
      { name: 'broken', match: { pathPrefix: '/broken' }, service: 'solo', requestHeaders: { set: { 'x-echo-status': '500' } } },
      { name: 'down', match: { pathPrefix: '/down' }, service: 'down' },
      { name: 'fragile', match: { pathPrefix: '/fragile' }, service: 'fragile' },
      { name: 'limited', match: { pathPrefix: '/limited' }, service: 'solo', rateLimit: 'tight' },
      { name: 'admins', match: { pathPrefix: '/admins' }, service: 'solo', authz: { scopes: { allOf: ['admin'] } } },
    ],
    services: {
      // Round robin over an instance that answers and one that resets: each reset is retried on the other.
      // Ejection and circuits held off, so every request reaches both in turn.
      app: {
        static: [backend.url, resetting.url],
        outlierDetection: { consecutiveFailures: 1000 },
        circuitBreaker: { failureThreshold: 0 },
      },
      solo: { static: [backend.url] },
      down: { static: [closedPort] },
      // Its circuit opens after two unanswered attempts out of two, and stays open past the test.
      fragile: { static: [resetting.url], circuitBreaker: { minimumRequests: 2, failureThreshold: 50, openMs: 60_000 }, retry: { attempts: 0 } },
    },
  });
});

after(async () => {
  await gw?.close();
  await Promise.all([backend?.close(), resetting?.close(), redis?.stop()]);
});

const routerMetrics = () => scrape(gw.router.addresses.adminUrl);
const edgeMetrics = () => scrape(gw.edge.addresses.adminUrl);
const attempts = (m: Exposition, service: string, instance: string, outcome: string) =>
  m.value('gatehouse_upstream_attempts_total', { service, instance, outcome }) ?? 0;
const retries = (m: Exposition, service: string) => m.value('gatehouse_upstream_retries_total', { service }) ?? 0;
const timed = (m: Exposition, service: string) => m.value('gatehouse_upstream_attempt_duration_seconds_count', { service }) ?? 0;
const decisions = (m: Exposition, policy: string, outcome: string) => m.value('gatehouse_ratelimit_decisions_total', { policy, outcome }) ?? 0;
const roundTrips = (m: Exposition, policy: string, result: string) => m.value('gatehouse_ratelimit_redis_roundtrips_total', { policy, result }) ?? 0;

test('attempts are counted by service, instance and outcome on both tiers; a reset retried on the other instance counts a retry', async () => {
  const [router0, edge0] = await Promise.all([routerMetrics(), edgeMetrics()]);
  const connections0 = resetting.connections();
  for (let i = 0; i < 6; i++) {
    const r = await gw.get(`/app/${i}`);
    assert.equal(r.status, 200, `request ${i}: ${r.text}`);
  }
  const [router, edge] = await Promise.all([routerMetrics(), edgeMetrics()]);
  const resets = attempts(router, 'app', resetting.url, 'reset') - attempts(router0, 'app', resetting.url, 'reset');
  assert.equal(attempts(router, 'app', backend.url, 'ok') - attempts(router0, 'app', backend.url, 'ok'), 6, 'every request was answered by the instance that answers');
  assert.ok(resets >= 3, `round robin sent every other first attempt to the resetting instance (${resets} resets)`);
  assert.equal(resets, resetting.connections() - connections0, 'one reset per connection it took');
  assert.equal(retries(router, 'app') - retries(router0, 'app'), resets, 'each reset was retried');
  assert.equal(timed(router, 'app') - timed(router0, 'app'), 6 + resets, 'every attempt sent is timed');
  assert.equal(router.types.get('gatehouse_upstream_attempt_duration_seconds'), 'histogram');
  assert.equal(router.types.get('gatehouse_upstream_attempts_total'), 'counter');
  // The edge's upstream is its router: one answered attempt per request, no retry.
  const routerUrl = new URL(gw.routerUrl).origin;
  assert.equal(attempts(edge, 'gatehouse-router', routerUrl, 'ok') - attempts(edge0, 'gatehouse-router', routerUrl, 'ok'), 6);
  assert.equal(retries(edge, 'gatehouse-router') - retries(edge0, 'gatehouse-router'), 0);
});

test('a backend answering 500 is a 5xx attempt, a refused connection a connect_error one, and the edge sees both as its router\'s 5xx', async () => {
  const [router0, edge0] = await Promise.all([routerMetrics(), edgeMetrics()]);
  assert.equal((await gw.get('/broken/1')).status, 500);
  assert.equal((await gw.get('/down/1')).status, 502);
  const [router, edge] = await Promise.all([routerMetrics(), edgeMetrics()]);
  assert.equal(attempts(router, 'solo', backend.url, '5xx') - attempts(router0, 'solo', backend.url, '5xx'), 1);
  assert.equal(attempts(router, 'down', closedPort, 'connect_error') - attempts(router0, 'down', closedPort, 'connect_error'), 1);
  assert.equal(retries(router, 'down') - retries(router0, 'down'), 0, 'no other instance to retry on');
  const routerUrl = new URL(gw.routerUrl).origin;
  assert.equal(attempts(edge, 'gatehouse-router', routerUrl, '5xx') - attempts(edge0, 'gatehouse-router', routerUrl, '5xx'), 2);
});

test('an instance whose circuit is open is counted breaker_open for each attempt it was passed over for, and never timed', async () => {
  const before = await routerMetrics();
  assert.deepEqual([(await gw.get('/fragile/1')).status, (await gw.get('/fragile/2')).status], [502, 502]);
  const refused = await gw.get('/fragile/3');
  assert.equal(refused.status, 503, refused.text);
  const after = await routerMetrics();
  const delta = (outcome: string) => attempts(after, 'fragile', resetting.url, outcome) - attempts(before, 'fragile', resetting.url, outcome);
  assert.equal(delta('reset'), 2);
  assert.equal(delta('breaker_open'), 1);
  assert.equal(timed(after, 'fragile') - timed(before, 'fragile'), 2, 'only the attempts sent are timed');
});

test('rate-limit decisions match what clients saw, and a request\'s two policies share one Redis round trip', async () => {
  const before = await edgeMetrics();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await gw.get('/limited/x')).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  const after = await edgeMetrics();
  const delta = (f: (m: Exposition) => number) => f(after) - f(before);
  assert.equal(delta((m) => decisions(m, 'tight', 'admitted')), 3);
  assert.equal(delta((m) => decisions(m, 'tight', 'limited')), 2);
  assert.equal(delta((m) => decisions(m, 'everyone', 'admitted')), 5, 'the global policy admitted all five');
  assert.equal(delta((m) => roundTrips(m, 'everyone', 'made')), 5, 'one round trip per request, counted on its first policy');
  assert.equal(delta((m) => roundTrips(m, 'tight', 'saved')), 5, 'the route\'s policy rode in the same round trip');
  assert.equal(delta((m) => roundTrips(m, 'tight', 'made')), 0);
});

test('an authorization denial is counted by the rule kind that denied it, never as a bare forbidden', async () => {
  const before = await routerMetrics();
  assert.equal((await gw.get('/admins/1')).status, 403);
  const after = await routerMetrics();
  const failures = (m: Exposition, reason: string) => m.value('gatehouse_auth_failures_total', { reason }) ?? 0;
  assert.equal(failures(after, 'authz:scopes') - failures(before, 'authz:scopes'), 1);
  assert.equal(failures(after, 'forbidden'), failures(before, 'forbidden'));
});

test('an instance discovery no longer lists loses its series at the next scrape; the others keep counting', async () => {
  const before = await routerMetrics();
  assert.ok(attempts(before, 'app', resetting.url, 'reset') > 0, 'the resetting instance has series before');
  const config = gw.routerConfig as unknown as { services: Record<string, Record<string, unknown>> };
  await gw.router.runtime.reload({ ...config, services: { ...config.services, app: { ...config.services.app, static: [backend.url] } } });
  assert.equal((await gw.get('/app/after')).status, 200);
  const after = await routerMetrics();
  const series = after.samples.filter((s) => s.name === 'gatehouse_upstream_attempts_total');
  assert.deepEqual(series.filter((s) => s.labels.service === 'app' && s.labels.instance === resetting.url), [], 'no series of the dropped instance');
  assert.ok(series.some((s) => s.labels.service === 'fragile' && s.labels.instance === resetting.url), 'another service still listing it keeps its series');
  assert.equal(attempts(after, 'app', backend.url, 'ok') - attempts(before, 'app', backend.url, 'ok'), 1);
});

test('with Redis stopped, a fail-open policy\'s decisions are counted as fallbacks and no round trip as made', async () => {
  const before = await edgeMetrics();
  await redis.stop();
  assert.equal((await gw.get('/app/no-redis')).status, 200);
  const after = await edgeMetrics();
  assert.equal(decisions(after, 'everyone', 'fallback_admitted') - decisions(before, 'everyone', 'fallback_admitted'), 1);
  assert.equal(roundTrips(after, 'everyone', 'made'), roundTrips(before, 'everyone', 'made'));
});
