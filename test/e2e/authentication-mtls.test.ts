// Client certificates through both tiers: a verified certificate names the
// consumer the backend sees; none, or one from another CA, is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, send, certificates, type Gateway } from '../harness/gateway.js';
import { clientCa, type ClientCa } from '../harness/client-ca.js';

let backend: EchoBackend;
let gw: Gateway;
let trusted: ClientCa;

before(async () => {
  const certs = await certificates;
  trusted = await clientCa();
  backend = await startEchoBackend('mtls');
  gw = await startGateway({
    auth: { mtls: { consumerFrom: 'subject-cn' } },
    routes: [{ name: 'partners', match: { pathPrefix: '/partners' }, service: 'app', auth: { methods: ['mtls'] } }],
    services: { app: { static: [backend.url] } },
    edgeExtra: { tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }], clientCertificates: { ca: trusted.file } } },
  });
});

after(async () => {
  await gw.close();
  await backend.close();
});

async function asClient(cert?: { cert: string; key: string }, allowH2 = false) {
  const ca = readFileSync((await certificates).caFile);
  const agent = new Agent({ allowH2, connect: { ca, servername: 'localhost', ...(cert && { cert: cert.cert, key: cert.key }) } });
  try {
    return await send(agent, `${gw.edgeUrl}/partners/orders`);
  } finally {
    await agent.close();
  }
}

test('a client certificate signed by the configured CA names the consumer, over HTTP/1.1 and HTTP/2', async () => {
  const partner = await trusted.issue('partner-7');
  for (const h2 of [false, true]) {
    const r = await asClient(partner, h2);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json<EchoReply>().headers['x-gatehouse-consumer'], '"partner-7"');
    assert.equal(r.json<EchoReply>().headers['x-gatehouse-auth-method'], '"mtls"');
  }
});

test('no client certificate, or one from another CA, is refused with 401 and a bare Bearer challenge', async () => {
  const stranger = await (await clientCa()).issue('partner-7');
  const before = backend.received.length;
  for (const r of [await asClient(), await asClient(stranger)]) {
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="gatehouse"', 'an unverified certificate counts as no credential');
    assert.deepEqual(r.json(), { error: 'unauthorized', message: 'Authentication is required, or the credential given was refused.', requestId: r.headers['x-request-id'] });
  }
  assert.equal(backend.received.length, before, 'nothing reached the backend');
});
