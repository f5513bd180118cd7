// `npm run config -- ...` run as the operator runs it (node dist/config/cli.js in a child process) against a
// real Consul agent: what it prints, its exit code, and what Consul holds afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness/binaries.js';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { freePort } from '../harness/ports.js';
import { ConfigKv } from '../../shared/config/kv-store.js';

const TOKEN = 'file-token-secret-41d9';
let consul: TestConsul;
let dir: string;
let n = 0;
const kvs: ConfigKv[] = [];

before(async () => {
  consul = await startConsul();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-cli-'));
});
after(async () => {
  for (const kv of kvs) kv.close();
  await consul?.stop();
});

/** Another operator, or the set-up of a test, writing to the key without the CLI. */
function direct(key: string): ConfigKv {
  const kv = new ConfigKv({ address: consul.address, waitSeconds: 5, snapshotMaxAgeSeconds: 1 }, key, 3);
  kvs.push(kv);
  return kv;
}

/** A valid whole file, pointing at the test's Consul and key; extra lands in the routes' first entry. */
function configText(key: string, variant = 'orders', historySize = 3): string {
  return `consul: { address: "${consul.address}", token: ${TOKEN} }
config:
  consul: { key: ${key}, historySize: ${historySize} }
router:
  listen: { port: 9080 }
  admin: { port: 9081 }
routes:
  - name: ${variant}
    match: { pathPrefix: /${variant} }
    service: orders
    auth: { anonymous: true }
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
services:
  orders:
    static: [http://10.0.0.5:8080]
`;
}

const INVALID = (key: string) => configText(key).replace('service: orders', 'service: orders\n    timeoutMs: soon');

/** A key of its own and a file for it; write() replaces the file's text. */
function setup(historySize = 3) {
  const key = `gatehouse-test/cli-${++n}`;
  const file = join(dir, `gatehouse-${n}.yaml`);
  const write = (text: string) => { writeFileSync(file, text); return text; };
  write(configText(key, 'orders', historySize));
  return { key, file, write };
}

interface Run { readonly code: number | null; readonly stdout: string; readonly stderr: string }

function run(script: string, args: readonly string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [join(repoRoot(), script), ...args], {
    cwd: dir, encoding: 'utf8', timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', USER: 'ops-tester', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cli = (...args: string[]) => run('dist/config/cli.js', args);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const held = async (key: string) => (await consul.kvGet(key))?.value.toString('utf8');

test('validate accepts a good file with its hash, and refuses a bad one with the messages the tiers print at start', () => {
  const { file, write, key } = setup();
  const good = configText(key);
  const ok = cli('validate', '--file', file);
  assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, `ok: ${file} (sha256 ${sha(good).slice(0, 12)})\n`, '']);
  assert.equal(run('dist/config/cli.js', ['validate'], { GATEHOUSE_CONFIG: file }).stdout, ok.stdout);

  write(INVALID(key));
  const bad = cli('validate', '-c', file);
  const tier = run('dist/router/main.js', ['--config', file]);
  assert.equal(tier.code, 2);
  assert.deepEqual([bad.code, bad.stdout], [2, '']);
  assert.match(bad.stderr, /line 11:16: routes\[0\]\.timeoutMs: expected .*integer.*, found "soon"/);
  assert.equal(bad.stderr.replace(/^gatehouse config: /, ''), tier.stderr.replace(/^gatehouse router: /, ''));

  const missing = cli('validate', join(dir, 'nope.yaml'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.yaml:\n {2}cannot read the file: ENOENT/);
});

test('diff shows what push would change, labelled with the live version: exit 1 when they differ, 0 when not', async () => {
  const { key, file, write } = setup();
  const absent = cli('diff', '-c', file);
  assert.equal(absent.code, 1, absent.stderr);
  assert.match(absent.stdout, new RegExp(`^--- consul:${key} \\(absent\\)\n\\+\\+\\+ ${file}\n`, 'm'));
  assert.match(absent.stdout, /^\+routes:$/m);

  const { version } = await direct(key).push(configText(key), 0, 'alice');
  const same = cli('diff', '-c', file);
  assert.deepEqual([same.code, same.stdout], [0, `no changes against version ${version}\n`]);

  write(configText(key, 'invoices'));
  const changed = cli('diff', '-c', file);
  assert.equal(changed.code, 1);
  assert.match(changed.stdout, new RegExp(`^--- consul:${key} version ${version}\n`, 'm'));
  assert.match(changed.stdout, /^-  - name: orders\n- {4}match: \{ pathPrefix: \/orders \}\n\+  - name: invoices\n\+ {4}match: \{ pathPrefix: \/invoices \}$/m);

  write(INVALID(key));
  assert.equal(cli('diff', '-c', file).code, 2, 'an invalid file is not diffed');
});

test('push refuses an invalid file and writes nothing; a valid one goes live as the version it prints', async () => {
  const { key, file, write } = setup();
  write(INVALID(key));
  const refused = cli('push', '-c', file);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /routes\[0\]\.timeoutMs: expected/);
  assert.deepEqual(await consul.kvKeys(key), []);

  const text = write(configText(key));
  const pushed = cli('push', '-c', file);
  assert.equal(pushed.code, 0, pushed.stderr);
  const live = (await consul.kvGet(key))!;
  assert.equal(live.value.toString(), text);
  assert.equal(pushed.stdout, `pushed ${file} to consul:${key} as version ${live.modifyIndex} (sha256 ${sha(text).slice(0, 12)})\n`);
  assert.equal(pushed.stderr, `gatehouse config: warning: ${file} holds consul.token, now stored in consul:${key} and its history; prefer GATEHOUSE_CONSUL_TOKEN\n`);
  const entry = JSON.parse((await held(`${key}/history/${String(live.modifyIndex).padStart(20, '0')}`))!);
  assert.deepEqual([entry.by, entry.text], [`ops-tester@${hostname()}`, text], 'by defaults to $USER@host');

  const again = cli('push', '-c', file);
  assert.deepEqual([again.code, again.stdout], [0, `no changes against version ${live.modifyIndex}; nothing pushed\n`]);
  assert.equal((await consul.kvGet(key))!.modifyIndex, live.modifyIndex);
});

