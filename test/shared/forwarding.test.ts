// X-Forwarded-* is believed only from trusted proxies; hop-by-hop headers never pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTrust, forwardedFor, plainAddress } from '../../shared/http/forwarded.js';
import { upstreamRequestHeaders, clientResponseHeaders } from '../../shared/http/headers.js';

const lb = compileTrust(['10.0.0.0/8']);

test('an untrusted peer is the client, whatever it claims', () => {
  const f = forwardedFor('1.2.3.4', { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-host': 'evil', 'x-forwarded-proto': 'http' }, 'https', 'api.test', lb);
  assert.deepEqual(f, { clientIp: '1.2.3.4', xForwardedFor: '1.2.3.4', proto: 'https', host: 'api.test', trustedPeer: false });
});

test('behind a trusted proxy the client is the rightmost untrusted address', () => {
  const f = forwardedFor('10.0.0.5', { 'x-forwarded-for': '6.6.6.6, 1.2.3.4, 10.0.0.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.test' }, 'http', 'internal', lb);
  assert.equal(f.clientIp, '1.2.3.4');
  assert.equal(f.xForwardedFor, '6.6.6.6, 1.2.3.4, 10.0.0.9, 10.0.0.5');
  assert.equal(f.proto, 'https');
  assert.equal(f.host, 'shop.test');
});

test('a garbled chain from a trusted proxy is dropped, never half-believed', () => {
  for (const xff of ['<script>', '999.1.1.1', '2607:fea8::1:51108:80, x', ','.repeat(8192)]) {
    const f = forwardedFor('10.0.0.5', { 'x-forwarded-for': xff, 'x-forwarded-host': 'a b' }, 'https', 'api.test', lb);
    assert.equal(f.clientIp, '10.0.0.5', xff.slice(0, 20));
    assert.equal(f.xForwardedFor, '10.0.0.5');
    assert.equal(f.host, 'api.test');
  }
});

test('IPv4-mapped addresses are reported in plain form', () => {
  assert.equal(plainAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(plainAddress('::1'), '::1');
});

test('upstream headers drop hop-by-hop, Connection-listed, pseudo and gateway-owned headers', () => {
  const out = upstreamRequestHeaders({
    connection: 'close, X-Custom', 'x-custom': '1', 'keep-alive': 'x', 'transfer-encoding': 'chunked', upgrade: 'h2c', 'http2-settings': 'x',
    ':path': '/x', host: 'h', 'x-forwarded-for': '6.6.6.6', traceparent: 't', 'x-request-id': 'r', 'content-type': 'text/plain', te: 'gzip',
    accept: 'a',
  });
  assert.deepEqual(out, { 'content-type': 'text/plain', accept: 'a' });
});

test('response headers drop hop-by-hop and Connection-listed ones', () => {
  // As undici hands them over: raw pairs, names in any case, repeated names kept apart.
  const raw = (...pairs: string[]) => pairs.map((p) => Buffer.from(p, 'latin1'));
  const out = clientResponseHeaders(raw('Connection', 'keep-alive, X-Secret-Debug', 'x-secret-debug', '1', 'Keep-Alive', 'timeout=5', 'transfer-encoding', 'chunked', 'trailer', 'x', 'Content-Type', 'a', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'connection', 'X-Other', 'x-other', '2', 'Vary', 'accept'));
  assert.deepEqual(out, { 'content-type': 'a', 'set-cookie': ['a=1', 'b=2'], vary: 'accept' });
  assert.deepEqual(clientResponseHeaders(raw('connection', 'close', 'content-length', '2')), { 'content-length': '2' });
});

test('trust answers stay right for every peer, past the bound where remembered answers are forgotten', () => {
  const trust = compileTrust(['10.0.0.0/8']);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 5_000; i++) {
      const a = (i >> 8) & 255, b = i & 255;
      assert.equal(trust(`10.${a}.${b}.1`, 0), true);
      assert.equal(trust(`11.${a}.${b}.1`, 0), false);
    }
  }
  assert.equal(trust('not an address', 0), false);
});
