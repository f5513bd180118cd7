// What the Redis store answers, field by field, for one policy and for several
// in one pipeline, and that a Redis error reaches the caller (so the limiter
// applies the policy's failure mode) instead of being read as a decision.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisStore } from '../../edge/ratelimit/redis-store.js';
import { compileWindows, type Hit } from '../../edge/ratelimit/store.js';
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
const hit = (windows: { name: string; limit: number; periodSeconds: number }[]): Hit => ({ key: `t:rl:{d${n++}}`, windows: compileWindows(windows) });
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