test('a push racing another is refused with exit 3 and leaves the other\'s version live', async () => {
  const { key, file, write } = setup();
  const seen = (await direct(key).push(configText(key), 0, 'alice')).version;
  write(configText(key, 'mine'));
  assert.match(cli('diff', '-c', file).stdout, new RegExp(`^--- consul:${key} version ${seen}$`, 'm'));

  // Someone else pushes between the operator's diff and push.
  const theirs = configText(key, 'theirs');
  const pushed = await direct(key).push(theirs, seen, 'dave');

  const raced = cli('push', '-c', file, '--expect', String(seen));
  assert.equal(raced.code, 3);
  assert.equal(raced.stderr, `gatehouse config: someone pushed version ${pushed.version} after you read ${seen}; run diff again. Nothing was written.\n`);
  assert.deepEqual([await held(key), (await consul.kvGet(key))!.modifyIndex], [theirs, pushed.version]);
  assert.equal((await consul.kvKeys(`${key}/history/`)).length, 2);

  assert.equal(cli('push', '-c', file, '--expect', '0').code, 3, '--expect 0: only if the key does not exist');
  assert.equal(await held(key), theirs);
});

test('history lists the kept versions newest first and marks the live one', async () => {
  const { key, file } = setup(3);
  const versions: number[] = [];
  for (const name of ['a', 'b', 'c', 'd']) versions.push((await direct(key).push(configText(key, name), versions.at(-1) ?? 0, `op-${name}`)).version);
  const h = cli('history', '-c', file);
  assert.equal(h.code, 0, h.stderr);
  const lines = h.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^ +VERSION +PUSHED AT +BY +SHA256$/);
  assert.equal(lines.length, 4, 'historySize 3');
  const rows = lines.slice(1).map((l) => {
    const [version, pushedAt, ...rest] = l.replace(/^\*/, '').trim().split(/ {2,}/);
    assert.ok(Math.abs(Date.parse(pushedAt!) - Date.now()) < 60_000, pushedAt);
    return [l.startsWith('*') ? '*' : '', version, ...rest];
  });
  assert.deepEqual(rows, [
    ['*', String(versions[3]), 'op-d', sha(configText(key, 'd')).slice(0, 12)],
    ['', String(versions[2]), 'op-c', sha(configText(key, 'c')).slice(0, 12)],
    ['', String(versions[1]), 'op-b', sha(configText(key, 'b')).slice(0, 12)],
  ]);

  // With --consul and --key, no file is needed.
  const bare = run('dist/config/cli.js', ['history', '--consul', consul.address, '--key', key, '-c', join(dir, 'absent.yaml')]);
  assert.equal(bare.stdout, h.stdout);
});

