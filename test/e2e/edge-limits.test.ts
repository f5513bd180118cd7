// The edge's limits against oversized and slow clients, over real sockets:
// 431, 413, 408 and the connection ceiling, each a clear answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, certificates, type Gateway } from '../harness/gateway.js';
import { rawRequest, http1 } from '../harness/raw.js';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  backend = await startEchoBackend('limits');
  gw = await startGateway({
    routes: [
      { name: 'small', match: { pathPrefix: '/small' }, service: 'app', maxBodyBytes: 1024 },
      { name: 'big', match: { pathPrefix: '/big' }, service: 'app' },
    ],
    services: { app: { static: [backend.url] } },
    edgeExtra: { timeouts: { headersMs: 400, requestMs: 600 }, limits: { maxHeaderBytes: 4096, maxHeaderCount: 30, maxConnections: 4 } },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

async function tlsSocket(): Promise<TLSSocket> {
  const ca = readFileSync((await certificates).caFile);
  const port = Number(new URL(gw.edgeUrl).port);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.once('error', reject);
  });
}

function replyOf(s: TLSSocket, timeoutMs = 3_000): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => { text += d.toString(); });
    s.on('error', () => undefined);
    const timer = setTimeout(() => { s.destroy(); resolve({ text: 'still open', ms: Date.now() - started }); }, timeoutMs);
    s.on('close', () => { clearTimeout(timer); resolve({ text, ms: Date.now() - started }); });
  });
}

test('headers over the configured size get 431 JSON; over Node\'s own limit too', async () => {
  for (const size of [6_000, 20_000]) {
    const r = await rawRequest(gw.edgeUrl, http1('GET', '/big/x', [`X-Padding: ${'a'.repeat(size)}`]));
    assert.equal(r.status, 431, `${size} bytes`);
    assert.equal(JSON.parse(r.body).error, 'headers_too_large');
  }
  assert.equal((await rawRequest(gw.edgeUrl, http1('GET', '/big/x', ['X-Padding: small']))).status, 200);
});

test('more header lines than the configured count get 431 JSON, however small each is', async () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v`);
  const over = await rawRequest(gw.edgeUrl, http1('GET', '/big/x', lines(40)));
  assert.equal(over.status, 431);
  assert.equal(JSON.parse(over.body).error, 'headers_too_large');
  assert.equal((await rawRequest(gw.edgeUrl, http1('GET', '/big/x', lines(20)))).status, 200, 'twenty lines and Host and Connection stay under thirty');
});

test('a declared body over the route limit gets 413 before anything is forwarded', async () => {
  const before = backend.received.length;
  const r = await rawRequest(gw.edgeUrl, `POST /small/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n${'a'.repeat(5000)}`);
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.body).error, 'payload_too_large');
  assert.equal(r.headers.connection, 'close');
  assert.equal(backend.received.length, before, 'the backend never saw it');
  const ok = await rawRequest(gw.edgeUrl, `POST /small/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'a'.repeat(1000)}`);
  assert.equal(ok.status, 200);
});

test('a chunked body that streams past the route limit gets 413', async () => {
  const chunk = (n: number) => `${n.toString(16)}\r\n${'b'.repeat(n)}\r\n`;
  const r = await rawRequest(gw.edgeUrl, `POST /small/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(800)}${chunk(800)}0\r\n\r\n`);
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.body).error, 'payload_too_large');
  const fits = await rawRequest(gw.edgeUrl, `POST /small/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk(500)}${chunk(500)}0\r\n\r\n`);
  assert.equal(fits.status, 200);
  assert.equal(JSON.parse(fits.body).bodyBytes, 1000);
});

test('a client that sends headers too slowly gets 408 JSON and is disconnected', async () => {
  const s = await tlsSocket();
  s.write('GET /big/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
  const { text, ms } = await replyOf(s);
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.equal(JSON.parse(text.split('\r\n\r\n')[1]!).error, 'request_timeout');
  assert.ok(ms < 2_000, `answered after ${ms} ms`);
});

test('a client that sends its body too slowly gets 408', async () => {
  const s = await tlsSocket();
  s.write('POST /big/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly-a-little');
  const { text } = await replyOf(s);
  assert.match(text, /^HTTP\/1\.1 408 /);
});

test('an idle connection is closed without a reply', async () => {
  const s = await tlsSocket();
  const { text, ms } = await replyOf(s);
  assert.equal(text, '');
  assert.ok(ms < 2_000);
});

test('connections beyond the per-instance ceiling are refused, and accepted again once others close', async () => {
  await gw.client.close().catch(() => undefined); // the harness client's pooled connection would count too
  const held = await Promise.all([tlsSocket(), tlsSocket(), tlsSocket(), tlsSocket()]);
  // Each held connection waits on a slow backend, so no idle or header timeout closes it meanwhile.
  for (const s of held) s.write('GET /big/held HTTP/1.1\r\nHost: localhost\r\nX-Echo-Delay-Ms: 3000\r\n\r\n');
  await new Promise((r) => setTimeout(r, 200));
  const extra = await tlsSocket().then((s) => { s.destroy(); return 'handshake completed'; }, (err: Error) => `refused: ${err.message}`);
  assert.match(extra, /^refused: /, 'the fifth connection is closed before its TLS handshake');
  held.forEach((s) => s.destroy());
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await rawRequest(gw.edgeUrl, http1('GET', '/big/x', []))).status, 200);
});
