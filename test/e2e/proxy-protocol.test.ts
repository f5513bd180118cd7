// The PROXY protocol on the edge's HTTPS listener, over real TCP + TLS on
// loopback: the client address a trusted balancer's header names is the one
// the backend's X-Forwarded-For, the access line and the ip rate limit see;
// any other peer's header is never believed; broken, slow or missing headers
// close the connection; and a real HAProxy in TCP mode interoperates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, configFrom, send, certificates, type Gateway, type Tier } from '../harness/gateway.js';
import type { LogCapture, LogRecord } from '../harness/logs.js';
import { http1 } from '../harness/raw.js';
import { proxyV1, proxyV2, requestBehind, h2Behind, tlsBehind, type Outcome } from '../harness/proxy-protocol.js';
import { haproxyBinary } from '../harness/binaries.js';
import { spawnOwned } from '../harness/process.js';
import { freePort, waitFor } from '../harness/ports.js';

let backend: EchoBackend;
let gw: Gateway;
const extraEdges: Tier[] = [];

const PROXY_PROTOCOL = { trustedPeers: ['127.0.0.1'], required: true, timeoutMs: 500 };

before(async () => {
  backend = await startEchoBackend('behind-balancer');
  gw = await startGateway({
    rateLimits: { 'per-client': { key: 'ip', windows: [{ name: 'minute', limit: 2, periodSeconds: 60 }] } },
    routes: [
      { name: 'app', match: { pathPrefix: '/app' }, service: 'app' },
      { name: 'limited', match: { pathPrefix: '/limited' }, service: 'app', rateLimit: 'per-client' },
    ],
    services: { app: { static: [backend.url] } },
    edgeExtra: { listen: { port: 0, proxyProtocol: PROXY_PROTOCOL } },
  });
});

after(async () => {
  for (const edge of extraEdges) await edge.runtime.close();
  await gw.close();
  await backend.close();
});

/** One more edge in front of the same router, with its own PROXY protocol settings (undefined: off). */
async function startEdge(proxyProtocol: Record<string, unknown> | undefined, trustedProxies: string[] = []): Promise<Tier> {
  const base = gw.edgeConfig;
  const edge = await startTier('edge', configFrom({ ...base, edge: { ...base.edge!, trustedProxies, listen: { ...base.edge!.listen, proxyProtocol } } }));
  extraEdges.push(edge);
  return edge;
}

const GET = (path: string) => http1('GET', path, []);

/** X-Forwarded-For as the backend gets it: the client the edge worked out, then the edge as the router saw it. */
const viaEdge = (client: string) => `${client}, 127.0.0.1`;

function served(outcome: Outcome): { status: number; requestId: string; seen: EchoReply | undefined } {
  assert.equal(outcome.closed, false, `expected an HTTP answer, the connection was closed (${outcome.closed && outcome.error})`);
  const reply = (outcome as Extract<Outcome, { closed: false }>).reply;
  const requestId = reply.headers['x-request-id'] ?? '';
  const seen = backend.received.find((r) => r.headers['x-request-id'] === requestId);
  return { status: reply.status, requestId, seen };
}

function accessLine(logs: LogCapture, requestId: string): LogRecord | undefined {
  return logs.access().find((r) => r.requestId === requestId);
}

function refusals(logs: LogCapture): LogRecord[] {
  return logs.records.filter((r) => r.event === 'proxy-protocol-refused');
}

async function assertStillServing(url: string): Promise<void> {
  const { status, seen } = served(await requestBehind(url, proxyV1('TCP4 192.0.2.200 127.0.0.1 40000 443'), GET('/app/after')));
  assert.equal(status, 200, 'the edge still serves a well-formed connection');
  assert.equal(seen?.headers['x-forwarded-for'], viaEdge('192.0.2.200'));
}