test('rollback validates the old version with today\'s loader, then pushes its text as a new version', async () => {
  const { key, file } = setup();
  // A version today's schema refuses, pushed by something that does not validate.
  const invalid = await direct(key).push(INVALID(key), 0, 'legacy');
  const a = (await direct(key).push(configText(key, 'a'), invalid.version, 'alice')).version;
  const textB = configText(key, 'b');
  const b = (await direct(key).push(textB, a, 'alice')).version;

  const refused = cli('rollback', String(invalid.version), '-c', file);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, new RegExp(`^gatehouse config: invalid config consul:${key} version ${invalid.version}:\n {2}line 11:16: routes\\[0\\]\\.timeoutMs: expected`));
  const unknown = cli('rollback', '999999', '-c', file);
  assert.deepEqual([unknown.code, unknown.stderr], [2, `gatehouse config: version 999999 is not in the history of consul:${key} (kept: ${b}, ${a}, ${invalid.version})\n`]);
  assert.equal(cli('rollback', String(a), '-c', file, '--expect', String(a)).code, 3);
  assert.deepEqual([await held(key), (await consul.kvGet(key))!.modifyIndex], [textB, b], 'nothing written by a refused rollback');

  const back = cli('rollback', String(a), '-c', file, '--by', 'erin');
  assert.equal(back.code, 0, back.stderr);
  const live = (await consul.kvGet(key))!;
  assert.equal(live.value.toString(), configText(key, 'a'));
  assert.equal(back.stdout, `rolled consul:${key} back to version ${a}'s text as version ${live.modifyIndex} (sha256 ${sha(configText(key, 'a')).slice(0, 12)})\n`);
  assert.match(cli('history', '-c', file).stdout, new RegExp(`^\\* +${live.modifyIndex} +\\S+ +erin +[0-9a-f]{12} +rollback to ${a}$`, 'm'));
});

test('a live value that is not a document is exit 4, and push replaces it only with --expect naming its version', async () => {
  const { key, file } = setup();
  await consul.kvPut(key, Buffer.from([0x61, 0xff, 0x0a]));
  const version = (await consul.kvGet(key))!.modifyIndex;
  const diff = cli('diff', '-c', file);
  assert.deepEqual([diff.code, diff.stderr], [4, `gatehouse config: ${key}: the value is not UTF-8 text (3 bytes); it was not written by gatehouse's config tool\n`]);
  const push = cli('push', '-c', file);
  assert.deepEqual([push.code, push.stderr], [4, `gatehouse config: ${key}: the value is not UTF-8 text (3 bytes); it was not written by gatehouse's config tool; to replace it, run again with --expect ${version}\n`]);
  assert.equal((await consul.kvGet(key))!.modifyIndex, version);
  assert.equal(cli('push', '-c', file, '--expect', String(version)).code, 0);
  assert.equal(await held(key), configText(key));
});

test('Consul unreachable is exit 4 with the address, and the token is printed nowhere', async () => {
  const { key, file, write } = setup();
  const closed = `http://127.0.0.1:${await freePort()}`;
  write(configText(key).replace(consul.address, closed));
  for (const command of ['push', 'history']) {
    const r = cli(command, '-c', file);
    assert.equal(r.code, 4, `${command}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^gatehouse config: cannot reach Consul at ${closed}: `));
    assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
  }
});

test('bad usage is exit 2 with the usage; --help lists the exit codes', () => {
  const { file } = setup();
  for (const args of [[], ['push', 'extra', '-c', file], ['diff', '--expect', '3', '-c', file], ['rollback', 'v3', '-c', file]]) {
    const r = cli(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /^gatehouse config: .+\nusage: npm run config -- COMMAND/);
  }
  const help = cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 /);
});
