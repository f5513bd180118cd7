// Every request gets exactly one access line on each tier it reached, written
// when the exchange really ended and telling what happened: the status
// actually sent (none when nothing was), the body bytes actually written, and
// an outcome (completed, client-aborted, upstream-aborted) with its reason.
// Through the real stack (edge -> router -> backend), with raw HTTP/1.1 bytes
// and raw HTTP/2 frames for the shapes a client library never sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { startGateway, certificates, type Gateway, type Tier } from '../harness/gateway.js';
import { rawH2 } from '../harness/raw-h2.js';
import { waitFor } from '../harness/ports.js';
import type { LogRecord } from '../harness/logs.js';

// The backend: /echo reads the body and answers its size, /slow never answers, /dies sends its head and
// 1,000 bytes of a 100,000-byte body, then drops the connection, /drip sends its head and 500 bytes of a
// body that never ends.
const SENT_BEFORE_DYING = 1_000;
const DRIPPED = 500;
let backend: Server;
let gw: Gateway;
const bodyBytes = new Map<string, number>();

before(async () => {
  backend = createServer((req, res) => {
    const url = req.url ?? '';
    bodyBytes.set(url, 0);
    req.on('data', (c: Buffer) => bodyBytes.set(url, bodyBytes.get(url)! + c.length));
    req.on('error', () => undefined);
    if (url.startsWith('/slow')) return;
    if (url.startsWith('/drip')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('d'.repeat(DRIPPED));
      return;
    }
    if (url.startsWith('/dies')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 100_000 });
      res.write('x'.repeat(SENT_BEFORE_DYING));
      setTimeout(() => res.socket?.destroy(), 100);
      return;
    }
    req.on('end', () => res.end(JSON.stringify({ bodyBytes: bodyBytes.get(url) })));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    routes: [
      { name: 'small', match: { pathPrefix: '/small' }, service: 'app', maxBodyBytes: 1024 },
      { name: 'app', match: { pathPrefix: '/' }, service: 'app' },
    ],
    services: { app: { static: [`http://127.0.0.1:${(backend.address() as AddressInfo).port}`] } },
    // A body that stalls this long gets 408 from the edge (edge/slow-clients.ts).
    edgeExtra: { timeouts: { requestMs: 1_000 } },
  });
});

