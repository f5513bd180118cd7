// The config document in a real Consul agent's KV store: pushes are check-and-set, the history keeps the
// newest versions, rollback pushes an old text again, the watch sees changes (and only changes) within a
// second and survives the agent restarting, and values Gatehouse did not write are clear errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { waitFor } from '../harness/ports.js';
import {
  ConfigConflictError, ConfigHistoryError, ConfigKv, ConfigTooLargeError, ConfigValueError, ConfigVersionNotFoundError, ConsulKvError, type ConfigVersion,
} from '../../shared/config/kv-store.js';
import type { ConsulConfig } from '../../shared/config/schema.js';

// ACLs on, default deny: the agent's default token is the management one, so the harness's own calls pass
// while a wrong token sent by the code under test is refused. Values up to 2 MiB, so that Consul itself
// can hold one over the 512 KiB Gatehouse accepts.
const TOKEN = 'management-secret-5b1f0c';
let consul: TestConsul;
let n = 0;
const kvs: ConfigKv[] = [];

before(async () => {
  consul = await startConsul([
    '-hcl', 'limits { kv_max_value_size = 2097152 }',
    '-hcl', `acl { enabled = true, default_policy = "deny", tokens { initial_management = "${TOKEN}", default = "${TOKEN}" } }`,
  ]);
});
after(async () => {
  for (const kv of kvs) kv.close();
  await consul?.stop();
});

function settings(token = TOKEN, waitSeconds = 5): ConsulConfig {
  return { address: consul.address, token, waitSeconds, snapshotMaxAgeSeconds: 86_400 };
}

