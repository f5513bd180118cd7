// A client that goes away must take its upstream request with it, on both
// tiers: a cancelled HTTP/2 stream or a dropped connection aborts the request
// at the backend at once, a request body cut short reaches the backend as
// cut short (never as a complete request), and an HTTP/2 rapid-reset flood
// (CVE-2023-44487) gets GOAWAY instead of starving other clients. The backend
// records, per request, whether its body ended and whether its response was
// abandoned. Cases after ../shared/reference/hostile-inputs.md I07 and I10.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingHttpHeaders } from 'node:http';
import { connect as http2Connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { connect as tcpConnect, type Socket, type AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { startGateway, certificates, httpsClient, send, TEST_IDENTITY, type Gateway } from '../harness/gateway.js';
import { waitFor } from '../harness/ports.js';
import { rawH2, type RawH2 } from '../harness/raw-h2.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

/** What the backend saw of one request: its body's end, and whether its response was abandoned. */
interface Seen {
  readonly url: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  bodyBytes: number;
  body: 'open' | 'complete' | 'aborted';
  /** The connection went before the backend answered. */
  abandoned: boolean;
}

// Long enough that a request the gateway fails to abort is still held when a test looks.
const HOLD_MS = 45_000;

let backend: Server;
let gw: Gateway;
let assertion: string;
const seen: Seen[] = [];

before(async () => {
  backend = createServer((req, res) => {
    const s: Seen = { url: req.url ?? '', method: req.method ?? '', headers: req.headers, bodyBytes: 0, body: 'open', abandoned: false };
    seen.push(s);
    req.on('data', (c: Buffer) => { s.bodyBytes += c.length; });
    req.on('end', () => { if (s.body === 'open') s.body = 'complete'; });
    req.on('error', () => { if (s.body === 'open') s.body = 'aborted'; });
    req.on('close', () => { if (s.body === 'open') s.body = 'aborted'; });
    if (req.url!.startsWith('/slow')) {
      const timer = setTimeout(() => res.end('late'), HOLD_MS);
      res.on('close', () => clearTimeout(timer));
    } else {
      // A body is read to its end (or its failure) before the answer, as an application would.
      req.on('end', () => res.end(JSON.stringify({ bodyBytes: s.bodyBytes })));
    }
    res.on('close', () => { if (!res.writableFinished) s.abandoned = true; });
  });
  backend.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [`http://127.0.0.1:${(backend.address() as AddressInfo).port}`] } },
  });
  assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
});

