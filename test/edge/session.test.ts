// Sessions against a real redis-server: made at login by exchanging a credential,
// stored only by hash, admitted by every edge, ended by logout, revocation, idle
// and absolute expiry and the CLI, refused (fail closed) while Redis is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fastify, { type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { connectRedis } from '../../shared/redis.js';
import { ERRORS } from '../../shared/errors.js';
import type { Identity } from '../../shared/auth-types.js';
import { refused, type AuthMethod } from '../../edge/auth/method.js';
import { SessionStore } from '../../edge/auth/session-store.js';
import { createSessionMethod, sessionEndpoints } from '../../edge/auth/session.js';
import type { SessionAuthConfig } from '../../edge/auth/session-schema.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { repoRoot } from '../harness/binaries.js';
import { freePort, waitFor } from '../harness/ports.js';

const CONFIG: SessionAuthConfig = {
  cookieName: 'gh_session', path: '/', sameSite: 'lax', idleSeconds: 1800, absoluteSeconds: 43200, touchIntervalSeconds: 60,
  loginPath: '/auth/session', logoutPath: '/auth/logout', exchange: ['jwt', 'api-key'],
};
const ALICE: Identity = { consumer: 'alice', method: 'jwt', scopes: ['orders:read'], roles: ['buyer'], claims: { tenant: 't1' }, issuer: 'https://idp.test/' };
const BOB: Identity = { consumer: 'bob', method: 'api-key', scopes: [], roles: [], claims: {} };

// Two small real AuthMethods to exchange: a bearer token and an API-key header.
const credential = (name: 'jwt' | 'api-key', header: string, good: string, identity: Identity): AuthMethod => ({ name, authenticate(request) {
  const given = request.headers[header];
  return given === undefined ? undefined : given === good ? { ok: true, identity } : refused('invalid_token', `bad ${name}`);
} });
const METHODS = new Map([['jwt', credential('jwt', 'authorization', 'Bearer good-token', ALICE)], ['api-key', credential('api-key', 'x-api-key', 'good-key', BOB)]]);

const logLines: string[] = [];
const log = pino({ level: 'info' }, { write: (line: string) => { logLines.push(line); } });
const events = (event: string) => logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === event);
let redis: TestRedis;
let admin: Redis;
const owned: (() => Promise<void>)[] = [];

before(async () => { redis = await startRedis(); admin = new Redis(redis.url); });
after(async () => { for (const close of owned) await close(); admin.disconnect(); await redis.stop(); });

/** One edge: its own Redis connection, session method and a public listener with the endpoints. */
async function edge(config: SessionAuthConfig = CONFIG) {
  const conn = connectRedis({ url: redis.url, keyPrefix: 'gatehouse:', commandTimeoutMs: 2_000, connectTimeoutMs: 500 }, log);
  const store = new SessionStore(conn);
  const method = createSessionMethod(config, store, log);
  const { login, logout } = sessionEndpoints(config, store, METHODS, log);
  const app = fastify({}).post(config.loginPath, login).post(config.logoutPath, logout);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const close = async () => { await app.close(); conn.disconnect(); };
  owned.push(close);
  await waitFor('the edge connection to Redis', () => conn.status === 'ready' || undefined, 5_000);
  return { store, method, base, close };
}

const post = (url: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers });
async function login(base: string, headers: Record<string, string> = { authorization: 'Bearer good-token' }) {
  const res = await post(`${base}/auth/session`, headers);
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, cookie, id: /^gh_session=([A-Za-z0-9_-]{43});/.exec(cookie)?.[1] ?? '' };
}
const withCookie = (cookie: string | undefined) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as FastifyRequest;
const check = async (method: AuthMethod, id: string) => method.authenticate(withCookie(`gh_session=${id}`));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sessionKey = (id: string) => `gatehouse:session:{${sha256(id)}}`;
const GONE = { ok: false, code: 'invalid_token', reason: 'unknown, expired or revoked session' };

