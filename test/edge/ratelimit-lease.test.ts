// Leased rate limiting (mode: leased) against a real redis-server: three
// edges, each with its own leases and Redis connection as an edge builds
// them (rateLimitStores), share one limit and never admit past it; leases
// shrink to single tokens near the limit, are charged as if spent when they
// expire, outlive Redis only as far as they were granted, and spare almost
// every round trip of steady traffic. Then what one edge holds per caller
// (lease.ts), on a mocked clock: lifetimes, standing refusals, the bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import type { RedisConfig } from '../../shared/config/schema.js';
import { compilePolicy, type LimiterDeps, type Policy } from '../../edge/ratelimit/limiter.js';
import { rateLimitStores } from '../../edge/ratelimit/build.js';
import { RateLimitMetrics, Decided, RoundTrip, type PolicyRows } from '../../edge/ratelimit/metrics.js';
import { RedisStore } from '../../edge/ratelimit/redis-store.js';
import { compileWindows, type Decision } from '../../edge/ratelimit/store.js';
import { Leases, type CompiledLease } from '../../edge/ratelimit/lease.js';
import type { RateLimitPolicyConfig, RateLimitWindow } from '../../edge/ratelimit/schema.js';
import type { EdgeFileConfig } from '../../edge/schema.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { waitFor } from '../harness/ports.js';
import { runStage, type Sent } from '../harness/rate-limit-stage.js';

const silent = pino({ level: 'silent' });
let redis: TestRedis;
const clients: RedisClient[] = [];

before(async () => { redis = await startRedis(); });
after(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});

interface Edge { readonly deps: LimiterDeps; readonly metrics: RateLimitMetrics }

const redisConfig = () => ({ url: redis.url, keyPrefix: 'gatehouse:', commandTimeoutMs: 2_000, connectTimeoutMs: 500 }) as RedisConfig;

/** A connection as an edge opens it (no offline queue), once it is ready. */
async function connected(): Promise<RedisClient> {
  const client = connectRedis(redisConfig(), silent);
  clients.push(client);
  await waitFor('Redis connection ready', () => client.status === 'ready' || undefined, 5_000);
  return client;
}

/** An edge's rate-limit stores, as buildEdge makes them: its own connection, leases and metrics. */
async function edge(): Promise<Edge> {
  const metrics = new RateLimitMetrics(new Registry());
  return { deps: rateLimitStores({ redis: redisConfig() } as EdgeFileConfig, await connected(), silent, metrics), metrics };
}

let n = 0;
/** A leased policy under a name no other test uses (its Redis keys are its own). */
function leased(windows: RateLimitWindow[], over: Partial<RateLimitPolicyConfig> = {}): Policy {
  return compilePolicy(`leased-${n++}`, {
    key: 'consumer', windows, mode: 'leased', lease: { maxTokens: 100, ttlMs: 200 }, onRedisFailure: 'open', instances: 1, ...over,
  });
}

const as = (consumer: string) => ({ identity: { consumer } });
const admittedOf = (sent: readonly Sent[]) => sent.filter((s) => s.error === undefined).length;
const rows = (e: Edge, p: Policy): PolicyRows => e.metrics.policy(p.name);

test('three edges leasing one limit of 300 admit at most 300 of 600 concurrent requests, and at least 291', async () => {
  const edges = await Promise.all([edge(), edge(), edge()]);
  const p = leased([{ name: 'hour', limit: 300, periodSeconds: 3600 }]);
  const sent = await Promise.all(Array.from({ length: 600 }, (_, i) => runStage([p], edges[i % 3]!.deps, as('acme'))));
  const admitted = admittedOf(sent);
  assert.ok(admitted <= 300 && admitted >= 291, `${admitted} admitted for a limit of 300`);
  assert.ok(sent.every((s) => s.error === undefined || s.error.code === 'rate_limited'));
  const made = edges.reduce((sum, e) => sum + rows(e, p).roundTrips.counts[RoundTrip.made]!, 0);
  assert.ok(made < 100, `${made} round trips for 600 requests: concurrent requests wait for one lease instead of asking each`);
});

test('every window of a leased policy holds across three edges: the second\'s in a burst, then the minute\'s', async () => {
  const edges = await Promise.all([edge(), edge(), edge()]);
  const p = leased([{ name: 'second', limit: 50, periodSeconds: 1 }, { name: 'minute', limit: 60, periodSeconds: 60 }], { lease: { maxTokens: 100, ttlMs: 100 } });
  const burst = () => Promise.all(Array.from({ length: 150 }, (_, i) => runStage([p], edges[i % 3]!.deps, as('windows'))));
  const first = admittedOf(await burst());
  assert.ok(first <= 50 && first >= 45, `${first} admitted by a second's window of 50`);
  await sleep(1_100);
  const second = admittedOf(await burst());
  // GCRA refills one a second: the minute's 60, and the one back after the 1.1 s between the bursts.
  assert.ok(first + second <= 61 && first + second >= 55, `${first} + ${second} admitted by a minute's window of 60`);
});

