// Every header the gateway strips, one by one: hop-by-hop headers, the headers
// only the gateway may set, the identity namespace, and what Connection lists,
// on the way to the backend and on the way back to the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { IDENTITY_PREFIX, clientResponseHeaders, upstreamRequestHeaders } from '../../shared/http/headers.js';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'host', 'proxy'];
const GATEWAY_OWNED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'forwarded', 'x-real-ip', 'x-request-id', 'traceparent', 'tracestate'];
const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));

test('each hop-by-hop header is dropped on the way upstream', () => {
  for (const name of HOP_BY_HOP) assert.deepEqual(upstreamRequestHeaders({ [name]: 'v', accept: 'a' }), { accept: 'a' }, name);
});

test('each header the gateway owns is dropped, so a client can never set it', () => {
  for (const name of GATEWAY_OWNED) assert.deepEqual(upstreamRequestHeaders({ [name]: 'v', accept: 'a' }), { accept: 'a' }, name);
});

test('the whole x-gatehouse- identity namespace is dropped, and only it', () => {
  assert.equal(IDENTITY_PREFIX, 'x-gatehouse-');
  const out = upstreamRequestHeaders({ 'x-gatehouse-consumer': 'admin', 'x-gatehouse-identity': 'forged', 'x-gatehouse-anything': '1', 'x-gatehousex': 'kept', 'x-gate': 'kept' });
  assert.deepEqual(out, { 'x-gatehousex': 'kept', 'x-gate': 'kept' });
});

test('pseudo headers and names with an underscore are dropped; other values pass as they came', () => {
  const out = upstreamRequestHeaders({ ':authority': 'a', ':method': 'GET', x_gatehouse_consumer: 'admin', 'x-a': ['1', '2'], 'set-cookie': ['a=1'], 'x-b': '' });
  assert.deepEqual(out, { 'x-a': ['1', '2'], 'set-cookie': ['a=1'], 'x-b': '' });
  assert.deepEqual(upstreamRequestHeaders({ 'x-missing': undefined, accept: 'a' }), { accept: 'a' });
});

test('headers that Connection lists are dropped, in any case and spacing, and only those', () => {
  const out = upstreamRequestHeaders({ connection: ' X-One ,x-two,,Keep-Alive', 'x-one': '1', 'x-two': '2', 'x-three': '3' });
  assert.deepEqual(out, { 'x-three': '3' });
  assert.deepEqual(upstreamRequestHeaders({ connection: 'close, close', close: 'kept', 'x-a': '1' }), { close: 'kept', 'x-a': '1' }, '"close" is an option, not a header name');
  assert.deepEqual(upstreamRequestHeaders({ connection: ['x-one', 'x-two'], 'x-one': '1', 'x-two': '2', 'x-three': '3' } as unknown as IncomingHttpHeaders), { 'x-three': '3' }, 'a list of Connection values is read whole');
  assert.deepEqual(upstreamRequestHeaders({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' }), { 'x-a': '1' });
  assert.deepEqual(upstreamRequestHeaders({ connection: 'close', 'x-a': '1' }), { 'x-a': '1' });
});

test('TE passes upstream only as "trailers", and only when the client offered trailers', () => {
  for (const te of ['trailers', 'TRAILERS', 'gzip, trailers', 'trailers, deflate', 'gzip,trailers;q=1', ' trailers ']) {
    assert.deepEqual(upstreamRequestHeaders({ te }), { te: 'trailers' }, te);
  }
  for (const te of ['gzip', 'xtrailers', 'trailersx', 'gzip, trailers2', 'no-trailers', '']) assert.deepEqual(upstreamRequestHeaders({ te }), {}, te);
  assert.deepEqual(upstreamRequestHeaders({}), {});
});

test('response headers: every hop-by-hop header is dropped, whatever its case', () => {
  for (const name of HOP_BY_HOP) {
    assert.deepEqual(clientResponseHeaders(raw(name.toUpperCase(), 'v', 'Content-Type', 'text/plain')), { 'content-type': 'text/plain' }, name);
  }
});

test('response headers: repeated names become one list in order, values are read as latin1', () => {
  const out = clientResponseHeaders(raw('Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'SET-COOKIE', 'c=3', 'x-name', 'caf\u00e9'));
  assert.deepEqual(out, { 'set-cookie': ['a=1', 'b=2', 'c=3'], 'x-name': 'caf\u00e9' });
});

test('response headers: Connection-listed names are dropped from anywhere in the list, and a dangling name is ignored', () => {
  const out = clientResponseHeaders(raw('x-before', '1', 'Connection', 'X-Before, X-After', 'x-after', '2', 'x-kept', '3', 'x-dangling'));
  assert.deepEqual(out, { 'x-kept': '3' });
  assert.deepEqual(clientResponseHeaders(raw('connection', 'keep-alive', 'connection', 'x-a', 'x-a', '1', 'x-b', '2')), { 'x-b': '2' });
  assert.deepEqual(clientResponseHeaders(raw('connection', 'x-a', 'connection', 'close', 'x-a', '1', 'x-b', '2')), { 'x-b': '2' }, 'a later close does not undo an earlier listing');
  assert.deepEqual(clientResponseHeaders([]), {});
});