after(async () => {
  await gw.close();
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

/** One tier's access lines for a path, once the expected count came and a little longer (a second line would be a bug). */
async function linesOf(tier: Tier, path: string, expected = 1): Promise<LogRecord[]> {
  const of = () => tier.logs.access().filter((r) => r.path === path);
  await waitFor(`${expected} access line(s) for ${path}`, () => of().length >= expected || undefined, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  return of();
}

/** The single line each tier wrote for a path, and the two belong to the same request. */
async function oneLineEach(path: string): Promise<{ edge: LogRecord; router: LogRecord }> {
  const [edge, router] = [await linesOf(gw.edge, path), await linesOf(gw.router, path)];
  assert.equal(edge.length, 1, `the edge wrote one line for ${path}: ${JSON.stringify(edge)}`);
  assert.equal(router.length, 1, `the router wrote one line for ${path}: ${JSON.stringify(router)}`);
  assert.equal(router[0]!.requestId, edge[0]!.requestId);
  return { edge: edge[0]!, router: router[0]! };
}

async function tlsHttp1(): Promise<TLSSocket> {
  const ca = readFileSync((await certificates).caFile);
  const u = new URL(gw.edgeUrl);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the server sent until it closed the connection. */
function untilClosed(s: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    s.on('error', () => undefined);
    s.on('close', () => resolve(text));
  });
}

const bodyArrived = (path: string) => waitFor(`body bytes of ${path} at the backend`, () => (bodyBytes.get(path) ?? 0) > 0 || undefined, 10_000);

async function h2Session(): Promise<ClientHttp2Session> {
  const ca = readFileSync((await certificates).caFile);
  const session = http2Connect(gw.edgeUrl, { ca, servername: 'localhost' });
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  return session;
}

test('a normal request: one completed line per tier with the status and bytes sent, over HTTP/1.1 and HTTP/2', async () => {
  const r = await gw.get('/echo/normal-h1', { method: 'POST', body: 'amount=1' });
  assert.equal(r.status, 200);
  const { edge, router } = await oneLineEach('/echo/normal-h1');
  for (const line of [edge, router]) {
    assert.equal(line.requestId, r.headers['x-request-id']);
    assert.equal(line.outcome, 'completed');
    assert.equal(line.status, 200);
    assert.equal(line.bytesOut, Buffer.byteLength(r.text));
    assert.equal(line.reason, undefined);
    assert.equal(line.level, 'info', 'the level rules are unchanged: every access line is info');
  }

  const session = await h2Session();
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/echo/normal-h2' });
    let text = '';
    stream.on('data', (d: Buffer) => { text += d.toString(); });
    await new Promise((r) => stream.on('end', r));
    const lines = await oneLineEach('/echo/normal-h2');
    for (const line of [lines.edge, lines.router]) {
      assert.equal(line.outcome, 'completed');
      assert.equal(line.status, 200);
      assert.equal(line.bytesOut, Buffer.byteLength(text));
    }
  } finally {
    session.destroy();
  }
});

test('a request the edge refuses has its one completed line at the edge and none at the router, which it never reached', async () => {
  const r = await gw.get('/echo/a%2Frefused');
  assert.equal(r.status, 400);
  const edge = await linesOf(gw.edge, '/echo/a%2Frefused');
  assert.equal(edge.length, 1);
  assert.equal(edge[0]!.status, 400);
  assert.equal(edge[0]!.outcome, 'completed');
  assert.equal(edge[0]!.bytesOut, Buffer.byteLength(r.text));
  assert.equal(gw.router.logs.access().filter((l) => l.path === '/echo/a%2Frefused').length, 0);
});

test('HTTP/1.1: a bad chunk mid-body gets the 400 the edge logs, and the router logs the request the edge cut off', async () => {
  const s = await tlsHttp1();
  const reply = untilClosed(s);
  s.write('POST /echo/bad-chunk HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n8\r\namount=1\r\n');
  await bodyArrived('/echo/bad-chunk');
  s.write('zz\r\nnot a chunk\r\n');
  const text = await reply;
  assert.match(text, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(text.split('\r\n\r\n')[1]!) as Record<string, string>;
  assert.equal(body.error, 'bad_request');
  const { edge, router } = await oneLineEach('/echo/bad-chunk');
  assert.equal(body.requestId, edge.requestId, 'the 400 names the request its line is about');
  assert.equal(edge.status, 400);
  assert.equal(edge.bytesOut, Buffer.byteLength(text.split('\r\n\r\n')[1]!));
  assert.equal(edge.outcome, 'client-aborted');
  assert.match(String(edge.reason), /^bad chunk encoding/);
  assert.equal(router.outcome, 'client-aborted');
  assert.equal(router.status, undefined, 'the router sent nothing');
  assert.equal(router.bytesOut, 0);
  assert.equal(router.reason, 'request body ended early (connection closed)');
  assert.equal(gw.edge.logs.records.filter((l) => l.event === 'client-error' && l.requestId === body.requestId).length, 0, 'no second line for the same request');
});

test('HTTP/2: RST_STREAM(CANCEL) mid-body is client-aborted at the edge, and at the router whose request the edge aborted', async () => {
  const h2c = await rawH2(gw.edgeUrl);
  try {
    h2c.headers(1, { ':method': 'POST', ':scheme': 'https', ':authority': 'localhost', ':path': '/echo/h2-cancel' }, false);
    h2c.data(1, 'amount=1', false);
    await bodyArrived('/echo/h2-cancel');
    h2c.rstStream(1, h2.NGHTTP2_CANCEL);
    const { edge, router } = await oneLineEach('/echo/h2-cancel');
    assert.equal(edge.outcome, 'client-aborted');
    assert.equal(edge.reason, 'client closed the stream (RST_STREAM CANCEL)');
    assert.equal(edge.status, undefined, 'nothing was sent: no 200');
    assert.equal(edge.bytesOut, 0);
    assert.equal(router.outcome, 'client-aborted');
    assert.equal(router.reason, 'request body ended early (connection closed)');
    assert.equal(router.status, undefined);
  } finally {
    h2c.close();
  }
});

test('a client that leaves while the pipeline waits for the upstream gets its one line at once on each tier, and no other later', async () => {
  const session = await h2Session();
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/slow/left' });
    stream.on('error', () => undefined);
    await waitFor('the request at the backend', () => bodyBytes.has('/slow/left') || undefined, 10_000);
    stream.close(h2.NGHTTP2_CANCEL);
    const { edge, router } = await oneLineEach('/slow/left');
    assert.equal(edge.outcome, 'client-aborted');
    assert.equal(edge.reason, 'client closed the stream (RST_STREAM CANCEL)');
    assert.equal(edge.status, undefined);
    assert.equal(router.outcome, 'client-aborted');
    assert.equal(router.reason, 'client closed the connection');
    assert.equal(router.status, undefined);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(gw.edge.logs.access().filter((l) => l.path === '/slow/left').length, 1);
    assert.equal(gw.router.logs.access().filter((l) => l.path === '/slow/left').length, 1);
  } finally {
    session.destroy();
  }
});

test('a chunked body cut off at the route limit: the edge logs the 413 it sent as completed, the router the body that ended early', async () => {
  const s = await tlsHttp1();
  const reply = untilClosed(s);
  s.write('POST /small/over HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n' + 'a'.repeat(512) + '\r\n');
  await bodyArrived('/small/over');
  s.write('400\r\n' + 'b'.repeat(1024) + '\r\n');
  const text = await reply;
  assert.match(text, /^HTTP\/1\.1 413 /);
  const { edge, router } = await oneLineEach('/small/over');
  assert.equal(edge.status, 413);
  assert.equal(edge.outcome, 'completed');
  assert.equal(edge.bytesOut, Buffer.byteLength(text.split('\r\n\r\n')[1]!));
  assert.match(String(edge.reason), /over the route limit 1024/);
  assert.equal(router.outcome, 'client-aborted');
  assert.equal(router.reason, 'request body ended early (connection closed)');
  assert.equal(router.status, undefined);
});

test('a client that leaves mid-response is client-aborted on both tiers with the 200 that was sent and the bytes that went out, over HTTP/1.1 and HTTP/2', async () => {
  const s = await tlsHttp1();
  let received = '';
  s.on('data', (d: Buffer) => { received += d.toString('latin1'); });
  s.write('GET /drip/h1 HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await waitFor('the first body bytes', () => received.includes('d'.repeat(DRIPPED)) || undefined, 10_000);
  s.destroy();
  const h1 = await oneLineEach('/drip/h1');
  assert.equal(h1.edge.reason, 'client closed the connection');
  assert.equal(h1.router.reason, 'client closed the connection', 'the edge closed the router connection when its client left');

  const session = await h2Session();
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/drip/h2' });
    stream.on('error', () => undefined);
    let bytes = 0;
    stream.on('data', (d: Buffer) => { bytes += d.length; });
    await waitFor('the first body bytes', () => bytes >= DRIPPED || undefined, 10_000);
    stream.close(h2.NGHTTP2_CANCEL);
    const h2Lines = await oneLineEach('/drip/h2');
    assert.equal(h2Lines.edge.reason, 'client closed the stream (RST_STREAM CANCEL)');
    for (const { edge, router } of [h1, h2Lines]) {
      for (const line of [edge, router]) {
        assert.equal(line.outcome, 'client-aborted', JSON.stringify(line));
        assert.equal(line.status, 200);
        assert.equal(line.bytesOut, DRIPPED);
      }
    }
  } finally {
    session.destroy();
  }
});

test('a body that stalls gets 408, logged as the 408 sent', async () => {
  const s = await tlsHttp1();
  const reply = untilClosed(s);
  s.write('POST /echo/stalled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nonly-a-little');
  const text = await reply;
  assert.match(text, /^HTTP\/1\.1 408 /);
  const body = text.split('\r\n\r\n')[1]!;
  const { edge, router } = await oneLineEach('/echo/stalled');
  assert.equal(JSON.parse(body).requestId, edge.requestId);
  assert.equal(edge.status, 408);
  assert.equal(edge.bytesOut, Buffer.byteLength(body));
  assert.equal(edge.outcome, 'client-aborted');
  assert.equal(edge.reason, 'request body too slow (408)');
  assert.equal(router.outcome, 'client-aborted');
  assert.equal(router.status, undefined);
});

test('a backend that dies mid-body: both tiers log upstream-aborted with the 200 they sent and the bytes that went out', async () => {
  const s = await tlsHttp1();
  const reply = untilClosed(s);
  s.write('GET /dies/h1 HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const text = await reply;
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.equal(Buffer.byteLength(text.split('\r\n\r\n')[1]!, 'latin1'), SENT_BEFORE_DYING, 'the client got the truncated body and a closed connection');
  const { edge, router } = await oneLineEach('/dies/h1');
  for (const [tier, line] of [['edge', edge], ['router', router]] as const) {
    assert.equal(line.status, 200, tier);
    assert.equal(line.outcome, 'upstream-aborted', tier);
    assert.equal(line.reason, 'upstream reset', tier);
    assert.equal(line.bytesOut, SENT_BEFORE_DYING, tier);
  }
});

test('over HTTP/2 too, a body the backend broke off is upstream-aborted at the edge, with the stream reset', async () => {
  const session = await h2Session();
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/dies/h2' });
    let status = 0;
    let received = 0;
    stream.on('response', (h) => { status = Number(h[':status']); });
    stream.on('data', (d: Buffer) => { received += d.length; });
    stream.on('error', () => undefined);
    await new Promise((r) => stream.on('close', r));
    assert.equal(status, 200);
    assert.equal(received, SENT_BEFORE_DYING);
    assert.notEqual(stream.rstCode, h2.NGHTTP2_NO_ERROR, 'the stream was reset, not ended as complete');
    const { edge, router } = await oneLineEach('/dies/h2');
    for (const line of [edge, router]) {
      assert.equal(line.status, 200);
      assert.equal(line.outcome, 'upstream-aborted');
      assert.equal(line.bytesOut, SENT_BEFORE_DYING);
    }
  } finally {
    session.destroy();
  }
});