after(async () => {
  await gw.close();
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

async function h2Session(): Promise<ClientHttp2Session> {
  const ca = readFileSync((await certificates).caFile);
  const session = http2Connect(gw.edgeUrl, { ca, servername: 'localhost' });
  session.on('error', () => undefined); // a GOAWAY'd or reset session errors its pending streams; tests assert on events
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  return session;
}

/** The backend's record of the one request to this (unique) path, once it arrived. */
function arrival(url: string, timeoutMs = 10_000): Promise<Seen> {
  return waitFor(`${url} to reach the backend`, () => seen.find((s) => s.url === url), timeoutMs);
}

/** The backend's record once its outcome is known, or undefined if the request never reached it within the time. */
async function settled(url: string, timeoutMs = 10_000): Promise<Seen | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = seen.find((x) => x.url === url);
    if (s !== undefined && s.body !== 'open') return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen.find((x) => x.url === url);
}

test('an HTTP/2 stream the client cancels aborts its request at the backend at once', async () => {
  const session = await h2Session();
  try {
    const stream = session.request({ ':method': 'GET', ':path': '/slow/cancelled' });
    stream.on('error', () => undefined);
    const s = await arrival('/slow/cancelled');
    const cancelledAt = Date.now();
    stream.close(h2.NGHTTP2_CANCEL);
    await waitFor('the backend request to be abandoned', () => s.abandoned || undefined, 10_000);
    assert.ok(Date.now() - cancelledAt < 10_000, 'released long before the backend would have answered');
  } finally {
    session.destroy();
  }
});

test('a client that drops its connection to the router aborts the backend request (the router releases what the edge gave up)', async () => {
  const u = new URL(gw.routerUrl);
  const socket: Socket = tcpConnect({ host: u.hostname, port: Number(u.port) });
  socket.on('error', () => undefined);
  socket.write(`GET /slow/router-dropped HTTP/1.1\r\nHost: localhost\r\n${IDENTITY_HEADER}: ${assertion}\r\n\r\n`);
  const s = await arrival('/slow/router-dropped');
  socket.destroy();
  await waitFor('the backend request to be abandoned', () => s.abandoned || undefined, 10_000);
});

test('a client that drops its HTTP/1.1 connection to the edge aborts the request through both tiers', async () => {
  const ca = readFileSync((await certificates).caFile);
  const u = new URL(gw.edgeUrl);
  const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  socket.on('error', () => undefined);
  socket.write('GET /slow/edge-dropped HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const s = await arrival('/slow/edge-dropped');
  socket.destroy();
  await waitFor('the backend request to be abandoned', () => s.abandoned || undefined, 10_000);
});

// A body the client never finished, in raw frames: node:http2's client always sends END_STREAM before
// its RST_STREAM, and a body that did end is complete, whatever the client does next.
const CUT_SHORT_H2: Record<string, (h2c: RawH2, path: string) => Promise<void>> = {
  'RST_STREAM(CANCEL) before END_STREAM': async (h2c, path) => {
    h2c.headers(1, { ...post(path), 'content-type': 'application/x-www-form-urlencoded' }, false);
    h2c.data(1, 'amount=1', false);
    await bodyBytesArrived(path);
    h2c.rstStream(1, h2.NGHTTP2_CANCEL);
  },
  'RST_STREAM(NO_ERROR) before END_STREAM': async (h2c, path) => {
    h2c.headers(1, { ...post(path), 'content-type': 'application/x-www-form-urlencoded' }, false);
    h2c.data(1, 'amount=1', false);
    await bodyBytesArrived(path);
    h2c.rstStream(1, h2.NGHTTP2_NO_ERROR);
  },
  'content-length: 5, then 20 bytes of DATA': async (h2c, path) => {
    h2c.headers(1, { ...post(path), 'content-length': '5' }, false);
    h2c.data(1, 'a'.repeat(20), true);
  },
  'the connection closed before END_STREAM': async (h2c, path) => {
    h2c.headers(1, post(path), false);
    h2c.data(1, 'amount=1', false);
    await bodyBytesArrived(path);
    h2c.close();
  },
};

function post(path: string): Record<string, string> {
  return { ':method': 'POST', ':scheme': 'https', ':authority': 'localhost', ':path': path };
}

async function bodyBytesArrived(path: string): Promise<void> {
  await arrival(path);
  await waitFor('the first body bytes at the backend', () => seen.find((s) => s.url === path)!.bodyBytes > 0 || undefined, 10_000);
}

for (const [shape, cutShort] of Object.entries(CUT_SHORT_H2)) {
  test(`over HTTP/2, a request body cut short (${shape}) never reaches the backend as a complete request`, async () => {
    const h2c = await rawH2(gw.edgeUrl);
    const path = `/body/h2-${shape.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    try {
      await cutShort(h2c, path);
      const s = await settled(path, 5_000);
      // Never arriving is as good as arriving cut short; a complete request is the bug.
      if (s !== undefined) assert.equal(s.body, 'aborted', `${shape}: the backend saw ${s.body} (${s.bodyBytes} bytes, content-length ${String(s.headers['content-length'])})`);
    } finally {
      h2c.close();
    }
  });
}

test('over HTTP/1.1, a request body cut short by a dropped connection reaches the backend cut short', async () => {
  const ca = readFileSync((await certificates).caFile);
  const u = new URL(gw.edgeUrl);
  for (const framing of ['Content-Length: 100', 'Transfer-Encoding: chunked']) {
    const path = `/body/h1-${framing.startsWith('C') ? 'length' : 'chunked'}`;
    const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    socket.on('error', () => undefined);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\n${framing}\r\n\r\n${framing.startsWith('C') ? 'amount=1' : '8\r\namount=1\r\n'}`);
    await arrival(path);
    await waitFor('the first body bytes at the backend', () => seen.find((s) => s.url === path)!.bodyBytes > 0 || undefined, 10_000);
    socket.destroy();
    const s = await settled(path);
    assert.equal(s?.body, 'aborted', framing);
  }
});

test('HTTP/2 rapid reset: other clients are served at once, the flooding connection gets GOAWAY(ENHANCE_YOUR_CALM), and no cancelled request holds the backend', async () => {
  // In raw frames, so every stream reaches the edge: node:http2's client holds back those over the
  // server's concurrency limit. Two rounds of 150 streams, each cancelled right after its HEADERS,
  // at a slow backend: every request the gateway forwards and fails to abort stays in flight,
  // more than the edge's 256 connections to the router.
  const attacker = await rawH2(gw.edgeUrl);
  const before = seen.length;
  const h2Client = await httpsClient(true);
  try {
    let id = 1;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 150; i++, id += 2) {
        attacker.headers(id, { ':method': 'GET', ':scheme': 'https', ':authority': 'localhost', ':path': `/slow/flood-${round}-${i}` }, true);
        attacker.rstStream(id, h2.NGHTTP2_CANCEL);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    // Another client, over HTTP/2 and HTTP/1.1, is answered at once: no connection is held by the flood.
    for (const [name, client] of [['HTTP/2', h2Client], ['HTTP/1.1', gw.client]] as const) {
      const asked = Date.now();
      const r = await Promise.race([
        send(client, `${gw.edgeUrl}/body/after-flood-${name}`),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${name}: no answer within 10 s of the flood`)), 10_000).unref()),
      ]);
      assert.equal(r.status, 200, name);
      assert.ok(Date.now() - asked < 10_000, `${name}: answered after ${Date.now() - asked} ms`);
    }
    await waitFor('the attacker\'s connection to get GOAWAY', () => attacker.goaway(), 10_000).catch(() => undefined);
    assert.equal(attacker.goaway(), h2.NGHTTP2_ENHANCE_YOUR_CALM, 'GOAWAY with ENHANCE_YOUR_CALM once over the reset budget');
    await waitFor('the attacker\'s connection to close', () => attacker.socket.destroyed || attacker.socket.readableEnded || undefined, 10_000);
    // Whatever part of the flood reached the backend was abandoned there, not left waiting for an answer.
    await waitFor('every flood request at the backend to be abandoned', () => {
      const flood = seen.slice(before).filter((s) => s.url.startsWith('/slow/flood-'));
      return flood.every((s) => s.abandoned) || undefined;
    }, 15_000);
    const log = gw.edge.logs.records.find((r) => r.event === 'http2-reset-flood');
    assert.ok(log, 'the edge logs the flood');
    assert.equal(log.client, '127.0.0.1');
  } finally {
    attacker.close();
    await h2Client.destroy();
  }
});

test('the reset budget is per connection and per window, as configured: within it a connection serves on, one reset over gets GOAWAY', async () => {
  const budget = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [`http://127.0.0.1:${(backend.address() as AddressInfo).port}`] } },
    edgeExtra: { limits: { maxStreamResets: 5, streamResetWindowMs: 1_000 } },
  });
  const ca = readFileSync((await certificates).caFile);
  const goaways = new Map<ClientHttp2Session, number>();
  const open = async (): Promise<ClientHttp2Session> => {
    const session = http2Connect(budget.edgeUrl, { ca, servername: 'localhost' });
    session.on('error', () => undefined);
    session.on('goaway', (code: number) => { if (!goaways.has(session)) goaways.set(session, code); });
    sessions.push(session);
    await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
    return session;
  };
  const resets = async (session: ClientHttp2Session, n: number, tag: string): Promise<void> => {
    const before = budget.edge.logs.access().length;
    for (let i = 0; i < n; i++) {
      const stream = session.request({ ':method': 'GET', ':path': `/slow/${tag}-${i}` });
      stream.on('error', () => undefined);
      stream.close(h2.NGHTTP2_CANCEL);
    }
    await waitFor(`${n} reset streams seen by the edge`, () => budget.edge.logs.access().length >= before + n || session.destroyed || undefined, 10_000);
  };
  const get = (session: ClientHttp2Session, path: string): Promise<number> => new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path });
    stream.on('response', (h) => resolve(Number(h[':status'])));
    stream.on('error', reject);
    stream.resume();
  });
  const sessions: ClientHttp2Session[] = [];
  try {
    const calm = await open();
    await resets(calm, 5, 'calm-a');
    await new Promise((r) => setTimeout(r, 1_200)); // a new window
    await resets(calm, 5, 'calm-b');
    assert.equal(await get(calm, '/body/calm'), 200, 'five resets a window are within the budget');
    assert.equal(goaways.get(calm), undefined);
    calm.destroy();

    const flood = await open();
    await resets(flood, 6, 'over');
    await waitFor('GOAWAY', () => goaways.get(flood), 10_000);
    assert.equal(goaways.get(flood), h2.NGHTTP2_ENHANCE_YOUR_CALM);
    flood.destroy();
  } finally {
    for (const session of sessions) session.destroy();
    await budget.close();
  }
});
