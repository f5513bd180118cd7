// The rate-limit stage on its own, over the in-memory store and stand-in
// stores: what each request is counted by, the headers and refusals a client
// sees, and the failure modes while the shared store is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { compilePolicy, rateLimit, type LimiterDeps, type Policy } from '../../edge/ratelimit/limiter.js';
import { MemoryStore } from '../../edge/ratelimit/memory-store.js';
import { StoreHealth } from '../../edge/ratelimit/outage.js';
import { compileWindows, type Decision, type Hit, type RateLimitStore } from '../../edge/ratelimit/store.js';
import type { RateLimitPolicyConfig } from '../../edge/ratelimit/schema.js';
import { buildRateLimits, rateLimitStores } from '../../edge/ratelimit/build.js';
import type { Config } from '../../config/schema.js';
import { runStage as run } from '../harness/rate-limit-stage.js';

const silent = pino({ level: 'silent' });
const policy = (name: string, over: Partial<RateLimitPolicyConfig> = {}): Policy => compilePolicy(name, {
  key: 'consumer', windows: [{ name: 'minute', limit: 3, periodSeconds: 60 }], mode: 'exact', lease: { maxTokens: 100, ttlMs: 200 }, onRedisFailure: 'open', instances: 1, ...over,
});

/** A store that records what it was asked and answers as told (or fails). */
class StandIn implements RateLimitStore {
  readonly asked: Hit[][] = [];
  constructor(private readonly answer: (hits: readonly Hit[]) => Decision[] | Promise<Decision[]>) {}
  hit(hits: readonly Hit[]): Decision[] | Promise<Decision[]> {
    this.asked.push([...hits]);
    return this.answer(hits);
  }
}
const down = () => new StandIn(() => Promise.reject(new Error('connection refused')));
const deps = (shared: RateLimitStore, local: RateLimitStore = new MemoryStore(), health = new StoreHealth(silent)): LimiterDeps => ({ shared, local, health, prefix: 'gh:' });

test('RateLimit-Policy lists every window of every policy, once per policy', () => {
  const p = policy('tenant', { key: 'ip', windows: [{ name: 'burst', limit: 5, periodSeconds: 10 }, { name: 'daily', limit: 1000, periodSeconds: 86400 }], instances: 4 });
  assert.equal(p.policyHeader, '"burst";q=5;w=10, "daily";q=1000;w=86400');
  assert.deepEqual(p.windows.map((w) => [w.limit, w.periodMs, w.intervalMs]), [[5, 10_000, 2_000], [1000, 86_400_000, 86_400]]);
  assert.deepEqual(p.localWindows.map((w) => w.limit), [1, 250], 'each of 4 instances gets its share while Redis is down');
});

test('a share never rounds down to zero', () => {
  assert.deepEqual(compileWindows([{ name: 'w', limit: 3, periodSeconds: 1 }], 10).map((w) => [w.limit, w.intervalMs]), [[1, 1000]]);
  assert.deepEqual(compileWindows([{ name: 'w', limit: 10, periodSeconds: 2 }], 3).map((w) => [w.limit, w.intervalMs]), [[3, 2000 / 3]]);
  assert.deepEqual(compileWindows([{ name: 'w', limit: 10, periodSeconds: 2 }]).map((w) => w.limit), [10]);
});

test('admitted requests carry both headers; the limit plus one is refused with 429, Retry-After and the same headers', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const d = deps(new MemoryStore());
  const p = policy('orders');
  const first = await run([p], d, { identity: {} });
  assert.equal(first.error, undefined);
  assert.deepEqual(first.headers, { 'ratelimit-policy': '"minute";q=3;w=60', ratelimit: '"minute";r=2;t=20' });
  await run([p], d, { identity: {} });
  assert.equal((await run([p], d, { identity: {} })).headers.ratelimit, '"minute";r=0;t=60');
  const refused = await run([p], d, { identity: {} });
  assert.equal(refused.error?.code, 'rate_limited');
  assert.equal(refused.error?.reason, 'rate limit orders spent');
  assert.deepEqual(refused.error?.headers, { 'retry-after': '20', 'ratelimit-policy': '"minute";q=3;w=60', ratelimit: '"minute";r=0;t=60' });
});

test('RateLimit names the window closest to its limit across policies, the first of equals', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const d = deps(new MemoryStore());
  const wide = policy('wide', { windows: [{ name: 'hour', limit: 10, periodSeconds: 3600 }, { name: 'second', limit: 2, periodSeconds: 1 }] });
  const own = policy('own', { windows: [{ name: 'minute', limit: 5, periodSeconds: 60 }] });
  const sent = await run([wide, own], d, { identity: {} });
  assert.equal(sent.headers['ratelimit-policy'], '"hour";q=10;w=3600, "second";q=2;w=1, "minute";q=5;w=60');
  assert.equal(sent.headers.ratelimit, '"second";r=1;t=1');
  const tie = policy('tie', { windows: [{ name: 'a', limit: 2, periodSeconds: 60 }, { name: 'b', limit: 2, periodSeconds: 60 }] });
  assert.equal((await run([tie], d, { identity: {} })).headers.ratelimit, '"a";r=1;t=30');
});

