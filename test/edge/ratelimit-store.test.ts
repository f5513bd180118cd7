// The GCRA stores against a real redis-server: exact bursts, several windows
// enforced together, all-or-nothing counting, hash-tagged keys, the same
// answers from the in-memory store; what the Redis store answers field by
// field, and that a Redis error reaches the caller (so the limiter applies the
// policy's failure mode) instead of being read as a decision.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisStore } from '../../edge/ratelimit/redis-store.js';
import { MemoryStore } from '../../edge/ratelimit/memory-store.js';
import { compileWindows, type Hit, type RateLimitStore } from '../../edge/ratelimit/store.js';
import { startRedis, type TestRedis } from '../harness/redis.js';

let redis: TestRedis;
let client: Redis;
let store: RedisStore;

before(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  store = new RedisStore(client);
});

after(async () => {
  client.disconnect();
  await redis.stop();
});

let n = 0;
const hit = (windows: { name: string; limit: number; periodSeconds: number }[]): Hit => ({ key: `t:rl:{k${n++}}`, windows: compileWindows(windows) });

async function admitted(s: RateLimitStore, h: Hit, tries: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < tries; i++) if ((await s.hit([h]))[0]!.allowed) ok++;
  return ok;
}

test('exactly the limit is admitted in a burst, then a refusal says when to retry', async () => {
  const h = hit([{ name: 'minute', limit: 10, periodSeconds: 60 }]);
  assert.equal(await admitted(store, h, 25), 10);
  const [d] = await store.hit([h]);
  assert.equal(d!.allowed, false);
  assert.ok(d!.retryAfterMs > 5_000 && d!.retryAfterMs <= 6_000, `retry after ${d!.retryAfterMs} ms (one request is 6 s of a 10/min budget)`);
  assert.equal(d!.remaining[0], 0);
});

test('every window of a policy is enforced, and a refused request counts against none of them', async () => {
  const h = hit([{ name: 'second', limit: 3, periodSeconds: 1 }, { name: 'minute', limit: 5, periodSeconds: 60 }]);
  assert.equal(await admitted(store, h, 10), 3, 'the per-second window stops the burst');
  await new Promise((r) => setTimeout(r, 1_100));
  assert.equal(await admitted(store, h, 10), 2, 'then the per-minute window, which the refused requests did not drain');
  const [d] = await store.hit([h]);
  assert.equal(d!.remaining[1], 0);
});

test('several policies go in one pipeline and keys share one hash tag per policy and caller', async () => {
  const a = hit([{ name: 'w1', limit: 2, periodSeconds: 60 }, { name: 'w2', limit: 5, periodSeconds: 600 }]);
  const b = hit([{ name: 'w1', limit: 1, periodSeconds: 60 }]);
  const first = await store.hit([a, b]);
  assert.deepEqual(first.map((d) => d.allowed), [true, true]);
  const second = await store.hit([a, b]);
  assert.deepEqual(second.map((d) => d.allowed), [true, false]);
  const keys = await client.keys(`${a.key}*`);
  assert.deepEqual(keys.sort(), [`${a.key}:w1`, `${a.key}:w2`]);
  assert.match(a.key, /\{[^}]+\}$/);
  for (const k of keys) assert.ok((await client.pttl(k)) > 0, 'counters expire once replenished');
});

test('the in-memory store gives the same answers as Redis', async () => {
  const windows = [{ name: 'second', limit: 4, periodSeconds: 1 }, { name: 'minute', limit: 6, periodSeconds: 60 }];
  const memory = new MemoryStore();
  const viaRedis: boolean[] = [];
  const viaMemory: boolean[] = [];
  const hr = hit(windows);
  const hm = hit(windows);
  for (let i = 0; i < 8; i++) {
    viaRedis.push((await store.hit([hr]))[0]!.allowed);
    viaMemory.push(memory.hit([hm])[0]!.allowed);
  }
  assert.deepEqual(viaMemory, viaRedis);
  assert.deepEqual(viaRedis, [true, true, true, true, false, false, false, false]);
});

const twoWindows = () => hit([{ name: 'minute', limit: 10, periodSeconds: 60 }, { name: 'hour', limit: 100, periodSeconds: 3600 }]);

test('an admitted request: what is left in each window and when each is full again', async () => {
  assert.deepEqual(await store.hit([twoWindows()]), [{ allowed: true, retryAfterMs: 0, remaining: [9, 99], resetMs: [6_000, 36_000] }]);
});

test('several policies in one pipeline are answered in order, each with its own windows', async () => {
  const one = hit([{ name: 'second', limit: 1, periodSeconds: 1 }]);
  const [first, second] = await store.hit([twoWindows(), one]);
  assert.deepEqual(first, { allowed: true, retryAfterMs: 0, remaining: [9, 99], resetMs: [6_000, 36_000] });
  assert.deepEqual(second, { allowed: true, retryAfterMs: 0, remaining: [0], resetMs: [1_000] });
  const [, refused] = await store.hit([twoWindows(), one]);
  assert.equal(refused!.allowed, false);
  assert.ok(refused!.retryAfterMs > 900 && refused!.retryAfterMs <= 1_000, String(refused!.retryAfterMs));
  assert.deepEqual(refused!.remaining, [0]);
});

test('a Redis error reaches the caller, alone or in a pipeline', async () => {
  const broken = hit([{ name: 'minute', limit: 10, periodSeconds: 60 }]);
  await client.lpush(`${broken.key}:minute`, 'not a counter');
  await assert.rejects(store.hit([broken]), /WRONGTYPE/);
  await assert.rejects(store.hit([twoWindows(), broken]), /WRONGTYPE/);
});
