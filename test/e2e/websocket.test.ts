// WebSocket upgrades through both tiers with a real `ws` client and server:
// tunnelled with the verified identity on routes that allow them, refused
// elsewhere, never for other protocols, never to a backend that fakes a 101.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { startGateway, certificates, type Gateway } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, type TestIdp, type SigningKey } from '../harness/idp.js';
import { rawRequest } from '../harness/raw.js';

let server: Server;
let gw: Gateway;
let idp: TestIdp;
let key: SigningKey;
const handshakes: IncomingHttpHeaders[] = [];

before(async () => {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));
  server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req, socket, head) => {
    handshakes.push(req.headers);
    // A backend that claims an upgrade without 101: the gateway must not open a tunnel.
    if (req.url?.startsWith('/ws/fake')) socket.end('HTTP/1.1 200 OK\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n');
    else wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const backend = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  key = await newSigningKey('ws');
  idp = await startIdp([key]);
  gw = await startGateway({
    auth: { jwt: { issuers: [issuerConfig(idp)] } },
    routes: [
      { name: 'ws', match: { pathPrefix: '/ws' }, service: 'ws', websocket: true },
      { name: 'private', match: { pathPrefix: '/private' }, service: 'ws', websocket: true, auth: { methods: ['jwt'] } },
      { name: 'plain', match: { pathPrefix: '/plain' }, service: 'ws' },
    ],
    services: { ws: { static: [backend] } },
  });
});

after(async () => {
  await gw.close();
  await idp.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function connect(path: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ca = readFileSync((await certificates).caFile);
  // ws hands these TLS options to node:tls; its types list only some of them.
  const ws = new WebSocket(`${gw.edgeUrl.replace('https', 'wss')}${path}`, { ca, servername: 'localhost', headers } as ClientOptions);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

const statusOf = (p: Promise<unknown>) => p.then(() => 101, (err: { status?: number }) => err.status ?? 0);

test('a WebSocket route tunnels messages both ways, and the backend sees the gateway identity and trace', async () => {
  const ws = await connect('/ws/chat');
  const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
  ws.send('hello');
  assert.equal(await reply, 'echo:hello');
  ws.close();
  const seen = handshakes.at(-1)!;
  assert.equal(seen['x-gatehouse-consumer'], '"anonymous"');
  assert.match(String(seen.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  assert.ok(seen['x-request-id']);
});

test('authentication applies to the handshake', async () => {
  assert.equal(await statusOf(connect('/private/x')), 401);
  const ws = await connect('/private/x', { authorization: `Bearer ${await idp.token(key)}` });
  assert.equal(handshakes.at(-1)!['x-gatehouse-consumer'], '"alice"');
  ws.close();
});

test('routes without websocket: true, other protocols and fake upgrades are refused without a tunnel', async () => {
  assert.equal(await statusOf(connect('/plain/x')), 404);
  const before = handshakes.length;
  const h2c = await rawRequest(gw.edgeUrl, 'GET /ws/x HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n');
  assert.equal(h2c.status, 400);
  assert.equal(handshakes.length, before, 'an h2c upgrade never reaches the backend');
  assert.equal(await statusOf(connect('/ws/fake')), 502, 'a 200 with Upgrade is not a switch of protocols');
});