test('a v1 header from a trusted balancer: the backend gets X-Forwarded-For with the client it names, and the access line says so', async () => {
  const { status, requestId, seen } = served(await requestBehind(gw.edgeUrl, proxyV1('TCP4 203.0.113.7 127.0.0.1 51234 443'), GET('/app/v1')));
  assert.equal(status, 200);
  assert.equal(seen?.headers['x-forwarded-for'], viaEdge('203.0.113.7'));
  assert.equal(accessLine(gw.edge.logs, requestId)?.client, '203.0.113.7');
});

test('a v2 header (TCP over IPv4, with TLVs the edge skips) names the client the same way', async () => {
  const header = proxyV2({ source: '198.51.100.20', tlvs: [{ type: 0x05, value: Buffer.from('unique-id-1234') }, { type: 0xea, value: Buffer.from('\x01vpce-0123456789abcdef') }] });
  const { status, requestId, seen } = served(await requestBehind(gw.edgeUrl, header, GET('/app/v2')));
  assert.equal(status, 200);
  assert.equal(seen?.headers['x-forwarded-for'], viaEdge('198.51.100.20'));
  assert.equal(accessLine(gw.edge.logs, requestId)?.client, '198.51.100.20');
});

test('an IPv6 client, from a v2 header over HTTP/2 and from a v1 header spelt differently, is one canonical address', async () => {
  const h2 = await h2Behind(gw.edgeUrl, proxyV2({ source: '2001:db8:0:0:0:0:0:42' }), '/app/v2-h2');
  assert.equal(h2.status, 200);
  assert.equal(backend.received.find((r) => r.headers['x-request-id'] === h2.requestId)?.headers['x-forwarded-for'], viaEdge('2001:db8::42'));
  assert.equal(accessLine(gw.edge.logs, h2.requestId)?.client, '2001:db8::42');
  const v1 = served(await requestBehind(gw.edgeUrl, proxyV1('TCP6 2001:DB8:0::42 ::1 51234 443'), GET('/app/v1-v6')));
  assert.equal(v1.seen?.headers['x-forwarded-for'], viaEdge('2001:db8::42'));
  const mapped = served(await requestBehind(gw.edgeUrl, proxyV2({ source: '::ffff:203.0.113.9' }), GET('/app/mapped')));
  assert.equal(mapped.seen?.headers['x-forwarded-for'], viaEdge('203.0.113.9'), 'an IPv4-mapped address is the IPv4 client');
});

test('the ip rate limit counts each client a header names, not the balancer they share', async () => {
  const from = (ip: string) => requestBehind(gw.edgeUrl, proxyV1(`TCP4 ${ip} 127.0.0.1 40000 443`), GET('/limited/x'));
  assert.equal(served(await from('203.0.113.50')).status, 200);
  assert.equal(served(await from('203.0.113.50')).status, 200);
  const refused = await from('203.0.113.50');
  assert.equal(served(refused).status, 429, 'the third request of one client within the minute');
  assert.equal(JSON.parse((refused as Extract<Outcome, { closed: false }>).reply.body).error, 'rate_limited');
  assert.equal(served(await from('203.0.113.51')).status, 200, 'another client behind the same balancer has its own budget');
});

test('the per-client connection cap counts each client a header names, not the balancer they share', async () => {
  const base = gw.edgeConfig;
  const edge = await startTier('edge', configFrom({ ...base, edge: { ...base.edge!, limits: { ...base.edge!.limits, maxConnectionsPerClient: 2 }, listen: { ...base.edge!.listen, proxyProtocol: PROXY_PROTOCOL } } }));
  extraEdges.push(edge);
  const url = edge.addresses.url;
  const header = (ip: string) => proxyV1(`TCP4 ${ip} 127.0.0.1 40000 443`);
  const held = await Promise.all([1, 2].map(async () => {
    const socket = await tlsBehind(url, header('203.0.113.60'));
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject); });
    return socket;
  }));
  try {
    const third = await requestBehind(url, header('203.0.113.60'), GET('/app/third'));
    assert.equal(third.closed, true, 'a third connection of the same client is closed');
    assert.equal(served(await requestBehind(url, header('203.0.113.61'), GET('/app/other'))).status, 200,
      'another client behind the same balancer is served: its connections are its own');
  } finally {
    for (const socket of held) socket.destroy();
  }
});

