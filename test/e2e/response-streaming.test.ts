// Response bodies through both tiers, as a client and a backend see them: a
// large body arrives whole even to a slow reader, a body the backend cut
// short never looks complete, and a client that leaves mid-body frees the
// backend's connection instead of the gateway reading into nowhere; and a
// response head is passed on before a body that comes later.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { startGateway, httpsClient, type Gateway } from '../harness/gateway.js';
import { waitFor } from '../harness/ports.js';

const BIG = Buffer.alloc(24 * 1024 * 1024);
for (let i = 0; i < BIG.length; i += 4096) BIG.writeUInt32BE(i, i); // not all zeros: order matters

let backend: Server;
let gw: Gateway;
const closedEarly: string[] = [];

before(async () => {
  backend = createServer((req, res) => {
    res.once('close', () => { if (!res.writableFinished) closedEarly.push(req.url ?? ''); });
    if (req.url === '/files/big') return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length }).end(BIG);
    if (req.url === '/files/cut') {
      res.writeHead(200, { 'content-length': 100_000 }).write(Buffer.alloc(10_000, 1));
      return void setTimeout(() => res.socket?.destroy(), 50);
    }
    if (req.url === '/files/endless') return endless(res);
    if (req.url === '/files/late') return void setTimeout(() => endless(res), 400);
    if (req.url === '/files/head-first') { // server-sent-events style: the head now, the body 700 ms later
      res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      return void setTimeout(() => res.end('data: late\n\n'), 700);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  gw = await startGateway({ routes: [{ name: 'files', match: { pathPrefix: '/files' }, service: 'files' }], services: { files: { static: [url] } } });
});

after(async () => {
  await gw.close();
  backend.closeAllConnections();
  await new Promise((resolve) => backend.close(resolve));
});

/** 64 KiB every 10 ms until the client goes. */
function endless(res: ServerResponse): void {
  if (res.destroyed) return; // the gateway already gave the request up (its client left before the head): no 'close' will come
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024, 2)), 10);
  res.once('close', () => clearInterval(timer));
}

test('a 24 MiB body arrives whole and in order, even to a client that reads slowly', async () => {
  const res = await request(`${gw.edgeUrl}/files/big`, { dispatcher: gw.client });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-length'], String(BIG.length));
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of res.body) {
    hash.update(chunk as Buffer);
    received += (chunk as Buffer).length;
    if (received < 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 2)); // backpressure through both tiers
  }
  assert.equal(received, BIG.length);
  assert.equal(hash.digest('hex'), createHash('sha256').update(BIG).digest('hex'));
});

test('a body the backend cuts short is never delivered as complete', async () => {
  const res = await request(`${gw.edgeUrl}/files/cut`, { dispatcher: gw.client });
  assert.equal(res.statusCode, 200, 'the head was already on its way');
  await assert.rejects(res.body.arrayBuffer(), 'the client sees the connection fail, not a short body that looks whole');
});

test('a client that leaves mid-body ends the backend response too', async () => {
  const res = await request(`${gw.edgeUrl}/files/endless`, { dispatcher: gw.client });
  assert.equal(res.statusCode, 200);
  let got = 0;
  for await (const chunk of res.body) {
    got += (chunk as Buffer).length;
    if (got > 512 * 1024) break; // leaving the loop destroys the body: the client goes away
  }
  await waitFor('the backend response to close', () => closedEarly.includes('/files/endless') || undefined, 5_000);
});

test('a client that leaves before the response head arrives ends the backend response too', async () => {
  const leave = new AbortController();
  setTimeout(() => leave.abort(), 100);
  await assert.rejects(request(`${gw.edgeUrl}/files/late`, { dispatcher: gw.client, signal: leave.signal }));
  await waitFor('the backend response to close', () => closedEarly.includes('/files/late') || undefined, 5_000);
});

for (const protocol of ['HTTP/1.1', 'HTTP/2'] as const) {
  test(`over ${protocol}, a response head reaches the client at once, before a body that comes later`, async () => {
    const client = protocol === 'HTTP/2' ? await httpsClient(true) : gw.client;
    try {
      const asked = Date.now();
      const res = await request(`${gw.edgeUrl}/files/head-first`, { dispatcher: client });
      const headAfter = Date.now() - asked;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream');
      assert.ok(headAfter < 500, `head after ${headAfter} ms`);
      assert.equal(await res.body.text(), 'data: late\n\n');
      assert.ok(Date.now() - asked >= 650, 'the body came when the backend sent it');
    } finally {
      if (client !== gw.client) await client.close();
    }
  });
}