/** A ConfigKv on a key of its own, closed when the file's tests end. */
function fresh(historySize?: number, token?: string, waitSeconds?: number): ConfigKv {
  const kv = new ConfigKv(settings(token, waitSeconds), `gatehouse-test/config-${++n}`, historySize);
  kvs.push(kv);
  return kv;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const doc = (i: number) => `# version ${i}\nroutes: []\n`;

test('a push makes the text live at the key, versioned by its ModifyIndex and hashed with sha256', async () => {
  const kv = fresh();
  assert.equal(await kv.read(), undefined);
  const pushed = await kv.push('routes: []\n# ünïcode\n', 0, 'alice@ops');
  const held = await consul.kvGet(kv.key);
  assert.equal(held?.value.toString('utf8'), 'routes: []\n# ünïcode\n');
  assert.equal(pushed.version, held?.modifyIndex);
  assert.equal(pushed.hash, sha256('routes: []\n# ünïcode\n'));
  assert.deepEqual(await kv.read(), pushed);
});

test('a push against a version that is no longer live is refused and writes nothing', async () => {
  const kv = fresh();
  const first = await kv.push(doc(1), 0, 'alice');
  await assert.rejects(kv.push(doc(2), 0, 'bob'), (err) => err instanceof ConfigConflictError && err.expected === 0 && err.found === first.version);
  const second = await kv.push(doc(3), first.version, 'alice');
  await assert.rejects(kv.push(doc(4), first.version, 'bob'), (err) => err instanceof ConfigConflictError && err.expected === first.version && err.found === second.version);
  assert.equal((await consul.kvGet(kv.key))?.value.toString(), doc(3));
  assert.deepEqual((await kv.history()).map((e) => e.text), [doc(3), doc(1)]);
});

test('the history keeps the newest historySize versions, newest first, under <key>/history/<20-digit version>', async () => {
  const kv = fresh(3);
  let live = 0;
  const versions: number[] = [];
  for (let i = 1; i <= 5; i++) versions.push(live = (await kv.push(doc(i), live, `op${i}`)).version);
  const history = await kv.history();
  assert.deepEqual(history.map((e) => [e.version, e.text, e.by]), [[versions[4], doc(5), 'op5'], [versions[3], doc(4), 'op4'], [versions[2], doc(3), 'op3']]);
  assert.deepEqual((await consul.kvKeys(`${kv.key}/history/`)).sort(), versions.slice(2).map((v) => `${kv.key}/history/${String(v).padStart(20, '0')}`).sort());
  const stored = JSON.parse((await consul.kvGet(`${kv.key}/history/${String(versions[4]).padStart(20, '0')}`))!.value.toString());
  assert.deepEqual(Object.keys(stored).sort(), ['by', 'hash', 'pushedAt', 'text', 'version']);
  assert.equal(stored.hash, sha256(doc(5)));
  assert.ok(Math.abs(Date.parse(stored.pushedAt) - Date.now()) < 60_000);
});

test('rollback pushes an old version\'s text again as a new version, check-and-set like a push', async () => {
  const kv = fresh();
  const v1 = await kv.push(doc(1), 0, 'alice');
  const v2 = await kv.push(doc(2), v1.version, 'alice');
  await assert.rejects(kv.rollback(v1.version, v1.version, 'bob'), ConfigConflictError);
  await assert.rejects(kv.rollback(v2.version + 1000, v2.version, 'bob'), (err) => err instanceof ConfigVersionNotFoundError && /kept: \d+, \d+/.test(err.message));
  const back = await kv.rollback(v1.version, v2.version, 'bob');
  assert.ok(back.version > v2.version);
  assert.equal(back.hash, v1.hash);
  assert.equal((await consul.kvGet(kv.key))?.value.toString(), doc(1));
  const [newest] = await kv.history();
  assert.deepEqual([newest?.version, newest?.by, newest?.rollbackOf], [back.version, 'bob', v1.version]);
});

/** Records what a watch reports. */
function follow(kv: ConfigKv, knownHash?: string | null) {
  const changes: { at: number; v: ConfigVersion | undefined }[] = [];
  const errors: Error[] = [];
  const watch = kv.watch((v) => changes.push({ at: Date.now(), v }), (err) => errors.push(err), knownHash);
  return { changes, errors, watch };
}

test('a watch reports a push within a second, ignores a rewrite of the same text, and reports the key going away', async () => {
  const kv = fresh();
  const v1 = await kv.push(doc(1), 0, 'alice');
  const w = follow(kv);
  try {
    await waitFor('the first answer', () => w.changes.length === 1);
    assert.deepEqual(w.changes[0]!.v, v1);
    await sleep(200); // the watch now blocks on v1's index
    const written = Date.now();
    const v2 = await kv.push(doc(2), v1.version, 'alice');
    await waitFor('the push seen', () => w.changes.length === 2);
    assert.deepEqual(w.changes[1]!.v, v2);
    assert.ok(w.changes[1]!.at - written < 1_000, `seen after ${w.changes[1]!.at - written} ms`);
    // Consul skips a write of the very same entry; new flags with the same text are a write that wakes the watch.
    await consul.kvPut(kv.key, doc(2), 7);
    assert.ok((await consul.kvGet(kv.key))!.modifyIndex > v2.version, 'the rewrite moved the index');
    await sleep(700);
    assert.equal(w.changes.length, 2, 'the same text again is no change');
    await consul.kvDelete(kv.key);
    await waitFor('the key gone', () => w.changes.length === 3);
    assert.equal(w.changes[2]!.v, undefined);
    assert.deepEqual(w.errors, []);
  } finally {
    w.watch.close();
  }
});

test('a watch given the hash it already serves reports only a change from it', async () => {
  const kv = fresh();
  const v1 = await kv.push(doc(1), 0, 'alice');
  const w = follow(kv, v1.hash);
  try {
    await sleep(500);
    assert.equal(w.changes.length, 0);
    await kv.push(doc(2), v1.version, 'alice');
    await waitFor('the push seen', () => w.changes.length === 1);
    assert.equal(w.changes[0]!.v?.text, doc(2));
  } finally {
    w.watch.close();
  }
});

test('a watch whose callback throws carries on, and the error surfaces as an unhandled rejection', async () => {
  const kv = fresh();
  const surfaced: unknown[] = [];
  const listeners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', (err) => surfaced.push(err));
  const seen: (string | undefined)[] = [];
  const watch = kv.watch((v) => {
    seen.push(v?.text);
    if (seen.length === 1) throw new Error('consumer bug');
  }, () => {});
  try {
    await waitFor('the first answer', () => seen.length === 1);
    await kv.push(doc(1), 0, 'alice');
    await waitFor('the push seen after the throw', () => seen.length === 2);
    assert.deepEqual(seen, [undefined, doc(1)]);
    assert.deepEqual(surfaced.map((e) => (e as Error).message), ['consumer bug']);
  } finally {
    watch.close();
    process.removeAllListeners('unhandledRejection');
    for (const l of listeners) process.on('unhandledRejection', l);
  }
});

test('a watch keeps going after the Consul agent restarts', async () => {
  // A long wait: a watch that kept blocking on the old agent's index would sit out all of it.
  const kv = fresh(undefined, undefined, 120);
  await kv.push(doc(1), 0, 'alice');
  const w = follow(kv);
  try {
    await waitFor('the first answer', () => w.changes.length === 1);
    // Move the key's index well past where a fresh agent starts, as a long-lived cluster's would be.
    for (let i = 1; i <= 40; i++) await consul.kvPut(kv.key, doc(1), i);
    await consul.stop();
    await waitFor('the failure reported', () => w.errors.length > 0);
    assert.ok(w.errors[0] instanceof ConsulKvError);
    assert.match(w.errors[0].message, /cannot reach Consul at http:\/\/127\.0\.0\.1:\d+/);
    await consul.start();
    // -dev keeps nothing: the restarted agent has no key, so this push creates it.
    await waitFor('the restarted agent to take a push', () => kv.push(doc(7), 0, 'alice').then(() => true, () => undefined), 20_000, 200);
    await waitFor('the new text seen', () => w.changes.at(-1)?.v?.text === doc(7), 30_000);
  } finally {
    w.watch.close();
  }
});

test('values Gatehouse did not write are clear errors naming their key, and a watch carries on past them', async () => {
  const kv = fresh();
  await consul.kvPut(kv.key, Buffer.from([0x72, 0x6f, 0xff, 0xfe, 0x0a]));
  await assert.rejects(kv.read(), (err) => err instanceof ConfigValueError && err.message === `${kv.key}: the value is not UTF-8 text (5 bytes); it was not written by gatehouse's config tool`);
  const w = follow(kv);
  try {
    await waitFor('the bad value reported', () => w.errors.length === 1);
    assert.ok(w.errors[0] instanceof ConfigValueError);
    await sleep(300);
    assert.equal(w.errors.length, 1, 'reported once, not on every answer');
    assert.equal(w.changes.length, 0);
    const good = await kv.push(doc(1), (await consul.kvGet(kv.key))!.modifyIndex, 'alice');
    await waitFor('the good value seen', () => w.changes.length === 1);
    assert.deepEqual(w.changes[0]!.v, good);
  } finally {
    w.watch.close();
  }
  await consul.kvPut(kv.key, 'x'.repeat(600 * 1024));
  await assert.rejects(kv.read(), /: the value is 614400 bytes or more, over the 524288-byte limit of a config document$/);
  await consul.kvPut(`${kv.key}/history/00000000000000000001`, '{"version": 1, "text": ');
  await assert.rejects(kv.history(), (err) => err instanceof ConfigValueError && err.message.startsWith(`${kv.key}/history/00000000000000000001: not a history entry: not JSON (`));
  await consul.kvPut(`${kv.key}/history/00000000000000000001`, JSON.stringify({ version: 1, hash: sha256('a'), pushedAt: new Date().toISOString(), by: 'x', text: 'b' }));
  await assert.rejects(kv.history(), /00000000000000000001: not a history entry: its text does not have its hash/);
});

test('a document too large for Consul with its history entry is refused before anything is written', async () => {
  const kv = fresh();
  // 300 KiB of text, but every quote is escaped in the history entry's JSON: 600 KiB there.
  await assert.rejects(kv.push(`# ${'"'.repeat(300 * 1024)}\n`, 0, 'alice'), (err) => err instanceof ConfigTooLargeError && /over Consul's 524288-byte limit/.test(err.message));
  assert.equal(await consul.kvGet(kv.key), undefined);
  assert.deepEqual(await consul.kvKeys(`${kv.key}/`), []);
});

test('a token Consul refuses is a 403 that says what to check, and the token is in no message', async () => {
  const wrong = 'wrong-secret-9c2e77';
  const kv = fresh(10, wrong);
  await assert.rejects(kv.read(), (err) => err instanceof ConsulKvError && / 403 /.test(err.message) && /consul\.token/.test(err.message) && !err.message.includes(wrong));
  await assert.rejects(kv.push(doc(1), 0, 'alice'), (err) => err instanceof ConsulKvError && / 403 /.test(err.message) && !err.message.includes(wrong));
  const w = follow(kv);
  try {
    await waitFor('the refusal reported', () => w.errors.length > 0);
    assert.ok(!w.errors[0]!.message.includes(wrong));
  } finally {
    w.watch.close();
  }
  assert.equal(await consul.kvGet(kv.key), undefined);
});

/** A ConfigKv whose token has only these ACL rules. */
async function withRules(key: string, rules: string): Promise<{ kv: ConfigKv; secret: string }> {
  const acl = (path: string, body: unknown) => fetch(`${consul.address}/v1/acl/${path}`, { method: 'PUT', headers: { 'x-consul-token': TOKEN }, body: JSON.stringify(body) })
    .then(async (res) => { assert.equal(res.status, 200, await res.clone().text()); return res.json() as Promise<Record<string, string>>; });
  const name = `rules-${++n}`;
  await acl('policy', { Name: name, Rules: rules });
  const { SecretID } = await acl('token', { Policies: [{ Name: name }] });
  const kv = new ConfigKv(settings(SecretID), key);
  kvs.push(kv);
  return { kv, secret: SecretID! };
}

test('a token that may not write the key: the push is refused as such, not as a conflict', async () => {
  const key = `gatehouse-test/config-${++n}`;
  const { kv, secret } = await withRules(key, `key_prefix "${key}" { policy = "read" }`);
  await assert.rejects(kv.push(doc(1), 0, 'alice'), (err) => err instanceof ConsulKvError && err.message.startsWith(`Consul refused the push to ${key}: Permission denied`) && !err.message.includes(secret));
  assert.equal(await consul.kvGet(key), undefined);
});

test('a token that may write the key but not its history: the push is live, and the error says its history entry is missing', async () => {
  const key = `gatehouse-test/config-${++n}`;
  const { kv, secret } = await withRules(key, `key "${key}" { policy = "write" }`);
  await assert.rejects(kv.push(doc(1), 0, 'alice'), (err) => {
    assert.ok(err instanceof ConfigHistoryError);
    assert.match(err.message, new RegExp(`^version ${err.pushed.version} is live, but its history entry could not be written: Consul refused the history transaction: Permission denied.*lacks permission 'key:write' on "${key}/history/`));
    assert.ok(!err.message.includes(secret));
    return true;
  });
  const live = await consul.kvGet(key);
  assert.equal(live?.value.toString(), doc(1));
  assert.deepEqual(await consul.kvKeys(`${key}/`), []);
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