const CLI = resolve(repoRoot(), 'dist/edge/auth/sessions-cli.js');
const cli = (args: string[], url = redis.url) => new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
  execFile(process.execPath, [CLI, ...args], { env: { ...process.env, GATEHOUSE_REDIS_URL: url }, timeout: 10_000 },
    (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
});

test('login with a valid credential answers 201 with an HttpOnly, Secure, SameSite cookie; Redis holds only the hash', async () => {
  const { base } = await edge();
  const { res, cookie, id } = await login(base);
  assert.equal(res.status, 201);
  assert.equal(cookie, `gh_session=${id}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=43200`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = await res.json() as { consumer: string; expiresAt: string };
  assert.equal(body.consumer, 'alice');
  assert.ok(Math.abs(Date.parse(body.expiresAt) - (Date.now() + 43_200_000)) < 5_000, body.expiresAt);
  const { identity, createdAt, ...stored } = await admin.hgetall(sessionKey(id));
  assert.deepEqual([JSON.parse(identity!), stored], [ALICE, { lastSeenAt: createdAt, absoluteExpiresAt: String(Number(createdAt) + 43_200_000), idleSeconds: '1800' }]);
  const ttl = await admin.pttl(sessionKey(id));
  assert.ok(ttl > 1_790_000 && ttl <= 1_800_000, `the key lives for the idle timeout, found ${ttl} ms`);
  assert.ok((await admin.zrange('gatehouse:sessions-of:{alice}', 0, -1)).includes(sha256(id)));
  assert.ok((await admin.pttl('gatehouse:sessions-of:{alice}')) > 43_190_000, 'the index outlives the session');
  for (const key of await admin.keys('*')) {
    const type = await admin.type(key);
    const values = type === 'hash' ? Object.entries(await admin.hgetall(key)).flat() : type === 'zset' ? await admin.zrange(key, 0, -1) : [];
    assert.ok(![key, ...values].some((v) => v.includes(id)), `${key} holds the session id`);
  }
  assert.ok(events('session-login').some((l) => l.consumer === 'alice' && typeof l.requestId === 'string'));
  assert.ok(!logLines.some((l) => l.includes(id) || l.includes('good-token')), 'the log never holds the id or the credential');
});

test('the cookie is admitted as method session with the credential\'s identity, on this edge, another, and after a restart', async () => {
  const [a, b] = [await edge(), await edge()];
  const { id } = await login(a.base);
  const identity = { ...ALICE, method: 'session', claims: { tenant: 't1', via: 'jwt' } };
  assert.deepEqual(await check(a.method, id), { ok: true, identity });
  assert.deepEqual(await check(b.method, id), { ok: true, identity });
  await a.close();
  assert.deepEqual(await check((await edge()).method, id), { ok: true, identity }, 'an edge built from scratch');
});

test('the session cookie is found among others with any spacing; absent or malformed ones cost no Redis round trip', async () => {
  const { method, store } = await edge();
  const { id } = await store.create(BOB, { idleSeconds: 60, absoluteSeconds: 60 });
  for (const header of [`gh_session=${id}`, `a=1;gh_session=${id}`, `theme=dark ;  gh_session=${id} ; b=2`, `junk; gh_session=; gh_session="${id}"`]) {
    assert.equal((await method.authenticate(withCookie(header)))?.ok, true, header);
  }
  for (const header of [undefined, '', 'a=1; b=2', `xgh_session=${id}`, `gh_session_old=${id}`, 'gh_session=', `gh_session ${id}`]) {
    assert.equal(method.authenticate(withCookie(header)), undefined, String(header));
  }
  for (const header of ['gh_session=short', `gh_session=${id}x`, `gh_session=${id.slice(1)}!`]) {
    assert.deepEqual(method.authenticate(withCookie(header)), { ok: false, code: 'invalid_token', reason: 'malformed session id' });
  }
  assert.deepEqual(await check(method, 'A'.repeat(43)), GONE);
});

test('logout revokes the session on every edge at once and clears the cookie with the same attributes', async () => {
  const config: SessionAuthConfig = { ...CONFIG, sameSite: 'strict', path: '/app', domain: 'example.test' };
  const a = await edge(config);
  const b = await edge(config);
  const { id, cookie } = await login(a.base);
  assert.equal(cookie, `gh_session=${id}; Path=/app; HttpOnly; Secure; SameSite=Strict; Domain=example.test; Max-Age=43200`);
  assert.equal((await check(b.method, id))?.ok, true);
  const res = await post(`${b.base}/auth/logout`, { cookie: `other=1; gh_session=${id}` });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('set-cookie'), 'gh_session=; Path=/app; HttpOnly; Secure; SameSite=Strict; Domain=example.test; Max-Age=0');
  assert.deepEqual(await check(a.method, id), GONE);
  assert.deepEqual(await check(b.method, id), GONE);
  assert.equal(await admin.exists(sessionKey(id)), 0);
  assert.ok(!(await admin.zrange('gatehouse:sessions-of:{alice}', 0, -1)).includes(sha256(id)));
  assert.ok(events('session-logout').some((l) => l.consumer === 'alice'));
  assert.equal((await post(`${a.base}/auth/logout`)).status, 204, 'logout without a session still clears the cookie');
});

