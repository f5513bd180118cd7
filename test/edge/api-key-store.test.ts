// The API-key store against a real redis-server, on records written by hand
// where needed: what it refuses to create, where it writes, the order of a
// listing, what revoke does to a damaged index, and how a damaged record reads
// (never as an active key).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ApiKeyStore, hashApiKey } from '../../edge/auth/api-key-store.js';
import { startRedis, type TestRedis } from '../harness/redis.js';

let redis: TestRedis;
let admin: Redis;

before(async () => { redis = await startRedis(); admin = new Redis(redis.url); });
after(async () => { admin.disconnect(); await redis.stop(); });

let n = 0;
/** A fresh prefix per test, so listings see only that test's records. */
const fresh = () => `t${n++}:`;

/** Writes a record and its index entry by hand, as a damaged or older store might hold them. */
async function plant(prefix: string, key: string, fields: Record<string, string>): Promise<string> {
  const hash = hashApiKey(key);
  if (fields.id !== undefined) await admin.hset(`${prefix}apikey-ids`, fields.id, hash);
  if (Object.keys(fields).length > 0) await admin.hset(`${prefix}apikey:{${hash}}`, fields);
  return hash;
}
const full = (over: Record<string, string> = {}) => ({ id: 'aaaaaaaaaaaa', consumer: 'acme', scopes: 'a b', labels: '{"team":"x"}', status: 'active', createdAt: '2024-01-01T00:00:00.000Z', ...over });

test('a consumer or scope that is empty or holds whitespace is refused, and nothing is written', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  for (const consumer of ['', 'a b', ' acme', 'acme ', 'ac\tme']) {
    await assert.rejects(store.create({ consumer, scopes: [] }), /^Error: consumer must be a non-empty name without whitespace$/, JSON.stringify(consumer));
  }
  await assert.rejects(store.create({ consumer: 'acme', scopes: ['ok', 'bad scope'] }), /^Error: scope "bad scope" must be non-empty and without whitespace$/);
  await assert.rejects(store.create({ consumer: 'acme', scopes: [''] }), /^Error: scope "" must be non-empty/);
  assert.deepEqual(await admin.keys(`${prefix}*`), []);
});

test('records and the id index live under the prefix', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  assert.equal(store.revokedChannel, `${prefix}apikey-revoked`);
  const { key, record } = await store.create({ consumer: 'acme', scopes: [] });
  const hash = hashApiKey(key);
  assert.deepEqual(await admin.hgetall(`${prefix}apikey-ids`), { [record.id]: hash });
  assert.deepEqual((await admin.keys(`${prefix}*`)).sort(), [`${prefix}apikey-ids`, `${prefix}apikey:{${hash}}`].sort());
  assert.deepEqual((await store.lookup(key))?.scopes, [], 'no scopes reads back as none, not one empty scope');
});

test('a listing is ordered by creation time, then by id', async () => {
  const prefix = fresh();
  await plant(prefix, 'k1', full({ id: 'cccccccccccc', createdAt: '2024-03-01T00:00:00.000Z' }));
  await plant(prefix, 'k2', full({ id: 'bbbbbbbbbbbb', createdAt: '2024-01-01T00:00:00.000Z' }));
  await plant(prefix, 'k3', full({ id: 'aaaaaaaaaaaa', createdAt: '2024-01-01T00:00:00.000Z' }));
  await plant(prefix, 'k4', full({ id: 'dddddddddddd', createdAt: '2024-02-01T00:00:00.000Z' }));
  assert.deepEqual((await new ApiKeyStore(admin, prefix).list()).map((r) => r.id), ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'dddddddddddd', 'cccccccccccc']);
});

test('a listing fails loudly on a record Redis cannot read as a hash', async () => {
  const prefix = fresh();
  await admin.hset(`${prefix}apikey-ids`, 'eeeeeeeeeeee', 'h1');
  await admin.set(`${prefix}apikey:{h1}`, 'not a hash');
  await assert.rejects(new ApiKeyStore(admin, prefix).list(), /WRONGTYPE/);
});

test('revoke answers false for an unknown id, and for an indexed id whose record is gone, writing nothing', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  assert.equal(await store.revoke('ffffffffffff'), false);
  await admin.hset(`${prefix}apikey-ids`, 'eeeeeeeeeeee', 'gone');
  assert.equal(await store.revoke('eeeeeeeeeeee'), false);
  assert.equal(await admin.exists(`${prefix}apikey:{gone}`), 0, 'no half record is made');
});

test('revoke marks the record revoked in Redis and tells every edge the hash', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  const { key, record } = await store.create({ consumer: 'acme', scopes: ['x'] });
  const listener = new Redis(redis.url);
  const heard: string[] = [];
  listener.on('message', (_channel: string, message: string) => heard.push(message));
  await listener.subscribe(store.revokedChannel);
  try {
    assert.equal(await store.revoke(record.id), true);
    assert.equal(await admin.hget(`${prefix}apikey:{${hashApiKey(key)}}`, 'status'), 'revoked');
    assert.equal((await store.lookup(key))?.status, 'revoked');
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(heard, [hashApiKey(key)]);
  } finally {
    listener.disconnect();
  }
});

test('a record missing its id, consumer, scopes or creation time is no key at all', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  for (const missing of ['id', 'consumer', 'scopes', 'createdAt']) {
    const fields: Record<string, string> = full({ id: `${missing.padEnd(12, 'x').slice(0, 12)}` });
    delete fields[missing];
    await plant(prefix, `key-without-${missing}`, fields);
    assert.equal(await store.lookup(`key-without-${missing}`), undefined, missing);
  }
  await plant(prefix, 'empty-scopes', full({ id: 'ffffffffffff', scopes: '' }));
  assert.deepEqual((await store.lookup('empty-scopes'))?.scopes, [], 'an empty scope list is still a record');
});

test('a damaged status reads as revoked; damaged labels read as none, and only string labels are kept', async () => {
  const prefix = fresh();
  const store = new ApiKeyStore(admin, prefix);
  await plant(prefix, 'odd-status', full({ status: 'ACTIVE' }));
  assert.equal((await store.lookup('odd-status'))?.status, 'revoked');
  const labels = async (value: string | undefined) => {
    const fields: Record<string, string> = full();
    if (value === undefined) delete fields.labels;
    else fields.labels = value;
    await plant(prefix, `labels-${value}`, fields);
    return (await store.lookup(`labels-${value}`))?.labels;
  };
  assert.deepEqual(await labels('{"team":"x","n":1,"o":{"a":"b"}}'), { team: 'x' });
  for (const damaged of [undefined, 'null', '[1]', '"text"', '7', '{not json']) assert.deepEqual(await labels(damaged), {}, String(damaged));
});
