// Rate limiting through the edge against a real redis-server: headers and
// 429s a client sees, accuracy across three edge instances, and what happens
// while Redis is stopped and restarted under load.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, send, type Gateway, type Reply, type Tier } from '../harness/gateway.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { waitFor } from '../harness/ports.js';
import { scrape, type Exposition } from '../harness/prometheus.js';

let backend: EchoBackend;
let redis: TestRedis;
let gw: Gateway;

before(async () => {
  [backend, redis] = await Promise.all([startEchoBackend('limited'), startRedis()]);
  gw = await startGateway({
    redis: redis.url,
    rateLimits: {
      tenant: { key: 'header:x-tenant', windows: [{ name: 'burst', limit: 5, periodSeconds: 10 }, { name: 'daily', limit: 1000, periodSeconds: 86400 }] },
      shared: { key: 'ip', windows: [{ name: 'hour', limit: 300, periodSeconds: 3600 }] },
      // A lease lives 2 s here (free for an hour's window): a loaded machine must not let leases end in flight.
      leased: { key: 'ip', windows: [{ name: 'hour', limit: 300, periodSeconds: 3600 }], mode: 'leased', lease: { ttlMs: 2_000 } },
      lenient: { key: 'header:x-tenant', windows: [{ name: 'minute', limit: 30, periodSeconds: 60 }], instances: 3 },
      strict: { key: 'header:x-tenant', windows: [{ name: 'minute', limit: 30, periodSeconds: 60 }], onRedisFailure: 'closed' },
    },
    routes: [
      { name: 'tenant', match: { pathPrefix: '/tenant' }, service: 'app', rateLimit: 'tenant' },
      { name: 'shared', match: { pathPrefix: '/shared' }, service: 'app', rateLimit: 'shared' },
      { name: 'leased', match: { pathPrefix: '/leased' }, service: 'app', rateLimit: 'leased' },
      { name: 'lenient', match: { pathPrefix: '/lenient' }, service: 'app', rateLimit: 'lenient' },
      { name: 'strict', match: { pathPrefix: '/strict' }, service: 'app', rateLimit: 'strict' },
      { name: 'free', match: { pathPrefix: '/free' }, service: 'app' },
    ],
    services: { app: { static: [backend.url] } },
    // The accuracy test measures shared counting: on a machine busy with other test files a command can pass
    // the 100 ms default, and the edge would rightly count that request locally (tested below, with Redis stopped).
    redisExtra: { commandTimeoutMs: 2_000 },
  });
});

after(async () => {
  await gw?.close();
  await backend?.close();
  await redis?.stop();
});

const as = (tenant: string) => ({ headers: { 'x-tenant': tenant } });

test('replies carry RateLimit-Policy and RateLimit; past the limit 429 with Retry-After, and the backend is not called', async () => {
  const first = await gw.get('/tenant/x', as('acme'));
  assert.equal(first.status, 200);
  assert.equal(first.headers['ratelimit-policy'], '"burst";q=5;w=10, "daily";q=1000;w=86400');
  assert.equal(first.headers.ratelimit, '"burst";r=4;t=2');
  for (let i = 0; i < 4; i++) assert.equal((await gw.get('/tenant/x', as('acme'))).status, 200);
  const before = backend.received.length;
  const refused = await gw.get('/tenant/x', as('acme'));
  assert.equal(refused.status, 429);
  assert.equal(refused.json().error, 'rate_limited');
  assert.equal(refused.headers['retry-after'], '2');
  assert.match(String(refused.headers.ratelimit), /^"burst";r=0;t=\d+$/);
  assert.equal(backend.received.length, before);
  assert.equal((await gw.get('/tenant/x', as('other'))).status, 200, 'another key has its own budget');
  assert.equal((await gw.get('/free/x', as('acme'))).headers['ratelimit-policy'], undefined, 'a route without a policy counts nothing');
});

test('the edge-wide policy counts requests on every route, together with a route\'s own policy', async () => {
  const edgeWide = await startGateway({
    redis: redis.url,
    rateLimits: {
      everyone: { key: 'header:x-tenant', windows: [{ name: 'edge', limit: 3, periodSeconds: 60 }] },
      own: { key: 'header:x-tenant', windows: [{ name: 'own', limit: 100, periodSeconds: 60 }] },
    },
    edgeExtra: { rateLimit: 'everyone' },
    routes: [
      { name: 'plain', match: { pathPrefix: '/plain' }, service: 'app' },
      { name: 'counted', match: { pathPrefix: '/counted' }, service: 'app', rateLimit: 'own' },
    ],
    services: { app: { static: [backend.url] } },
  });
  try {
    const plain = await edgeWide.get('/plain/x', as('edge-wide'));
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['ratelimit-policy'], '"edge";q=3;w=60', 'a route with no policy of its own is counted by the edge-wide one');
    assert.match(String(plain.headers.ratelimit), /^"edge";r=2;t=\d+$/);
    const counted = await edgeWide.get('/counted/x', as('edge-wide'));
    assert.equal(counted.status, 200);
    assert.equal(counted.headers['ratelimit-policy'], '"edge";q=3;w=60, "own";q=100;w=60');
    assert.match(String(counted.headers.ratelimit), /^"edge";r=1;t=\d+$/, 'one budget across routes');
    assert.equal((await edgeWide.get('/plain/y', as('edge-wide'))).status, 200);
    const before = backend.received.length;
    const refused = await edgeWide.get('/counted/y', as('edge-wide'));
    assert.equal(refused.status, 429);
    assert.equal(refused.json().error, 'rate_limited');
    assert.equal(backend.received.length, before);
    assert.equal((await edgeWide.get('/plain/z', as('edge-wide'))).status, 429);
    assert.equal((await edgeWide.get('/plain/z', as('another-tenant'))).status, 200, 'another key has its own budget');
  } finally {
    await edgeWide.close();
  }
});