test('stored idle and absolute expiries are enforced even while the key lingers in Redis', async () => {
  const { method, store } = await edge();
  const idle = await store.create(ALICE, { idleSeconds: 60, absoluteSeconds: 120 });
  await admin.hset(sessionKey(idle.id), 'lastSeenAt', Date.now() - 61_000);
  const old = await store.create(ALICE, { idleSeconds: 60, absoluteSeconds: 120 });
  await admin.hset(sessionKey(old.id), 'absoluteExpiresAt', Date.now() - 1);
  for (const { id } of [idle, old]) {
    assert.equal(await admin.exists(sessionKey(id)), 1);
    assert.deepEqual(await check(method, id), GONE);
  }
});

test('an unused session idles out; use extends it at most once per touch interval, never past the absolute expiry', async () => {
  const config = { ...CONFIG, idleSeconds: 2, absoluteSeconds: 3, touchIntervalSeconds: 1 };
  const { method, store } = await edge(config);
  const [{ id, expiresAt }, unused] = [await store.create(ALICE, config), await store.create(ALICE, config)];
  const lastSeen = async () => Number(await admin.hget(sessionKey(id), 'lastSeenAt'));
  const created = await lastSeen();
  assert.equal((await check(method, id))?.ok, true);
  await sleep(50);
  assert.equal(await lastSeen(), created, 'no write within the touch interval');
  for (const _ of [1, 2]) {
    await sleep(1_200);
    const before = await lastSeen();
    // At the second round the original 2 s idle expiry has passed: only the touch keeps the session.
    assert.equal((await check(method, id))?.ok, true);
    await waitFor('the touch to land', async () => (await lastSeen()) > before || undefined, 1_000, 10);
    const ttl = await admin.pttl(sessionKey(id));
    assert.ok(ttl <= Math.min(2_000, expiresAt - Date.now() + 50), `TTL ${ttl} ms must not pass the idle or absolute expiry`);
  }
  assert.deepEqual(await check(method, unused.id), GONE, 'idle for over 2 s');
  assert.equal(await admin.exists(sessionKey(unused.id)), 0, 'and Redis expired its key');
  await sleep(expiresAt - Date.now() + 50);
  assert.deepEqual(await check(method, id), GONE);
});