test('1,000 consumers each get exactly their own limit across three edges', async () => {
  const edges = await Promise.all([edge(), edge(), edge()]);
  const limit = 6;
  const p = leased([{ name: 'hour', limit, periodSeconds: 3600 }], { lease: { maxTokens: 100, ttlMs: 2_000 } });
  const consumers = Array.from({ length: 1_000 }, (_, i) => `consumer-${i}`);
  const perConsumer: number[] = [];
  // A hundred consumers at a time, each sending twice its limit spread over the edges, all at once. (All
  // 12,000 requests at once would queue longer than a lease lives, on 2 shared cores: leases arriving
  // after their end are dropped unspent, which the limit tolerates but this test is not about.)
  for (let from = 0; from < consumers.length; from += 100) {
    perConsumer.push(...await Promise.all(consumers.slice(from, from + 100).map(async (c) => {
      const sent = await Promise.all(Array.from({ length: 2 * limit }, (_, i) => runStage([p], edges[i % 3]!.deps, as(c))));
      return admittedOf(sent);
    })));
  }
  const over = perConsumer.filter((a) => a > limit);
  assert.deepEqual(over, [], 'no consumer past its limit');
  const total = perConsumer.reduce((a, b) => a + b, 0);
  assert.ok(total >= 0.97 * limit * consumers.length && total <= limit * consumers.length, `${total} admitted of ${limit * consumers.length}`);
});

test('while Redis is down, tokens already leased are still spent (within the limit), then onRedisFailure applies', async () => {
  const e = await edge();
  const windows = [{ name: 'hour', limit: 1_000, periodSeconds: 3600 }];
  // A long lease, so that it is still held when Redis stops whatever the machine's load.
  const lease = { maxTokens: 100, ttlMs: 10_000 };
  const open = leased(windows, { lease, instances: 4 });
  const closed = leased(windows, { lease, onRedisFailure: 'closed' });
  for (const p of [open, closed]) {
    // A caller's first request asks for its own token; then each lease asks for twice what was seen since the
    // last: 1 (exact), then 2 (one leased, spent by the third request), then 4 (three leased, held).
    for (let i = 0; i < 4; i++) assert.equal((await runStage([p], e.deps, as('outage'))).error, undefined);
    assert.deepEqual(Array.from(rows(e, p).roundTrips.counts), [3, 1]);
  }
  await redis.stop();
  try {
    const outcomes = async (p: Policy, count: number) => {
      const sent: Sent[] = [];
      for (let i = 0; i < count; i++) sent.push(await runStage([p], e.deps, as('outage')));
      return sent.map((s) => s.error?.code ?? 'ok');
    };
    assert.deepEqual(await outcomes(open, 6), Array(6).fill('ok'), 'the 3 leased tokens, then the local share (1,000 / 4)');
    assert.deepEqual(Array.from(rows(e, open).decisions.counts.slice(0, 3)), [7, 0, 3], '3 more from the lease as admitted, 3 by the fallback');
    assert.deepEqual(Array.from(rows(e, open).roundTrips.counts), [3, 4], 'leased decisions saved their round trips');
    const strict = await outcomes(closed, 5);
    assert.deepEqual(strict, ['ok', 'ok', 'ok', 'rate_limit_unavailable', 'rate_limit_unavailable'], 'the lease, then 503');
    assert.equal(rows(e, closed).decisions.counts[Decided.unavailable], 2);
  } finally {
    await redis.start();
  }
});

test('steady traffic under the limit makes at most 0.05 Redis round trips per request', async () => {
  const e = await edge();
  const p = leased([{ name: 'second', limit: 5_000, periodSeconds: 1 }, { name: 'minute', limit: 200_000, periodSeconds: 60 }]);
  const sent: Sent[] = [];
  // Ten callers' worth of traffic for one consumer, one request each per 5 ms: about 2,000 a second at most.
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let i = 0; i < 200; i++) {
      sent.push(await runStage([p], e.deps, as('steady')));
      await sleep(5);
    }
  }));
  assert.deepEqual(sent.filter((s) => s.error !== undefined).map((s) => [s.error!.code, s.headers.ratelimit]), [], 'all under the limit');
  const [made, saved] = Array.from(rows(e, p).roundTrips.counts) as [number, number];
  assert.equal(made + saved, 2_000);
  assert.ok(made / 2_000 <= 0.05, `${made} round trips for 2,000 requests`);
  console.log(`steady load: ${made} Redis round trips for 2,000 requests (${(made / 2_000).toFixed(4)} per request)`);
});