test('the client a header names is the peer trustedProxies judges: an HTTP proxy behind the balancer has its X-Forwarded-For and X-Request-Id believed, anyone else not', async () => {
  const edge = await startEdge(PROXY_PROTOCOL, ['203.0.113.0/24']);
  const request = http1('GET', '/app/layered', ['X-Forwarded-For: 198.51.100.1', 'X-Request-Id: layered-request-1']);
  const proxy = served(await requestBehind(edge.addresses.url, proxyV1('TCP4 203.0.113.10 127.0.0.1 40000 443'), request));
  assert.equal(proxy.requestId, 'layered-request-1');
  assert.equal(proxy.seen?.headers['x-forwarded-for'], viaEdge('198.51.100.1, 203.0.113.10'));
  assert.equal(accessLine(edge.logs, proxy.requestId)?.client, '198.51.100.1');
  const other = served(await requestBehind(edge.addresses.url, proxyV1('TCP4 192.0.2.1 127.0.0.1 40000 443'), request));
  assert.notEqual(other.requestId, 'layered-request-1', 'the balancer itself (127.0.0.1) is no trusted proxy of the request');
  assert.equal(other.seen?.headers['x-forwarded-for'], viaEdge('192.0.2.1'));
  assert.equal(accessLine(edge.logs, other.requestId)?.client, '192.0.2.1');
});

test('LOCAL (a balancer\'s health check) and v1 UNKNOWN: the balancer speaks for itself, its own address is the client', async () => {
  for (const header of [proxyV2({ command: 'LOCAL', source: '203.0.113.99' }), proxyV1('UNKNOWN'), proxyV1('UNKNOWN 203.0.113.99 127.0.0.1 1 2')]) {
    const { status, requestId, seen } = served(await requestBehind(gw.edgeUrl, header, GET('/app/local')));
    assert.equal(status, 200);
    assert.equal(seen?.headers['x-forwarded-for'], viaEdge('127.0.0.1'), header.toString('latin1'));
    assert.equal(accessLine(gw.edge.logs, requestId)?.client, '127.0.0.1');
  }
});