test('login without a credential answers 401 with a bare challenge; a refused credential stops the exchange', async () => {
  const { base } = await edge();
  const none = await login(base, {});
  assert.equal(none.res.status, 401);
  assert.equal(none.res.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
  const body = await none.res.json() as Record<string, unknown>;
  assert.deepEqual(body, { error: 'unauthorized', message: ERRORS.unauthorized.message, requestId: body.requestId });
  assert.equal(none.cookie, '');
  const bad = await login(base, { authorization: 'Bearer forged', 'x-api-key': 'good-key' });
  assert.equal(bad.res.status, 401);
  assert.equal(bad.res.headers.get('www-authenticate'), 'Bearer realm="gatehouse", error="invalid_token"');
  assert.equal(bad.cookie, '');
  const next = await login(base, { 'x-api-key': 'good-key' });
  assert.equal(next.res.status, 201, 'with no bearer token the next method decides');
  assert.equal((await next.res.json() as { consumer: string }).consumer, 'bob');
});

test('the CLI revokes every session of a consumer and no other, and one session by id without printing it', async () => {
  const { method, store } = await edge();
  const lifetime = { idleSeconds: 60, absoluteSeconds: 60 };
  const carol = await Promise.all([1, 2, 3].map(() => store.create({ ...BOB, consumer: 'carol' }, lifetime)));
  const dave = await store.create({ ...BOB, consumer: 'dave' }, lifetime);
  const all = await cli(['revoke-consumer', 'carol']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Revoked 3 sessions of consumer carol/);
  for (const { id } of carol) assert.deepEqual(await check(method, id), GONE);
  assert.equal((await check(method, dave.id))?.ok, true);
  assert.equal(await store.revokeConsumer('carol'), 0, 'nothing left to revoke');
  const { id } = await store.create(BOB, lifetime);
  const one = await cli(['revoke', id]);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(!one.stdout.includes(id));
  assert.deepEqual(await check(method, id), GONE);
  assert.equal((await cli(['revoke', id])).code, 1, 'a session already gone');
  const dashed = `-${id.slice(1)}`; // one session id in 64 starts with '-': never taken for an option
  const unknown = await cli(['revoke', dashed]);
  assert.equal(unknown.code, 1, unknown.stderr);
});

test('bad CLI usage exits 2 with the usage; an unreachable Redis is one line and exit 1', async () => {
  for (const args of [[], ['list'], ['revoke'], ['revoke', 'short'], ['revoke-consumer', 'a', 'b'], ['revoke-consumer', 'a', '--bogus'], ['revoke-consumer', 'a', '--redis', 'http://x']]) {
    const run = await cli(args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /usage:/);
  }
  const run = await cli(['revoke-consumer', 'a'], `redis://:secret@127.0.0.1:${await freePort()}`);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^sessions-cli: cannot reach Redis at [^\n]+\n$/);
  assert.ok(!run.stderr.includes('secret'), 'the Redis password is masked');
});

// Last: it stops the shared redis-server.
test('with Redis stopped, sessions are refused within a second without throwing, and login and logout answer 503', async () => {
  const { method, base } = await edge();
  const { id } = await login(base);
  await redis.stop();
  logLines.length = 0;
  const started = Date.now();
  for (let i = 0; i < 5; i++) {
    const outcome = await check(method, id);
    assert.ok(outcome?.ok === false && /^session store unavailable: /.test(outcome.reason), JSON.stringify(outcome));
  }
  assert.ok(Date.now() - started < 1_000, `answered after ${Date.now() - started} ms`);
  assert.equal(events('session-store-down').length, 1, 'warned once, not per request');
  for (const res of [await post(`${base}/auth/session`, { authorization: 'Bearer good-token' }), await post(`${base}/auth/logout`, { cookie: `gh_session=${id}` })]) {
    assert.equal(res.status, 503);
    const body = await res.json() as Record<string, unknown>;
    assert.deepEqual(body, { error: 'session_store_unavailable', message: body.message, requestId: body.requestId });
    assert.equal(res.headers.get('set-cookie'), null, 'a failed logout keeps the cookie so the client can retry');
  }
  assert.ok(Date.now() - started < 2_000);
});