test('a lease takes at most half of what is left and shrinks to the request\'s own token near the limit', async () => {
  const store = new RedisStore(await connected());
  const hit = { key: 'gatehouse:rl:{shrink}', windows: compileWindows([{ name: 'hour', limit: 10, periodSeconds: 3600 }]), lease: { want: 100, ttlMs: 200, share: 2 } };
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push((await store.hit([hit]))[0]!);
  assert.deepEqual(answers.map((d) => [d.allowed, d.leased]), [[true, 4], [true, 2], [true, 0], [true, 0], [false, 0]]);
  assert.deepEqual(answers.map((d) => d.remaining[0]), [5, 2, 1, 0, 0]);
});

test('leased tokens are charged as if spent when the lease ends: the refill of its lifetime is nobody\'s', async () => {
  const store = new RedisStore(await connected());
  const windows = compileWindows([{ name: 'second', limit: 10, periodSeconds: 1 }]);
  const [d] = await store.hit([{ key: 'gatehouse:rl:{charged}', windows, lease: { want: 5, ttlMs: 500, share: 2 } }]);
  assert.equal(d!.leased, 4);
  // 5 spent from a full window of 10 leave 5; charged 500 ms later, 100 ms apart: 1.
  assert.equal(d!.remaining[0], 1);
  const [big] = await store.hit([{ key: 'gatehouse:rl:{too-long}', windows, lease: { want: 5, ttlMs: 1_000, share: 2 } }]);
  assert.deepEqual([big!.allowed, big!.leased], [true, 0], 'a lease as long as the window never fits: exact counting');
  const [exact] = await store.hit([{ key: 'gatehouse:rl:{exact}', windows }]);
  assert.equal(exact!.leased, undefined, 'an exact hit is answered as before');
});

const lease: CompiledLease = { maxTokens: 100, ttlMs: 200, share: 2 };
const grant = (leased: number): Decision => ({ allowed: true, retryAfterMs: 0, remaining: [50], resetMs: [6_000], leased });

test('an edge spends its leased tokens until they run out or their lifetime ends, whichever comes first', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const leases = new Leases();
  assert.equal(leases.decide('k', Date.now()), undefined, 'nothing held for a caller never seen');
  const first = leases.ask('k', lease, Date.now());
  assert.equal(first.ask.want, 1, 'a caller seen for the first time asks for its own token only');
  leases.granted('k', grant(3), lease, Date.now());
  first.settled();
  t.mock.timers.tick(10);
  assert.deepEqual(leases.decide('k', Date.now()), { allowed: true, retryAfterMs: 0, remaining: [52], resetMs: [5_990] }, 'its own tokens count as the caller\'s');
  assert.equal(leases.decide('k', Date.now())?.allowed, true);
  const again = leases.ask('k', lease, Date.now());
  assert.equal(again.ask.want, 6, 'busy: 3 requests in 10 ms ask for 6; a lease at most doubles what was seen');
  leases.granted('k', grant(5), lease, Date.now());
  again.settled();
  t.mock.timers.tick(180);
  assert.equal(leases.decide('k', Date.now())?.allowed, true, 'the older lease\'s end holds for both: 10 ms left');
  t.mock.timers.tick(10);
  assert.equal(leases.decide('k', Date.now()), undefined, 'unspent tokens expire with the lease they were charged by');
});

test('a refusal holds without a round trip until its Retry-After: no edge returns tokens, so none exist sooner', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const leases = new Leases();
  const asked = leases.ask('k', lease, Date.now());
  leases.granted('k', { allowed: false, retryAfterMs: 1_500, remaining: [0], resetMs: [60_000], leased: 0 }, lease, Date.now());
  asked.settled();
  t.mock.timers.tick(1_000);
  assert.deepEqual(leases.decide('k', Date.now()), { allowed: false, retryAfterMs: 500, remaining: [0], resetMs: [60_000] });
  t.mock.timers.tick(500);
  assert.equal(leases.decide('k', Date.now()), undefined, 'then Redis decides again');
});

test('lease state stays bounded however many callers pass: idle ones are forgotten first', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const leases = new Leases(1_000);
  const busy = leases.ask('busy', lease, Date.now());
  for (let i = 0; i < 20_000; i++) {
    const { settled } = leases.ask(`caller-${i}`, lease, Date.now());
    leases.granted(`caller-${i}`, grant(0), lease, Date.now());
    settled();
    assert.ok(leases.size <= 1_000, `${leases.size} callers held`);
  }
  assert.ok(leases.waitFor('busy') !== undefined, 'a caller with a round trip in flight is kept');
  busy.settled();
});
