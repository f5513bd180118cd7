// The edge's guards on connections themselves, over real sockets from
// several loopback addresses (each one client): the TLS handshake deadline,
// and the cap on connections one client holds, on the HTTPS listener and on
// the plain-HTTP redirect listener.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, certificates, type Gateway } from '../harness/gateway.js';
import { rawRequest, http1, openTls, clientHello } from '../harness/raw.js';
import { waitFor } from '../harness/ports.js';

const HANDSHAKE_MS = 500;
const PER_CLIENT = 3;
const PROXY = '127.0.0.7';

let backend: EchoBackend;
let gw: Gateway;

before(async () => {
  const certs = await certificates;
  backend = await startEchoBackend('conn');
  gw = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [backend.url] } },
    redirectHttp: true,
    edgeTrustedProxies: [PROXY],
    edgeExtra: {
      tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }], handshakeTimeoutMs: HANDSHAKE_MS },
      limits: { maxConnectionsPerClient: PER_CLIENT },
    },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

const edgePort = () => Number(new URL(gw.edgeUrl).port);

function tcp(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** When the server closes the socket (or limitMs passes), and what it had sent. */
function closeOf(s: Socket, limitMs = 5_000): Promise<{ ms: number; text: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (d: Buffer) => { text += d.toString('latin1'); });
    s.on('error', () => undefined);
    const timer = setTimeout(() => { s.destroy(); resolve({ ms: Date.now() - started, text: 'still open' }); }, limitMs);
    s.on('close', () => { clearTimeout(timer); resolve({ ms: Date.now() - started, text }); });
  });
}

const limitLines = (client: string) => gw.edge.logs.records.filter((r) => r.event === 'client-connection-limit' && r.client === client);

test('a connection that never starts TLS is closed when the handshake timeout passes, while HTTPS clients are served', async () => {
  const silent = await tcp(edgePort(), '127.0.0.3');
  const closed = closeOf(silent);
  for (let i = 0; i < 3; i++) assert.equal((await gw.get(`/meanwhile/${i}`)).status, 200);
  const { ms, text } = await closed;
  assert.equal(text, '', 'closed without a byte sent');
  assert.ok(ms >= HANDSHAKE_MS - 50 && ms < HANDSHAKE_MS + 1_000, `closed after ${ms} ms`);
  const logged = gw.edge.logs.records.find((r) => r.event === 'client-error' && r.client === '127.0.0.3');
  assert.match(String(logged?.reason), /^ERR_TLS_HANDSHAKE_TIMEOUT/);
});

test('a client trickling its ClientHello is closed at the same deadline: its bytes do not keep it open', async () => {
  const hello = await clientHello();
  const s = await tcp(edgePort(), '127.0.0.3');
  let sent = 0;
  const trickle = setInterval(() => { if (!s.destroyed && sent < hello.length) s.write(hello.subarray(sent, ++sent)); }, 20);
  const { ms } = await closeOf(s);
  clearInterval(trickle);
  assert.ok(sent < hello.length, 'still inside its ClientHello when closed');
  assert.ok(ms >= HANDSHAKE_MS - 50 && ms < HANDSHAKE_MS + 1_000, `closed after ${ms} ms, ${sent} bytes sent`);
});

test('a completed handshake is not cut by the handshake timeout', async () => {
  const s = await openTls(gw.edgeUrl, '127.0.0.3');
  await new Promise((r) => setTimeout(r, HANDSHAKE_MS * 2));
  s.write(http1('GET', '/after-handshake', []));
  const { text } = await closeOf(s);
  assert.match(text, /^HTTP\/1\.1 200 /);
});

test('a client at its connection limit has new connections closed before TLS, logged once; others are served, and it is admitted again once it closes one', async () => {
  const held = await Promise.all(Array.from({ length: PER_CLIENT }, () => openTls(gw.edgeUrl, '127.0.0.2')));
  try {
    for (let i = 0; i < 5; i++) {
      await assert.rejects(openTls(gw.edgeUrl, '127.0.0.2'), /socket disconnected before secure TLS connection|ECONNRESET/, `extra connection ${i + 1}`);
    }
    assert.equal((await rawRequest(gw.edgeUrl, http1('GET', '/other-client', []), 5_000, '127.0.0.4')).status, 200, 'another address is served');
    held[0]!.write(http1('GET', '/held', []));
    assert.match((await closeOf(held[0]!)).text, /^HTTP\/1\.1 200 /, 'the held connections still work');
    const lines = limitLines('127.0.0.2');
    assert.equal(lines.length, 1, 'five refusals, one log line');
    assert.equal(lines[0]!.listener, 'https');
    assert.equal(lines[0]!.limit, PER_CLIENT);
    // held[0] closed with its response: one place is free again.
    const again = await waitFor('a new connection admitted', () => openTls(gw.edgeUrl, '127.0.0.2').catch(() => undefined), 3_000);
    again.write(http1('GET', '/admitted-again', []));
    assert.match((await closeOf(again)).text, /^HTTP\/1\.1 200 /);
  } finally {
    held.forEach((s) => s.destroy());
  }
});

test('connections from a trusted proxy are not capped per client', async () => {
  const many = await Promise.all(Array.from({ length: PER_CLIENT + 2 }, () => openTls(gw.edgeUrl, PROXY)));
  many.forEach((s) => s.destroy());
  assert.equal(limitLines(PROXY).length, 0);
});

test('the plain-HTTP redirect listener caps connections per client too', async () => {
  const redirectPort = Number(new URL(gw.edge.addresses.extra!.redirectUrl!).port);
  const held = await Promise.all(Array.from({ length: PER_CLIENT }, () => tcp(redirectPort, '127.0.0.5')));
  try {
    const extra = await closeOf(await tcp(redirectPort, '127.0.0.5'), 2_000);
    assert.equal(extra.text, '', 'closed at once, unanswered');
    assert.ok(extra.ms < 1_000, `closed after ${extra.ms} ms`);
    const other = await rawRequest(gw.edge.addresses.extra!.redirectUrl!, http1('GET', '/x', []), 5_000, '127.0.0.6');
    assert.equal(other.status, 308, 'another address is redirected');
    const lines = limitLines('127.0.0.5');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.listener, 'redirect');
    assert.ok(held.every((s) => !s.destroyed), 'the held connections stay open');
  } finally {
    held.forEach((s) => s.destroy());
  }
});
