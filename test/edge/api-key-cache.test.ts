// The api-key method over a stand-in store and subscriber, where time and
// failures can be arranged: how long an answer is cached, what a revocation
// message or a reconnection forgets, how the cache stays bounded, how an
// outage is logged, and where a key may come from. Redis itself is in
// api-key.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { createApiKeyMethod } from '../../edge/auth/api-key.js';
import type { ApiKeyAuthConfig } from '../../edge/auth/api-key-schema.js';
import { hashApiKey, type ApiKeyRecord, type ApiKeyStore } from '../../edge/auth/api-key-store.js';
import { parseConfig } from '../../config/load.js';

const CHANNEL = 'gh:apikey-revoked';
const T0 = 1_700_000_000_000;
const record = (consumer = 'acme'): ApiKeyRecord => ({ id: 'abc123abc123', consumer, scopes: ['orders:read'], labels: { team: 'billing' }, status: 'active', createdAt: '2024-01-01T00:00:00.000Z' });

/** A store whose answers the test decides, counting lookups; and a subscriber that is only an event emitter. */
function standIns(answer: (hash: string) => Promise<ApiKeyRecord | undefined> = async () => record(), status = 'ready') {
  const lookups: string[] = [];
  const store = { revokedChannel: CHANNEL, lookupHash: (hash: string) => { lookups.push(hash); return answer(hash); } } as unknown as ApiKeyStore;
  const subscriber = Object.assign(new EventEmitter(), {
    status,
    subscribed: [] as string[],
    unsubscribed: [] as string[],
    subscribeError: undefined as Error | undefined,
    subscribe(channel: string) { this.subscribed.push(channel); return this.subscribeError ? Promise.reject(this.subscribeError) : Promise.resolve(1); },
    unsubscribe(channel: string) { this.unsubscribed.push(channel); return Promise.resolve(0); },
  });
  const lines: { level: number; event: string; msg: string; err: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { store, subscriber, lookups, lines, log };
}
type StandIns = ReturnType<typeof standIns>;

function method(s: StandIns, config: Partial<ApiKeyAuthConfig> = {}) {
  return createApiKeyMethod({ header: 'x-api-key', cacheMs: 500, ...config }, s.store, s.subscriber as unknown as Redis, s.log);
}
const req = (headers: Record<string, string>, url = '/orders') => ({ headers, url }) as unknown as FastifyRequest;
const withKey = (key: string) => req({ 'x-api-key': key });

test('an answer is cached for cacheMs, then looked up again', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const s = standIns();
  const m = method(s);
  assert.equal(m.name, 'api-key');
  assert.equal((await m.authenticate(withKey('gh_key')))?.ok, true);
  t.mock.timers.setTime(T0 + 499);
  const cached = m.authenticate(withKey('gh_key'));
  assert.ok(!(cached instanceof Promise) && cached?.ok);
  t.mock.timers.setTime(T0 + 500);
  assert.ok(m.authenticate(withKey('gh_key')) instanceof Promise, 'expired: asked again');
  assert.deepEqual(s.lookups, [hashApiKey('gh_key'), hashApiKey('gh_key')], 'looked up by hash, never by key');
});

test('cacheMs 0 caches nothing', async () => {
  const s = standIns();
  const m = method(s, { cacheMs: 0 });
  await m.authenticate(withKey('gh_key'));
  assert.ok(m.authenticate(withKey('gh_key')) instanceof Promise);
});

test('a revocation message forgets that key at once, and only that key; other channels are ignored', async () => {
  const s = standIns();
  const m = method(s);
  await m.authenticate(withKey('gh_a'));
  await m.authenticate(withKey('gh_b'));
  s.subscriber.emit('message', 'some-other-channel', hashApiKey('gh_a'));
  assert.ok(!(m.authenticate(withKey('gh_a')) instanceof Promise), 'a message on another channel changes nothing');
  s.subscriber.emit('message', CHANNEL, hashApiKey('gh_a'));
  assert.ok(m.authenticate(withKey('gh_a')) instanceof Promise, 'revoked: asked again');
  assert.ok(!(m.authenticate(withKey('gh_b')) instanceof Promise), 'another key stays cached');
});

test('a lookup in flight across a revocation is answered but not cached', async () => {
  let release!: (r: ApiKeyRecord) => void;
  const s = standIns(() => new Promise((r) => { release = r; }));
  const m = method(s);
  const pending = m.authenticate(withKey('gh_a'));
  s.subscriber.emit('message', CHANNEL, hashApiKey('gh_other'));
  release(record());
  assert.equal((await pending)?.ok, true);
  assert.ok(m.authenticate(withKey('gh_a')) instanceof Promise, 'the answer may predate the revocation: not cached');
});

test('it subscribes when the connection is ready, now or later, and forgets everything on each reconnection', async () => {
  const ready = standIns();
  method(ready);
  assert.deepEqual(ready.subscriber.subscribed, [CHANNEL]);
  const later = standIns(async () => record(), 'connecting');
  const m = method(later);
  assert.deepEqual(later.subscriber.subscribed, []);
  later.subscriber.emit('ready');
  assert.deepEqual(later.subscriber.subscribed, [CHANNEL]);
  await m.authenticate(withKey('gh_a'));
  later.subscriber.emit('ready');
  assert.deepEqual(later.subscriber.subscribed, [CHANNEL, CHANNEL]);
  assert.ok(m.authenticate(withKey('gh_a')) instanceof Promise, 'messages may have been missed while it was down: the cache is cleared');
});