test('a header that arrives in pieces within the timeout is read whole, v1 and v2', async () => {
  const port = Number(new URL(gw.edgeUrl).port);
  const ca = readFileSync((await certificates).caFile);
  for (const [client, header] of [['203.0.113.77', proxyV1('TCP4 203.0.113.77 127.0.0.1 40000 443')], ['203.0.113.78', proxyV2({ source: '203.0.113.78' })]] as const) {
    const tcp = tcpConnect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise((resolve) => tcp.once('connect', resolve));
    for (let i = 0; i < header.length; i += 5) {
      tcp.write(header.subarray(i, i + 5));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const tls = tlsConnect({ socket: tcp, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    const text = await new Promise<string>((resolve, reject) => {
      let out = '';
      tls.once('secureConnect', () => tls.write(GET('/app/in-pieces')));
      tls.on('data', (d: Buffer) => { out += d.toString(); });
      tls.on('error', reject);
      tls.on('close', () => resolve(out));
    });
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(backend.received.at(-1)?.headers['x-forwarded-for'], viaEdge(client));
  }
});

test('required: a trusted peer that speaks TLS without a header is closed, and the refusal is logged', async () => {
  const outcome = await requestBehind(gw.edgeUrl, undefined, GET('/app/no-header'));
  assert.equal(outcome.closed, true);
  await waitFor('the refusal line', () => refusals(gw.edge.logs).find((r) => r.reason === 'no PROXY header from a peer that must send one'), 3_000);
  assert.equal(backend.received.some((r) => r.url === '/app/no-header'), false);
});

test('broken, oversized and unfinished headers close the connection; nothing reaches the backend; the edge serves on', async () => {
  const broken: [string, Buffer][] = [
    ['bare LF', Buffer.from('PROXY TCP4 203.0.113.7 127.0.0.1 51234 443\n')],
    ['not an IPv4 address', proxyV1('TCP4 203.0.113.300 127.0.0.1 51234 443')],
    ['IPv6 under TCP4', proxyV1('TCP4 2001:db8::1 127.0.0.1 51234 443')],
    ['two spaces', proxyV1('TCP4  203.0.113.7 127.0.0.1 51234 443')],
    ['port with a leading zero', proxyV1('TCP4 203.0.113.7 127.0.0.1 051234 443')],
    ['port over 65535', proxyV1('TCP4 203.0.113.7 127.0.0.1 65536 443')],
    ['unknown protocol', proxyV1('TCP5 203.0.113.7 127.0.0.1 51234 443')],
    ['no space after PROXY', Buffer.from('PROXY\r\n')],
    ['v1 line over 107 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(120)}\r\n`)],
    ['v2 version 3', proxyV2({ source: '203.0.113.7', versionCommand: 0x31 })],
    ['v2 command 2', proxyV2({ source: '203.0.113.7', versionCommand: 0x22 })],
    ['v2 UDP', proxyV2({ source: '203.0.113.7', familyProtocol: 0x12 })],
    ['v2 undefined family', proxyV2({ source: '203.0.113.7', familyProtocol: 0x41 })],
    ['v2 IPv4 block too short', Buffer.concat([proxyV2({ source: '203.0.113.7', length: 4 }).subarray(0, 20)])],
    ['v2 length over the bound', proxyV2({ source: '203.0.113.7', tlvs: [{ type: 0x05, value: Buffer.alloc(3_000) }] })],
    ['a broken v2 signature', Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0b]), Buffer.alloc(8)])],
  ];
  for (const [what, header] of broken) {
    const outcome = await requestBehind(gw.edgeUrl, header, GET(`/app/broken-${what.replaceAll(' ', '-')}`));
    assert.equal(outcome.closed, true, `${what}: ${JSON.stringify(outcome)}`);
  }
  assert.equal(backend.received.some((r) => r.url.startsWith('/app/broken-')), false);
  await assertStillServing(gw.edgeUrl);
});

test('a header that does not arrive within timeoutMs closes the connection at the timeout', async () => {
  const port = Number(new URL(gw.edgeUrl).port);
  const started = Date.now();
  const tcp = tcpConnect({ host: '127.0.0.1', port }, () => tcp.write('PROXY TCP4 203.0.113.7 '));
  tcp.on('error', () => undefined);
  await new Promise((resolve) => tcp.once('close', resolve));
  const ms = Date.now() - started;
  assert.ok(ms >= 450 && ms < 3_000, `closed after ${ms} ms (timeoutMs 500)`);
  await assertStillServing(gw.edgeUrl);
});

test('a flood of broken headers writes one log line, not one per connection', async () => {
  const edge = await startEdge(PROXY_PROTOCOL);
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => requestBehind(edge.addresses.url, proxyV1('TCP9 x'), GET('/app/flood'))));
  assert.ok(outcomes.every((o) => o.closed));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const lines = refusals(edge.logs);
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.peer, '127.0.0.1');
  assert.match(String(lines[0]!.reason), /v1 protocol "TCP9"/);
  assert.equal(lines[0]!.level, 'warn', 'a warning: a trusted balancer sending garbage is misconfigured');
});

test('a header from a peer outside trustedPeers is never read: the handshake fails on it; plain TLS from that peer is served as itself', async () => {
  const edge = await startEdge({ trustedPeers: ['10.0.0.0/8'] });
  const outcome = await requestBehind(edge.addresses.url, proxyV1('TCP4 203.0.113.7 127.0.0.1 51234 443'), GET('/app/untrusted'));
  assert.equal(outcome.closed, true);
  assert.equal(backend.received.some((r) => r.url === '/app/untrusted'), false, 'never forwarded, so never believed');
  const direct = served(await requestBehind(edge.addresses.url, undefined, GET('/app/direct')));
  assert.equal(direct.status, 200);
  assert.equal(direct.seen?.headers['x-forwarded-for'], viaEdge('127.0.0.1'));
  assert.equal(accessLine(edge.logs, direct.requestId)?.client, '127.0.0.1');
});

