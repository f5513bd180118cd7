// TLS at the edge as a client sees it: HSTS on every reply, and a
// certificate replaced on disk served on the next handshake, no restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { Agent } from 'undici';
import { startGateway, send, type Gateway } from '../harness/gateway.js';
import { ensureDevCertificates } from '../../shared/tls/dev-certs.js';
import { waitFor } from '../harness/ports.js';

let backend: EchoBackend;
let gw: Gateway;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-edge-tls-'));
let first: Awaited<ReturnType<typeof ensureDevCertificates>>;

before(async () => {
  first = await ensureDevCertificates(join(dir, 'first'));
  copyFileSync(first.certFile, join(dir, 'live.pem'));
  copyFileSync(first.keyFile, join(dir, 'live-key.pem'));
  backend = await startEchoBackend('tls');
  gw = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [backend.url] } },
    edgeExtra: { tls: { certificates: [{ cert: join(dir, 'live.pem'), key: join(dir, 'live-key.pem') }], reloadIntervalMs: 200, hsts: { maxAgeSeconds: 600 } } },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

function servedFingerprint(ca: string): Promise<string> {
  const port = Number(new URL(gw.edgeUrl).port);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(ca) }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

test('every reply carries Strict-Transport-Security, gateway errors included', async () => {
  const client = new Agent({ connect: { ca: readFileSync(first.caFile), servername: 'localhost' } });
  try {
    const ok = await send(client, `${gw.edgeUrl}/x`);
    const notFound = await send(client, `${gw.edgeUrl}/x`, { method: 'TRACE' });
    assert.equal(ok.status, 200);
    assert.equal(notFound.status, 404);
    for (const r of [ok, notFound]) assert.equal(r.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
  } finally {
    await client.close();
  }
});

test('a certificate replaced on disk is served on the next handshake without a restart', async () => {
  const before = await servedFingerprint(first.caFile);
  const second = await ensureDevCertificates(join(dir, 'second'));
  copyFileSync(second.certFile, join(dir, 'next.pem'));
  copyFileSync(second.keyFile, join(dir, 'next-key.pem'));
  renameSync(join(dir, 'next-key.pem'), join(dir, 'live-key.pem'));
  renameSync(join(dir, 'next.pem'), join(dir, 'live.pem'));
  const after = await waitFor('the new certificate', async () => {
    const fp = await servedFingerprint(second.caFile).catch(() => undefined);
    return fp !== undefined && fp !== before ? fp : undefined;
  }, 5_000, 100);
  assert.notEqual(after, before);
});
