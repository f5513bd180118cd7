// Each entry of a Consul health answer is checked field by field: the shapes
// below are ones Consul refuses at registration (so the e2e test cannot
// register them), which only a broken or hostile answer would carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEntry, isHostAddress } from '../../shared/discovery/consul-instance.js';

const entry = (service: Record<string, unknown>, nodeAddress = '10.0.0.9') =>
  ({ Node: { Node: 'n1', Address: nodeAddress }, Service: { ID: 'i1', Address: '10.0.0.5', Port: 8080, Meta: null, Weights: { Passing: 1, Warning: 1 }, Tags: [], ...service } });

function skippedField(e: unknown): string | undefined {
  const parsed = parseEntry(e);
  return 'skipped' in parsed ? parsed.skipped.field : undefined;
}

function instanceOf(e: unknown) {
  const parsed = parseEntry(e);
  assert.ok('instance' in parsed, `expected an instance, got ${JSON.stringify(parsed)}`);
  return parsed;
}

test('a well-formed entry becomes an instance; null meta is empty, missing weights weigh 1', () => {
  const { instance, ignored } = instanceOf(entry({ Weights: null }));
  assert.deepEqual(instance, { id: 'i1', origin: 'http://10.0.0.5:8080', authority: '10.0.0.5:8080', weight: 1, meta: {} });
  assert.equal(ignored, undefined);
  assert.equal(instanceOf(entry({ Address: '', ID: undefined })).instance.origin, 'http://10.0.0.9:8080', "the node's address when the service has none");
  assert.equal(instanceOf(entry({ Address: '', ID: undefined })).instance.id, '10.0.0.9:8080');
  assert.equal(instanceOf(entry({ Address: 'fd00::5', Meta: { 'gatehouse-scheme': 'https' } })).instance.origin, 'https://[fd00::5]:8080');
  assert.equal(instanceOf(entry({ Weights: { Passing: 7, Warning: 1 } })).instance.weight, 7);
});

test('addresses: IP literals and DNS names only', () => {
  for (const ok of ['10.0.0.5', '::1', 'fd00::5', 'api.internal', 'api.internal.', 'svc_1.consul', 'a-b.c-d.example', 'localhost']) assert.ok(isHostAddress(ok), ok);
  const bad = ['not a host/x', 'user@evil.example', '127.0.0.1:99', 'http://x.example/', 'a.example\r\nx', 'fe80::1%eth0', '10.1', '999.1.1.1', 'a.0x7f',
    '-a.example', 'a-.example', 'a..example', '.example', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}aa`, '[::1]', ''];
  for (const b of bad) assert.ok(!isHostAddress(b), JSON.stringify(b));
  assert.equal(skippedField(entry({ Address: 'not a host/x' })), 'Service.Address');
  assert.equal(skippedField(entry({ Address: '' }, 'bad node/x')), 'Node.Address');
  assert.equal(skippedField(entry({ Address: 42 })), 'Service.Address');
});

test('ports: an integer 1-65535, nothing else', () => {
  for (const port of [undefined, null, 0, -5, 70_000, 80.5, '8080', [8080]]) assert.equal(skippedField(entry({ Port: port })), 'Service.Port', JSON.stringify(port));
  assert.equal(instanceOf(entry({ Port: 65_535 })).instance.authority, '10.0.0.5:65535');
});

test('weights: Consul\'s own bounds, 1-65535', () => {
  for (const w of [{ Passing: 0 }, { Passing: -1 }, { Passing: 70_000 }, { Passing: 2.5 }, { Passing: '5' }, 'heavy', [3]]) {
    assert.equal(skippedField(entry({ Weights: w })), 'Service.Weights', JSON.stringify(w));
  }
});

test('a bad gatehouse-weight in meta is ignored, not fatal: Consul\'s weight is kept and the problem reported', () => {
  assert.equal(instanceOf(entry({ Meta: { 'gatehouse-weight': '0' } })).instance.weight, 0, 'zero drains an instance');
  assert.equal(instanceOf(entry({ Meta: { 'gatehouse-weight': '12' } })).instance.weight, 12);
  for (const text of ['heavy', '', '1e3', '-1', '99999', ' 5']) {
    const { instance, ignored } = instanceOf(entry({ Meta: { 'gatehouse-weight': text }, Weights: { Passing: 3 } }));
    assert.equal(instance.weight, 3, text);
    assert.deepEqual(ignored, { id: 'i1', field: 'Service.Meta.gatehouse-weight', value: JSON.stringify(text), action: 'ignored' });
  }
});

test('meta: a flat map of Consul-shaped keys to bounded strings, and a known scheme', () => {
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
  assert.equal(skippedField(entry({ Meta: many })), 'Service.Meta');
  assert.equal(skippedField(entry({ Meta: ['a'] })), 'Service.Meta');
  assert.equal(skippedField(entry({ Meta: 'x=y' })), 'Service.Meta');
  assert.equal(skippedField(entry({ Meta: { 'a b': 'x' } })), 'Service.Meta');
  assert.equal(skippedField(entry({ Meta: { owner: { name: 'x' } } })), 'Service.Meta.owner');
  assert.equal(skippedField(entry({ Meta: { owner: 'x'.repeat(513) } })), 'Service.Meta.owner');
  assert.equal(skippedField(entry({ Meta: { 'gatehouse-scheme': 'ftp' } })), 'Service.Meta.gatehouse-scheme');
  assert.equal(instanceOf(entry({ Meta: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'])) })).instance.id, 'i1');
});

test('id, tags and the entry itself', () => {
  assert.equal(skippedField(entry({ ID: 'a\nb' })), 'Service.ID');
  assert.equal(skippedField(entry({ ID: 'x'.repeat(257) })), 'Service.ID');
  assert.equal(skippedField(entry({ ID: 7 })), 'Service.ID');
  assert.equal(skippedField(entry({ Tags: 'v1' })), 'Service.Tags');
  assert.equal(skippedField(entry({ Tags: ['v1', 2] })), 'Service.Tags');
  assert.equal(instanceOf(entry({ Tags: null })).instance.id, 'i1');
  for (const e of [null, 'x', [], { Node: {} }, { Service: [] }]) assert.equal(skippedField(e), 'Service', JSON.stringify(e));
});

test('the offending value is logged cut short', () => {
  const parsed = parseEntry(entry({ Address: `${'a'.repeat(500)} b` }));
  assert.ok('skipped' in parsed);
  assert.ok(parsed.skipped.value.length <= 101);
  assert.equal(parsed.skipped.id, 'i1');
});