test('a refusal by any policy refuses the request; Retry-After is the longest wait, in whole seconds, at least 1', async () => {
  const answers: Decision[] = [
    { allowed: true, retryAfterMs: 0, remaining: [4], resetMs: [100] },
    { allowed: false, retryAfterMs: 1_001, remaining: [0], resetMs: [5_000] },
    { allowed: false, retryAfterMs: 3_000, remaining: [0], resetMs: [9_000] },
  ];
  const sent = await run([policy('a'), policy('b'), policy('c')], deps(new StandIn(() => answers)), { identity: {} });
  assert.equal(sent.error?.code, 'rate_limited');
  assert.equal(sent.error?.reason, 'rate limit a+b+c spent');
  assert.equal(sent.error?.headers?.['retry-after'], '3');
  const soon = await run([policy('a')], deps(new StandIn(() => [{ allowed: false, retryAfterMs: 0, remaining: [0], resetMs: [0] }])), { identity: {} });
  assert.equal(soon.error?.headers?.['retry-after'], '1', 'a refusal is a refusal, even with nothing to wait');
  const rounded = await run([policy('a')], deps(new StandIn(() => [{ allowed: false, retryAfterMs: 1_500, remaining: [0], resetMs: [0] }])), { identity: {} });
  assert.equal(rounded.error?.headers?.['retry-after'], '2');
  const allAllowed = await run([policy('a'), policy('b')], deps(new StandIn(() => answers.slice(0, 1).concat(answers.slice(0, 1)))), { identity: {} });
  assert.equal(allAllowed.error, undefined);
});

test('a synchronous and an asynchronous store are read alike', async () => {
  const answer: Decision[] = [{ allowed: false, retryAfterMs: 2_000, remaining: [0], resetMs: [2_000] }];
  for (const store of [new StandIn(() => answer), new StandIn(async () => answer)]) {
    assert.equal((await run([policy('a')], deps(store), { identity: {} })).error?.code, 'rate_limited');
  }
});

test('what a request is counted by: consumer, api key id, address or a header, each in its own slot per policy', async () => {
  const keyOf = async (p: Policy, caller: Parameters<typeof run>[2]) => {
    const store = new StandIn((hits) => hits.map(() => ({ allowed: true, retryAfterMs: 0, remaining: [1], resetMs: [1] })));
    await run([p], deps(store), caller);
    return store.asked[0]![0]!.key;
  };
  assert.equal(await keyOf(policy('p'), { identity: { consumer: 'acme' } }), 'gh:rl:{p:consumer:acme}');
  assert.equal(await keyOf(policy('p'), {}), 'gh:rl:{p:consumer:192.0.2.1}', 'no identity: the address');
  const byKey = policy('k', { key: 'api-key' });
  assert.equal(await keyOf(byKey, { identity: { consumer: 'acme', claims: { keyId: 'abc123' } } }), 'gh:rl:{k:api-key:abc123}');
  assert.equal(await keyOf(byKey, { identity: { consumer: 'acme' } }), 'gh:rl:{k:api-key:acme}');
  assert.equal(await keyOf(byKey, {}), 'gh:rl:{k:api-key:192.0.2.1}');
  assert.equal(await keyOf(policy('i', { key: 'ip' }), { identity: { consumer: 'acme' }, ip: '2001:db8::1' }), 'gh:rl:{i:ip:2001:db8::1}');
  const byHeader = policy('h', { key: 'header:x-tenant' });
  assert.equal(await keyOf(byHeader, { headers: { 'x-tenant': 'globex' } }), 'gh:rl:{h:header:x-tenant:globex}');
  assert.equal(await keyOf(byHeader, { headers: { 'x-tenant': '' } }), 'gh:rl:{h:header:x-tenant:192.0.2.1}');
  assert.equal(await keyOf(byHeader, { headers: { 'x-other': 'globex' } }), 'gh:rl:{h:header:x-tenant:192.0.2.1}');
});

