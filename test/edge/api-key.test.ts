// API keys against a real redis-server: stored only as hashes, admitted or refused
// by the api-key method, revoked on every edge within a second, managed by the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { connectRedis } from '../../shared/redis.js';
import { ApiKeyStore } from '../../edge/auth/api-key-store.js';
import { createApiKeyMethod } from '../../edge/auth/api-key.js';
import type { ApiKeyAuthConfig } from '../../edge/auth/api-key-schema.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { repoRoot } from '../harness/binaries.js';
import { freePort, waitFor } from '../harness/ports.js';

const log = pino({ level: 'silent' });
const CHANNEL = 'gatehouse:apikey-revoked';
let redis: TestRedis;
let admin: Redis;
const owned: { close(): void }[] = [];

before(async () => { redis = await startRedis(); admin = new Redis(redis.url); });

after(async () => {
  for (const o of owned) o.close();
  admin.disconnect();
  await redis.stop();
});

/** One edge instance: its own request-path and subscriber connections, as in production. */
async function edge(config: Partial<ApiKeyAuthConfig> = {}) {
  const settings = { url: redis.url, keyPrefix: 'gatehouse:', commandTimeoutMs: 2_000, connectTimeoutMs: 500 };
  const conn = connectRedis(settings, log) as Redis;
  const sub = connectRedis(settings, log) as Redis;
  const store = new ApiKeyStore(conn);
  const method = createApiKeyMethod({ header: 'x-api-key', cacheMs: 500, ...config }, store, sub, log);
  owned.push({ close: () => { method.close(); conn.disconnect(); sub.disconnect(); } });
  const subscribed = async () => ((await admin.pubsub('NUMSUB', CHANNEL)) as [string, number])[1] >= owned.length || undefined;
  await waitFor('the edge to subscribe to revocations', subscribed, 5_000);
  return { store, method };
}

// The method reads only the headers and the raw URL of a request.
const req = (headers: Record<string, string>, url = '/orders') => ({ headers, url }) as unknown as FastifyRequest;
const withKey = (key: string) => req({ 'x-api-key': key });

const CLI = resolve(repoRoot(), 'dist/edge/auth/keys-cli.js');
const cli = (args: string[], url = redis.url) => new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
  execFile(process.execPath, [CLI, ...args], { env: { ...process.env, GATEHOUSE_REDIS_URL: url }, timeout: 10_000 },
    (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
});