test('a failed subscription is logged', async () => {
  const s = standIns();
  s.subscriber.subscribeError = new Error('NOPERM');
  method(s);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(s.lines.map((l) => [l.event, l.err, l.msg]), [['api-key-store-down', 'subscribe failed: NOPERM', 'API key store unavailable; refusing API keys']]);
});

test('close stops listening, unsubscribes and forgets the cache', async () => {
  const s = standIns();
  const m = method(s);
  await m.authenticate(withKey('gh_a'));
  m.close();
  assert.equal(s.subscriber.listenerCount('message'), 0);
  assert.equal(s.subscriber.listenerCount('ready'), 0);
  assert.deepEqual(s.subscriber.unsubscribed, [CHANNEL]);
  assert.ok(m.authenticate(withKey('gh_a')) instanceof Promise);
});

test('the cache holds at most 10,000 keys, dropping the oldest first', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const s = standIns();
  const m = method(s);
  for (let i = 0; i <= 10_000; i++) await m.authenticate(withKey(`gh_${i}`));
  assert.ok(m.authenticate(withKey('gh_0')) instanceof Promise, 'the oldest was dropped');
  assert.ok(!(m.authenticate(withKey('gh_2')) instanceof Promise), 'the rest are kept');
  assert.ok(!(m.authenticate(withKey('gh_10000')) instanceof Promise));
});

test('while the store fails, every key is refused, nothing is cached, and the outage is logged once per 10 s', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: T0 });
  const s = standIns(() => Promise.reject(new Error('connection refused')));
  const m = method(s);
  assert.deepEqual(await m.authenticate(withKey('gh_a')), { ok: false, code: 'invalid_token', reason: 'api key store unavailable: connection refused' });
  assert.ok(m.authenticate(withKey('gh_a')) instanceof Promise, 'a failure is not cached');
  t.mock.timers.setTime(T0 + 9_999);
  await m.authenticate(withKey('gh_b'));
  assert.equal(s.lines.length, 1);
  assert.deepEqual([s.lines[0]!.level, s.lines[0]!.event, s.lines[0]!.err, s.lines[0]!.msg], [40, 'api-key-store-down', 'connection refused', 'API key store unavailable; refusing API keys']);
  t.mock.timers.setTime(T0 + 10_000);
  await m.authenticate(withKey('gh_c'));
  assert.equal(s.lines.length, 2);
});

test('the query parameter is read only when configured, and only from the query', async () => {
  const s = standIns();
  const plain = method(s);
  assert.equal(plain.authenticate(req({}, '/orders?undefined=gh_a')), undefined);
  const byQuery = method(s, { queryParam: 'api_key' });
  assert.equal(byQuery.authenticate(req({}, '/orders&api_key=gh_a')), undefined, 'no question mark, no query');
  assert.equal(byQuery.authenticate(req({}, '/orders')), undefined);
  assert.equal((await byQuery.authenticate(req({}, '?api_key=gh_a')))?.ok, true);
  assert.equal((await byQuery.authenticate(req({}, '/orders?x=1&api_key=gh_a')))?.ok, true);
});

test('a revoked or unknown record is refused, and an admitted identity is frozen', async () => {
  const answers: Record<string, ApiKeyRecord | undefined> = { [hashApiKey('gh_revoked')]: { ...record('initech'), status: 'revoked' }, [hashApiKey('gh_good')]: record() };
  const s = standIns(async (hash) => answers[hash]);
  const m = method(s);
  assert.deepEqual(await m.authenticate(withKey('gh_revoked')), { ok: false, code: 'invalid_token', reason: 'revoked api key', consumer: 'initech' });
  assert.deepEqual(await m.authenticate(withKey('gh_unknown')), { ok: false, code: 'invalid_token', reason: 'unknown api key' });
  const good = await m.authenticate(withKey('gh_good'));
  assert.ok(good?.ok);
  assert.ok(Object.isFrozen(good.identity) && Object.isFrozen(good.identity.scopes) && Object.isFrozen(good.identity.claims));
});

test('config: header x-api-key by default, lower-case names only, a non-empty query parameter, cacheMs 0 to 1000 (500 by default)', () => {
  const load = (apiKey: unknown) => parseConfig(JSON.stringify({ router: { listen: { port: 1 }, admin: { port: 2 } }, identity: { keys: [{ id: 'k', secret: 'x'.repeat(32) }] }, redis: { url: 'redis://127.0.0.1:6379' }, auth: { apiKey } }), 'api-key-test.yaml').auth.apiKey!;
  assert.deepEqual(load({}), { header: 'x-api-key', cacheMs: 500 });
  assert.deepEqual(load({ header: 'x-key-2', queryParam: 'k', cacheMs: 1000 }), { header: 'x-key-2', queryParam: 'k', cacheMs: 1000 });
  assert.equal(load({ cacheMs: 0 }).cacheMs, 0);
  for (const bad of [{ header: 'X-Key' }, { header: 'x_key' }, { queryParam: '' }, { cacheMs: 1001 }, { cacheMs: -1 }, { cacheMs: 1.5 }, { extra: true }]) {
    assert.throws(() => load(bad), Error, JSON.stringify(bad));
  }
});
