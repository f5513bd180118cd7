// WebSocket handshakes choose their instance the way requests do, through the
// same circuits: a handshake is refused 503 circuit_open exactly as a plain
// request is when no circuit admits it, and never lands on an instance whose
// circuit is open. Real `ws` client and server, real tiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { startGateway, startTier, configFrom, certificates, TEST_IDENTITY, type Gateway, type Reply } from '../harness/gateway.js';
import { freePort } from '../harness/ports.js';
import { rawRequest } from '../harness/raw.js';
import { resettingPort, serviceHealth, type ResettingPort } from '../harness/failing-instances.js';

const ROUTES = [{ name: 'ws', match: { pathPrefix: '/' }, service: 'ws', websocket: true, auth: { anonymous: true } }];
// Ejection off and retries unbudgeted: what keeps a broken instance out is its circuit alone, open long
// enough not to probe again during the test however busy the machine.
const CIRCUIT_ONLY = {
  outlierDetection: { consecutiveFailures: 1000 },
  retry: { attempts: 2, minRetriesPerSecond: 1000 },
  circuitBreaker: { openMs: 60_000 },
};

/** An echoing WebSocket server that also answers plain requests. */
async function wsBackend(): Promise<{ url: string; handshakes: () => number; close: () => Promise<void> }> {
  let handshakes = 0;
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
  const server: Server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket, head) => {
    handshakes++;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handshakes: () => handshakes,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A handshake through the edge that must succeed: the message comes back echoed. */
async function echoOverWebSocket(edgeUrl: string, text: string): Promise<string> {
  const ca = readFileSync((await certificates).caFile);
  // ws hands these TLS options to node:tls; its types list only some of them.
  const ws = new WebSocket(`${edgeUrl.replace('https', 'wss')}/chat`, { ca, servername: 'localhost' } as ClientOptions);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake answered ${res.statusCode}`)));
      ws.once('error', reject);
    });
    const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
    ws.send(text);
    return await reply;
  } finally {
    ws.close();
  }
}

const HANDSHAKE = 'GET /chat HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** Plain requests until the circuit of the only instance opens: 502 (connections refused), then the 503 returned. */
async function openTheOnlyCircuit(gw: Gateway): Promise<Reply> {
  for (let i = 0; i < 20; i++) assert.equal((await gw.get(`/x/${i}`)).status, 502, 'refused connections until the circuit opens');
  const plain = await gw.get('/x');
  assert.equal(plain.status, 503);
  return plain;
}

/** A handshake through the edge answered exactly as the plain request was: status, JSON error, request id. */
async function assertHandshakeRefusedAs(gw: Gateway, plain: Reply): Promise<string> {
  const handshake = await rawRequest(gw.edgeUrl, HANDSHAKE);
  assert.equal(handshake.status, plain.status, handshake.raw);
  const body = JSON.parse(handshake.body) as Record<string, unknown>;
  assert.deepEqual({ ...body, requestId: undefined }, { ...plain.json(), requestId: undefined }, 'the same JSON error as the plain request');
  assert.match(String(body.requestId), /^[0-9a-f-]{36}$/);
  assert.equal(handshake.headers['x-request-id'], body.requestId);
  return String(body.requestId);
}

/** Plain requests until the broken instance's circuit opens (retries keep them 200), then 10 handshakes that must all avoid it. */
async function assertHandshakesAvoid(gw: Gateway, broken: ResettingPort, backend: { handshakes(): number }, adminUrl: string, check: string, service: string): Promise<void> {
  for (let i = 0; i < 60; i++) assert.equal((await gw.get(`/x/${i}`)).status, 200, `request ${i}`);
  assert.deepEqual((await serviceHealth(adminUrl, check, service)).openCircuits, [broken.url]);
  const tried = broken.connections();
  for (let i = 0; i < 10; i++) assert.equal(await echoOverWebSocket(gw.edgeUrl, `m${i}`), `echo:m${i}`);
  assert.equal(broken.connections(), tried, 'no handshake went to the instance whose circuit is open');
  assert.equal(backend.handshakes(), 10);
}

test('with its only router\'s circuit open, a WebSocket handshake is refused 503 circuit_open, as a plain request is', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens: connections are refused
  const gw = await startGateway({
    routes: ROUTES,
    services: { ws: { static: ['http://127.0.0.1:9'] } },
    routerService: { static: [dead], ...CIRCUIT_ONLY },
  });
  try {
    const id = await assertHandshakeRefusedAs(gw, await openTheOnlyCircuit(gw));
    const line = gw.edge.logs.access().find((l) => l.requestId === id)!;
    assert.equal(line.upgrade, 'websocket');
    assert.equal(line.status, 503);
    assert.match(String(line.reason), /circuit open/);
  } finally {
    await gw.close();
  }
});

test('with the router\'s only backend circuit open, a handshake through the edge gets the router\'s 503 circuit_open, as a plain request does', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const gw = await startGateway({ routes: ROUTES, services: { ws: { static: [dead], ...CIRCUIT_ONLY } } });
  try {
    const id = await assertHandshakeRefusedAs(gw, await openTheOnlyCircuit(gw));
    assert.match(String(gw.router.logs.access().find((l) => l.requestId === id)!.reason), /circuit open/, 'the router refused it');
    const edgeLine = gw.edge.logs.access().find((l) => l.requestId === id)!;
    assert.equal(edgeLine.upgrade, 'websocket');
    assert.equal(edgeLine.status, 503);
    assert.equal(edgeLine.reason, undefined, 'the edge relayed the router\'s answer');
  } finally {
    await gw.close();
  }
});

test('with one of two routers open-circuited, WebSocket handshakes land only on the healthy one', async () => {
  const [backend, broken] = await Promise.all([wsBackend(), resettingPort()]);
  const services = { ws: { static: [backend.url] } };
  const router = await startTier('router', configFrom({
    routes: ROUTES, services, identity: TEST_IDENTITY, authorization: { default: 'allow' },
    router: { listen: { port: await freePort() }, admin: { port: 0 }, trustedProxies: ['127.0.0.1'], shutdown: { drainDelayMs: 0 } },
  }));
  const gw = await startGateway({ routes: ROUTES, services, routerService: { static: [broken.url, router.addresses.url], ...CIRCUIT_ONLY } });
  try {
    await assertHandshakesAvoid(gw, broken, backend, gw.edge.addresses.adminUrl, 'routers', 'gatehouse-router');
  } finally {
    await gw.close();
    await router.runtime.close();
    await Promise.all([backend.close(), broken.close()]);
  }
});

test('with one of two backends open-circuited at the router, WebSocket handshakes land only on the healthy one', async () => {
  const [backend, broken] = await Promise.all([wsBackend(), resettingPort()]);
  const gw = await startGateway({ routes: ROUTES, services: { ws: { static: [broken.url, backend.url], ...CIRCUIT_ONLY } } });
  try {
    await assertHandshakesAvoid(gw, broken, backend, gw.router.addresses.adminUrl, 'discovery', 'ws');
  } finally {
    await gw.close();
    await Promise.all([backend.close(), broken.close()]);
  }
});