test('a caller cannot pick another caller\'s slot or bloat the key: long, braced or spaced values are hashed', async () => {
  const keyOf = async (tenant: string) => {
    const store = new StandIn((hits) => hits.map(() => ({ allowed: true, retryAfterMs: 0, remaining: [1], resetMs: [1] })));
    await run([policy('h', { key: 'header:x-tenant' })], deps(store), { headers: { 'x-tenant': tenant } });
    return store.asked[0]![0]!.key;
  };
  const hashed = (v: string) => `gh:rl:{h:header:x-tenant:${createHash('sha256').update(v).digest('base64url')}}`;
  for (const v of ['x'.repeat(65), 'a}b', '{a', 'a b', 'a\tb']) assert.equal(await keyOf(v), hashed(v), JSON.stringify(v));
  assert.equal(await keyOf('x'.repeat(64)), `gh:rl:{h:header:x-tenant:${'x'.repeat(64)}}`);
});

test('while the shared store is down, an open policy counts locally at this instance\'s share', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const local = new MemoryStore();
  const modes: string[] = [];
  const health = new StoreHealth(pino({ level: 'warn' }, { write: (line: string) => modes.push(JSON.parse(line).failureMode) }));
  const d = deps(down(), local, health);
  const p = policy('open', { windows: [{ name: 'minute', limit: 4, periodSeconds: 60 }], instances: 2 });
  assert.equal((await run([p], d, { identity: {} })).headers.ratelimit, '"minute";r=1;t=30');
  assert.equal((await run([p], d, { identity: {} })).error, undefined);
  assert.equal((await run([p], d, { identity: {} })).error?.code, 'rate_limited', 'the third request passes the share of 2');
  assert.equal((await run([p], d, { identity: { consumer: 'other' } })).error, undefined, 'in the same slots as Redis would use');
  assert.deepEqual(modes, ['open'], 'the outage is logged once, with the mode applied');
});

test('while the shared store is down, any closed policy refuses with 503, and the outage is reported until it ends', async () => {
  const lines: { msg: string; event: string; failureMode?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const health = new StoreHealth(log);
  const sent = await run([policy('open'), policy('strict', { onRedisFailure: 'closed' })], deps(down(), new MemoryStore(), health), { identity: {} });
  assert.equal(sent.error?.code, 'rate_limit_unavailable');
  assert.equal(sent.error?.reason, 'rate-limit store unavailable: connection refused');
  assert.deepEqual(lines.map((l) => [l.event, l.failureMode]), [['ratelimit-store-down', 'closed']]);
  assert.equal(health.status().store, 'down');
  await run([policy('open')], deps(new MemoryStore(), new MemoryStore(), health), { identity: {} });
  assert.deepEqual(health.status(), { ok: true, store: 'up' });
  assert.equal(lines.at(-1)?.event, 'ratelimit-store-up');
});

test('the in-memory store forgets replenished callers past 100,000 keys, and never a caller still limited', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
  const store = new MemoryStore();
  const second = compileWindows([{ name: 's', limit: 1, periodSeconds: 1 }]);
  const hour = compileWindows([{ name: 'h', limit: 1, periodSeconds: 3600 }]);
  assert.equal(store.hit([{ key: 'spent', windows: hour }])[0]!.allowed, true);
  for (let i = 0; i <= 100_000; i++) store.hit([{ key: `k${i}`, windows: second }]);
  t.mock.timers.tick(2_000);
  assert.equal(store.hit([{ key: 'newcomer', windows: second }])[0]!.allowed, true, 'this one sweeps');
  // The bound is what the sweep is for, and the store's map is the only place it shows.
  assert.equal((store as unknown as { tats: Map<string, number> }).tats.size, 2, 'only the spent caller and the newcomer are left');
  assert.equal(store.hit([{ key: 'spent', windows: hour }])[0]!.allowed, false, 'still spent after the sweep');
  assert.equal(store.hit([{ key: 'k1', windows: second }])[0]!.allowed, true);
});

test('edge-wide and per-route policies are compiled once, over memory when there is no Redis', async () => {
  const config = {
    rateLimits: { everyone: { key: 'ip', windows: [{ name: 'm', limit: 1, periodSeconds: 60 }], onRedisFailure: 'open', instances: 1 } },
    edge: { rateLimit: 'everyone' },
  } as unknown as Config;
  const built = buildRateLimits(config, rateLimitStores(config, undefined, silent));
  assert.equal(built.globalPolicy, built.policies.get('everyone'));
  assert.equal(built.limiter.shared, built.limiter.local, 'no Redis: the in-memory store is both');
  assert.equal(built.limiter.prefix, 'gatehouse:');
  assert.equal(buildRateLimits({ rateLimits: {}, edge: {} } as unknown as Config, built.limiter).globalPolicy, undefined);
  assert.equal(buildRateLimits({ rateLimits: {} } as unknown as Config, built.limiter).globalPolicy, undefined, 'a config with no edge section');
  const first = await run([built.globalPolicy!], built.limiter, { ip: '198.51.100.7' });
  assert.equal(first.error, undefined);
  assert.equal((await run([built.globalPolicy!], built.limiter, { ip: '198.51.100.7' })).error?.code, 'rate_limited');
});