test('required: false lets a trusted peer speak TLS directly as its own client, and still believes its headers', async () => {
  const edge = await startEdge({ trustedPeers: ['127.0.0.1'], required: false });
  const direct = served(await requestBehind(edge.addresses.url, undefined, GET('/app/optional-direct')));
  assert.equal(direct.status, 200);
  assert.equal(direct.seen?.headers['x-forwarded-for'], viaEdge('127.0.0.1'));
  const proxied = served(await requestBehind(edge.addresses.url, proxyV1('TCP4 203.0.113.8 127.0.0.1 51234 443'), GET('/app/optional-proxied')));
  assert.equal(proxied.seen?.headers['x-forwarded-for'], viaEdge('203.0.113.8'));
  assert.equal((await requestBehind(edge.addresses.url, proxyV1('TCP4 nonsense'), GET('/app/optional-broken'))).closed, true, 'a broken header is still refused');
});

test('without proxyProtocol a PROXY header is just bytes before TLS: the connection fails', async () => {
  const edge = await startEdge(undefined);
  assert.equal((await requestBehind(edge.addresses.url, proxyV1('TCP4 203.0.113.7 127.0.0.1 51234 443'), GET('/app/off'))).closed, true);
  assert.equal(served(await requestBehind(edge.addresses.url, undefined, GET('/app/off-direct'))).status, 200);
});

test('behind a real HAProxy in TCP mode (send-proxy-v2 and send-proxy): the client address crosses it, health checks are quiet', async (t) => {
  const haproxy = haproxyBinary(); // throws with how to install it: this test never skips
  // HAProxy connects from 127.0.0.2, the only trusted peer; the client connects from 127.0.0.5, so only a
  // header the edge believed can put 127.0.0.5 in X-Forwarded-For.
  const edge = await startEdge({ trustedPeers: ['127.0.0.2'], timeoutMs: 1_000 });
  const edgePort = Number(new URL(edge.addresses.url).port);
  const [v2Port, v1Port] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-'));
  writeFileSync(join(dir, 'haproxy.cfg'), `global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend v2
  bind 127.0.0.1:${v2Port}
  default_backend edge-v2
frontend v1
  bind 127.0.0.1:${v1Port}
  default_backend edge-v1
backend edge-v2
  server edge 127.0.0.1:${edgePort} source 127.0.0.2 send-proxy-v2 proxy-v2-options crc32c check inter 100 check-send-proxy
backend edge-v1
  server edge 127.0.0.1:${edgePort} source 127.0.0.2 send-proxy check inter 100 check-send-proxy
`);
  const proc = spawnOwned(haproxy, ['-db', '-f', join(dir, 'haproxy.cfg')]);
  t.after(() => proc.stop());
  for (const port of [v2Port, v1Port]) {
    await waitFor(`haproxy on ${port}`, () => new Promise<boolean>((resolve) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    }), 10_000);
  }
  const ca = readFileSync((await certificates).caFile);
  const client = new Agent({ connect: { ca, servername: 'localhost' }, localAddress: '127.0.0.5', allowH2: true });
  t.after(() => client.close());
  for (const [version, port] of [['v2', v2Port], ['v1', v1Port]] as const) {
    const reply = await send(client, `https://127.0.0.1:${port}/app/haproxy-${version}`);
    assert.equal(reply.status, 200, `${version}: ${reply.text} ${proc.output()}`);
    const requestId = String(reply.headers['x-request-id']);
    assert.equal(JSON.parse(reply.text).headers['x-forwarded-for'], viaEdge('127.0.0.5'), version);
    assert.equal(accessLine(edge.logs, requestId)?.client, '127.0.0.5', version);
  }
  // A second of health checks every 100 ms on both backends, each a header (LOCAL, UNKNOWN) and a close.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.deepEqual(refusals(edge.logs), [], 'health checks are no refusals');
  assert.doesNotMatch(proc.output(), /DOWN/, 'HAProxy saw the edge up');
});