/** 600 requests, 25 at a time per edge, over this edge and two more started from its config. */
async function threeEdges(path: string): Promise<Reply[]> {
  const others: Tier[] = [await startTier('edge', gw.edgeConfig), await startTier('edge', gw.edgeConfig)];
  try {
    const urls = [gw.edgeUrl, ...others.map((t) => t.addresses.url)];
    const replies: Reply[] = [];
    const perEdge = 200;
    await Promise.all(urls.map(async (url) => {
      for (let batch = 0; batch < perEdge; batch += 25) {
        replies.push(...await Promise.all(Array.from({ length: 25 }, () => send(gw.client, `${url}${path}`))));
      }
    }));
    return replies;
  } finally {
    await Promise.all(others.map((t) => t.runtime.close()));
  }
}

test('three edge instances sharing Redis admit the limit within 1% under concurrent load', async () => {
  const replies = await threeEdges('/shared/x');
  const admitted = replies.filter((r) => r.status === 200).length;
  assert.equal(replies.length, 600);
  assert.ok(replies.every((r) => r.status === 200 || r.status === 429));
  assert.ok(admitted >= 300 && admitted <= 303, `${admitted} admitted for a limit of 300`);
});

test('three edges leasing one limit admit at most the limit, at least 97% of it, with far fewer round trips', async () => {
  const before = await scrape(gw.edge.addresses.adminUrl);
  const replies = await threeEdges('/leased/x');
  const admitted = replies.filter((r) => r.status === 200).length;
  assert.ok(replies.every((r) => r.status === 200 || r.status === 429));
  assert.ok(admitted >= 291 && admitted <= 300, `${admitted} admitted for a limit of 300`);
  const after = await scrape(gw.edge.addresses.adminUrl);
  const count = (m: Exposition, result: string) => m.value('gatehouse_ratelimit_redis_roundtrips_total', { policy: 'leased', result }) ?? 0;
  const made = count(after, 'made') - count(before, 'made');
  const saved = count(after, 'saved') - count(before, 'saved');
  assert.equal(made + saved, 200, 'this edge decided its 200 requests');
  assert.ok(made <= 40, `this edge made ${made} round trips for its 200 requests`);
});

test('with Redis stopped under load, fail-open policies count locally at their share and fail-closed ones answer 503; all recover', async () => {
  let stop = false;
  const statuses: number[] = [];
  const load = (async () => {
    while (!stop) statuses.push((await gw.get('/free/x')).status);
  })();
  // Counted from here: under a loaded machine an earlier command may already have timed out (and logged) once.
  const downBefore = gw.edge.logs.records.filter((l) => l.event === 'ratelimit-store-down').length;
  await redis.stop();
  const lenient: number[] = [];
  for (let i = 0; i < 14; i++) lenient.push((await gw.get('/lenient/x', as('outage'))).status);
  assert.deepEqual(lenient.filter((s) => s === 200).length, 10, 'a third of 30 per minute on this instance');
  assert.ok(lenient.slice(10).every((s) => s === 429));
  const strict = await gw.get('/strict/x', as('outage'));
  assert.equal(strict.status, 503);
  assert.equal(strict.json().error, 'rate_limit_unavailable');
  const readiness = await fetch(`${gw.edge.addresses.adminUrl}/ready`);
  assert.equal(readiness.status, 200);
  assert.equal(((await readiness.json()) as { checks: { rateLimit: { store: string } } }).checks.rateLimit.store, 'down');
  const downLines = gw.edge.logs.records.filter((l) => l.event === 'ratelimit-store-down').length - downBefore;
  assert.equal(downLines, 1, 'the outage is logged once, not per request');

  await redis.start();
  await waitFor('the strict route to count in Redis again', async () => (await gw.get('/strict/x', as('after'))).status === 200 || undefined, 10_000, 100);
  stop = true;
  await load;
  assert.ok(statuses.length > 10 && statuses.every((s) => s === 200), 'traffic that needs no limit never failed');
  assert.ok(gw.edge.logs.records.some((l) => l.event === 'ratelimit-store-up'));
  const after = (await (await fetch(`${gw.edge.addresses.adminUrl}/ready`)).json()) as { checks: { rateLimit: { store: string } } };
  assert.equal(after.checks.rateLimit.store, 'up');
});
