// The plain-HTTP redirect listener never sends a client to a host the edge
// does not serve: its Location names the configured canonical host, or the
// request's Host only when an edge certificate names it (else 421 JSON).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, configFrom, certificates, type Gateway, type Tier } from '../harness/gateway.js';
import { rawRequest, http1, type RawReply } from '../harness/raw.js';

let backend: EchoBackend;
let gw: Gateway;
let canonical: Tier;
let canonical443: Tier;

before(async () => {
  const certs = await certificates;
  backend = await startEchoBackend('redirect');
  gw = await startGateway({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app' }],
    services: { app: { static: [backend.url] } },
    redirectHttp: true,
    edgeExtra: {
      tls: {
        certificates: [
          { cert: certs.certFile, key: certs.keyFile }, // names localhost
          { cert: certs.certFile, key: certs.keyFile, hosts: ['*.apps.example', 'shop.example'] },
        ],
      },
    },
  });
  const withRedirect = (redirectHttp: Record<string, unknown>) =>
    configFrom({ ...gw.edgeConfig, edge: { ...gw.edgeConfig.edge, listen: { port: 0 }, admin: { port: 0 }, redirectHttp: { port: 0, ...redirectHttp } } });
  canonical = await startTier('edge', withRedirect({ canonicalHost: 'api.example.com' }));
  canonical443 = await startTier('edge', withRedirect({ canonicalHost: 'api.example.com:443' }));
});

after(async () => {
  await canonical?.runtime.close();
  await canonical443?.runtime.close();
  await gw.close();
  await backend.close();
});

const redirectUrl = (t: Tier) => t.addresses.extra!.redirectUrl!;
const httpsPort = (t: Tier) => new URL(t.addresses.url).port;
const get = (t: Tier, host: string, target = '/orders/1?x=2') => rawRequest(redirectUrl(t), http1('GET', target, [], host));

function assertMisdirected(r: RawReply, host: string): void {
  assert.equal(r.status, 421, host);
  assert.equal(r.headers.location, undefined, `no Location for ${host}`);
  assert.equal(JSON.parse(r.body).error, 'misdirected_request');
  assert.ok(!r.raw.includes('evil'), 'the Host is never echoed');
}

test('a Host the edge has no certificate for gets 421 JSON and no Location', async () => {
  for (const host of ['evil.example', 'evil.example:80', 'localhost.evil.example', 'evil.localhost', 'a.b.apps.example', 'apps.example', '127.0.0.1', '[::1]']) {
    assertMisdirected(await get(gw.edge, host), host);
  }
});

test('a Host an edge certificate names, exactly or by wildcard, is redirected to it on the HTTPS port', async () => {
  const port = httpsPort(gw.edge);
  for (const [host, name] of [['localhost', 'localhost'], ['LOCALHOST:8080', 'localhost'], ['shop.example', 'shop.example'], ['cart.apps.example', 'cart.apps.example']] as const) {
    const r = await get(gw.edge, host);
    assert.equal(r.status, 308, host);
    assert.equal(r.headers.location, `https://${name}:${port}/orders/1?x=2`);
  }
});

test('a configured canonical host is the only host a Location names, whatever the Host', async () => {
  const port = httpsPort(canonical);
  for (const host of ['evil.example', 'localhost', '127.0.0.1']) {
    const r = await get(canonical, host);
    assert.equal(r.status, 308, host);
    assert.equal(r.headers.location, `https://api.example.com:${port}/orders/1?x=2`);
  }
  const explicit = await get(canonical443, 'evil.example', '/');
  assert.equal(explicit.headers.location, 'https://api.example.com/', 'its own port 443 is left out');
});

test('a target that looks like another origin stays a path of the served host; absolute-form is refused', async () => {
  for (const t of [gw.edge, canonical]) {
    const r = await get(t, 'localhost', '//evil.example/x');
    assert.equal(r.status, 308);
    const location = new URL(r.headers.location!);
    assert.notEqual(location.hostname, 'evil.example');
    assert.equal(location.pathname, '//evil.example/x');
    const absolute = await get(t, 'localhost', 'http://evil.example/x');
    assert.equal(absolute.status, 400);
    assert.equal(absolute.headers.location, undefined);
  }
});

test('a canonical host that is not host[:port] is refused when the config loads', () => {
  for (const bad of ['evil.example/x', 'https://api.example.com', 'api example.com', 'user@api.example.com', 'api.example.com:']) {
    assert.throws(() => configFrom({ ...gw.edgeConfig, edge: { ...gw.edgeConfig.edge, redirectHttp: { port: 0, canonicalHost: bad } } }), /redirectHttp\.canonicalHost|redirectHttp\/canonicalHost/, bad);
  }
});