test('a created key is found by lookup, and Redis holds only its SHA-256 hash', async () => {
  const store = new ApiKeyStore(admin);
  const { key, record } = await store.create({ consumer: 'acme', scopes: ['orders:read'], labels: { team: 'billing' } });
  assert.match(key, /^gh_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(await store.lookup(key), record);
  assert.equal(await store.lookup(`${key}x`), undefined);
  const hash = createHash('sha256').update(key).digest('hex');
  assert.equal(record.id, hash.slice(0, 12));
  assert.deepEqual(await admin.hgetall(`gatehouse:apikey:{${hash}}`), {
    id: record.id, consumer: 'acme', scopes: 'orders:read', labels: '{"team":"billing"}', status: 'active', createdAt: record.createdAt,
  });
  for (const k of await admin.keys('*')) {
    const values = (await admin.type(k)) === 'hash' ? Object.entries(await admin.hgetall(k)).flat() : [];
    assert.ok(![k, ...values].some((v) => v.includes(key)), `${k} holds the key`);
  }
});

test('list shows the records of a consumer and never a key', async () => {
  const store = new ApiKeyStore(admin);
  const a = await store.create({ consumer: 'list-a', scopes: ['x'] });
  const b = await store.create({ consumer: 'list-b', scopes: ['y'] });
  assert.deepEqual(await store.list('list-a'), [a.record]);
  const all = JSON.stringify(await store.list());
  assert.ok(all.includes(a.record.id) && all.includes(b.record.id));
  assert.ok(!all.includes(a.key) && !all.includes(b.key) && !all.includes('"key"'));
});

test('an active key in the header is admitted with its consumer, scopes and labels', async () => {
  const { store, method } = await edge();
  const { key, record } = await store.create({ consumer: 'acme', scopes: ['orders:read', 'orders:write'], labels: { team: 'billing' } });
  const identity = { consumer: 'acme', method: 'api-key', scopes: ['orders:read', 'orders:write'], roles: [], claims: { keyId: record.id, labels: { team: 'billing' } } };
  assert.deepEqual(await method.authenticate(withKey(key)), { ok: true, identity });
  assert.equal(method.authenticate(req({})), undefined, 'no key: the next method may try');
});

test('an unknown key is refused as invalid_token', async () => {
  const { method } = await edge();
  assert.deepEqual(await method.authenticate(withKey(`gh_${'A'.repeat(43)}`)), { ok: false, code: 'invalid_token', reason: 'unknown api key' });
});

test('a key with surrounding whitespace or of implausible length is refused without a Redis round trip', async () => {
  const { store, method } = await edge();
  const { key } = await store.create({ consumer: 'acme', scopes: ['x'] });
  for (const bad of [`${key} `, ` ${key}`, `${key}\t`, '', `gh_${'a'.repeat(300)}`]) {
    const outcome = method.authenticate(withKey(bad));
    assert.ok(!(outcome instanceof Promise), 'answered without asking Redis');
    assert.deepEqual(outcome, { ok: false, code: 'invalid_token', reason: 'malformed api key' });
  }
});

test('the query parameter is ignored unless configured; the header wins when both are given', async () => {
  const plain = await edge();
  const { key } = await plain.store.create({ consumer: 'acme', scopes: ['x'] });
  assert.equal(plain.method.authenticate(req({}, `/orders?api_key=${key}`)), undefined);
  const { method } = await edge({ queryParam: 'api_key' });
  assert.equal((await method.authenticate(req({}, `/orders?a=1&api_key=${key}`)))?.ok, true);
  const reason = async (headers: Record<string, string>, url: string) => {
    const o = await method.authenticate(req(headers, url));
    return o?.ok === false ? o.reason : o?.ok;
  };
  assert.equal(await reason({ 'x-api-key': 'gh_other' }, `/orders?api_key=${key}`), 'unknown api key');
  assert.equal(await reason({}, `/orders?api_key=${key}%20`), 'malformed api key');
  assert.equal(await reason({}, `/orders?api_key=${key}&api_key=${key}`), 'malformed api key');
});

test('a cached answer, valid or not, is returned synchronously', async () => {
  const { store, method } = await edge();
  const { key } = await store.create({ consumer: 'acme', scopes: ['x'] });
  for (const k of [key, 'gh_unknown']) {
    const first = method.authenticate(withKey(k));
    assert.ok(first instanceof Promise, 'the first lookup asks Redis');
    const answer = await first;
    const second = method.authenticate(withKey(k));
    assert.ok(!(second instanceof Promise), 'the second is answered from the cache');
    assert.deepEqual(second, answer);
  }
});

test('a revoked key is refused by another edge instance within 1 second, by message before its cache expires', async () => {
  const a = await edge();
  const b = await edge({ cacheMs: 1000 });
  const { key, record } = await a.store.create({ consumer: 'acme', scopes: ['x'] });
  assert.equal((await b.method.authenticate(withKey(key)))?.ok, true);
  const cached = b.method.authenticate(withKey(key));
  assert.ok(!(cached instanceof Promise) && cached?.ok, 'edge B holds the key as valid in its cache');
  const revokedAt = Date.now();
  assert.equal(await a.store.revoke(record.id), true);
  const outcome = await waitFor('edge B to refuse the revoked key', async () => {
    const o = await b.method.authenticate(withKey(key));
    return o?.ok === false ? o : undefined;
  }, 1_000, 5);
  const elapsed = Date.now() - revokedAt;
  assert.deepEqual(outcome, { ok: false, code: 'invalid_token', reason: 'revoked api key', consumer: 'acme' });
  assert.ok(elapsed < 500, `refused after ${elapsed} ms; the message should beat the 1000 ms cache`);
});

test('the CLI creates a key the edge admits, lists it without the key and revokes it by id', async () => {
  const { method } = await edge();
  const created = await cli(['create', '--consumer', 'cli-co', '--scopes', 'orders:read,orders:write', '--label', 'team=billing']);
  assert.equal(created.code, 0, created.stderr);
  const [, id, key] = /API key ([0-9a-f]{12})[^]*\s(gh_[A-Za-z0-9_-]{43})\s[^]*only time the key is shown/.exec(created.stdout) ?? [];
  assert.ok(key && id, created.stdout);
  const outcome = await method.authenticate(withKey(key));
  assert.ok(outcome?.ok && outcome.identity.consumer === 'cli-co');
  assert.deepEqual(outcome.identity.claims, { keyId: id, labels: { team: 'billing' } });
  const table = await cli(['list', '--consumer', 'cli-co']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`^${id}\\s+cli-co\\s+orders:read,orders:write\\s+active\\s`, 'm'));
  const json = await cli(['list', '--json']);
  assert.ok(JSON.parse(json.stdout).some((r: { id: string }) => r.id === id));
  assert.ok(!table.stdout.includes(key) && !json.stdout.includes(key), 'a listing never shows the key');
  assert.equal((await cli(['revoke', id])).code, 0);
  assert.match((await cli(['list', '--consumer', 'cli-co'])).stdout, /\srevoked\s/);
  assert.equal((await cli(['revoke', 'ffffffffffff'])).code, 1);
});

test('bad CLI usage prints the usage to stderr and exits 2', async () => {
  const bad = [[], ['toString'], ['create', '--consumer', 'acme'], ['list', '--label', 'a=b'], ['revoke'], ['list', '--bogus'], ['list', '--redis', 'http://x']];
  for (const args of bad) {
    const run = await cli(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /usage:/);
    assert.equal(run.stdout, '');
  }
});

test('the CLI reports an unreachable Redis in one line and exits 1', async () => {
  const run = await cli(['list'], `redis://:secret@127.0.0.1:${await freePort()}`);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^keys-cli: cannot reach Redis at [^\n]+\n$/, 'one line');
  assert.ok(!run.stderr.includes('secret'), 'the Redis password is masked');
});

// Last: it stops the shared redis-server.
test('with Redis stopped, a key is refused (fail closed) within a second and nothing throws', async () => {
  const { store, method } = await edge();
  const { key } = await store.create({ consumer: 'acme', scopes: ['x'] });
  await redis.stop();
  const started = Date.now();
  const outcome = await method.authenticate(withKey(key));
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 1_000, `answered after ${elapsed} ms`);
  assert.ok(outcome?.ok === false && outcome.code === 'invalid_token', JSON.stringify(outcome));
  assert.match(outcome.reason, /^api key store unavailable: /);
});
