// Circuit breakers through both tiers (edge on TLS -> router -> echo
// backends): a breaker opens only on failures of the instance it protects,
// so no client and no single backend can take other routes down with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { startEchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, startTier, configFrom, certificates, TEST_IDENTITY, type Gateway } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig } from '../harness/idp.js';
import { freePort } from '../harness/ports.js';
import { resettingPort, serviceHealth } from '../harness/failing-instances.js';

test('a backend answering 500 to many anonymous requests opens no circuit: its 500 is relayed and other routes are served', async () => {
  const [flaky, orders] = await Promise.all([startEchoBackend('flaky'), startEchoBackend('orders')]);
  const key = await newSigningKey('cb');
  const idp = await startIdp([key]);
  const gw = await startGateway({
    auth: { jwt: { issuers: [issuerConfig(idp)] } },
    routes: [
      // The backend answers 500 to every request of this route, whoever sends it.
      { name: 'broken', match: { pathPrefix: '/broken' }, service: 'flaky', requestHeaders: { set: { 'x-echo-status': '500' } } },
      { name: 'flaky-ok', match: { pathPrefix: '/flaky-ok' }, service: 'flaky' },
      { name: 'orders', match: { pathPrefix: '/orders' }, service: 'orders', auth: { methods: ['jwt'] } },
      { name: 'status', match: { pathPrefix: '/status' }, service: 'orders' },
    ],
    // An ejection outlasts the test however busy the machine, so the report below is certain.
    services: { flaky: { static: [flaky.url], outlierDetection: { baseEjectionMs: 60_000 } }, orders: { static: [orders.url] } },
  });
  try {
    // Past minimumRequests (20) at 100% "failure", three times over.
    for (let i = 0; i < 60; i++) {
      const r = await gw.get(`/broken/${i}`);
      assert.equal(r.status, 500, `request ${i}: ${r.text}`);
      assert.equal(r.headers['x-backend'], 'flaky', `request ${i}: the backend's own 500, relayed`);
    }
    const token = await idp.token(key);
    const withJwt = await gw.get('/orders/1', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(withJwt.status, 200, `another route with a valid JWT: ${withJwt.text}`);
    assert.equal((await gw.get('/status')).status, 200, 'another anonymous route');
    assert.equal((await gw.get('/flaky-ok/1')).status, 200, 'another route of the same backend');
    const again = await gw.get('/broken/again');
    assert.equal(again.status, 500, `the failing route still relays its backend's answer: ${again.text}`);
    assert.equal(again.headers['x-backend'], 'flaky');
    // What each tier reports: the router relayed answers, so the edge holds nothing against it; the backend's
    // own 500s eject it at the router (outlier detection, per instance: as the only one, it is still tried).
    assert.deepEqual(await serviceHealth(gw.edge.addresses.adminUrl, 'routers', 'gatehouse-router'), { openCircuits: [], ejected: 0 });
    assert.deepEqual(await serviceHealth(gw.router.addresses.adminUrl, 'discovery', 'flaky'), { openCircuits: [], ejected: 1 });
  } finally {
    await gw.close();
    await Promise.all([flaky.close(), orders.close(), idp.close()]);
  }
});

test('slow uploads that time out open no circuit: other requests are served normally afterwards', async () => {
  const [uploads, app] = await Promise.all([startEchoBackend('uploads'), startEchoBackend('app')]);
  const gw = await startGateway({
    routes: [
      { name: 'upload', match: { pathPrefix: '/upload' }, service: 'uploads' },
      { name: 'upload-app', match: { pathPrefix: '/same-backend' }, service: 'uploads' },
      { name: 'app', match: { pathPrefix: '/app' }, service: 'app' },
    ],
    services: { uploads: { static: [uploads.url] }, app: { static: [app.url] } },
    // A body not in whole within 500 ms gets 408: by then it is streaming through both tiers to the backend.
    edgeExtra: { timeouts: { requestMs: 500 } },
  });
  try {
    const ca = readFileSync((await certificates).caFile);
    const port = Number(new URL(gw.edgeUrl).port);
    const slowUpload = () => new Promise<string>((resolve) => {
      let text = '';
      const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
        // 20 of the 1000 bytes announced, then nothing: the client never finishes its body.
        s.write('POST /upload/file HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n01234567890123456789');
      });
      s.on('data', (d: Buffer) => {
        text += d.toString();
        if (/\r\n\r\n[\s\S]*\}$/.test(text)) s.destroy(); // a whole JSON answer: done, whichever tier wrote it
      });
      s.on('error', () => undefined);
      const timer = setTimeout(() => s.destroy(), 10_000);
      s.on('close', () => { clearTimeout(timer); resolve(text); });
    });
    const answers: string[] = [];
    for (let batch = 0; batch < 3; batch++) answers.push(...await Promise.all(Array.from({ length: 20 }, slowUpload)));
    for (const path of ['/app/1', '/same-backend/1', '/upload/small']) {
      const r = await gw.get(path, path === '/upload/small' ? { method: 'POST', body: 'whole' } : {});
      assert.equal(r.status, 200, `${path} after 60 slow uploads: ${r.text}`);
    }
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 408 /, 'each slow upload timed out');
    assert.equal(uploads.received.filter((r) => r.url === '/upload/file').length, 0, 'no slow upload reached the backend whole');
    assert.deepEqual(await serviceHealth(gw.edge.addresses.adminUrl, 'routers', 'gatehouse-router'), { openCircuits: [], ejected: 0 });
    assert.deepEqual(await serviceHealth(gw.router.addresses.adminUrl, 'discovery', 'uploads'), { openCircuits: [], ejected: 0 });
  } finally {
    await gw.close();
    await Promise.all([uploads.close(), app.close()]);
  }
});

test('a router instance that fails on its own opens its circuit, and only its own: the healthy router keeps serving', async () => {
  const backend = await startEchoBackend('solo');
  const broken = await resettingPort();
  const services = { solo: { static: [backend.url] } };
  const routes = [{ name: 'solo', match: { pathPrefix: '/' }, service: 'solo', auth: { anonymous: true } }];
  const router = await startTier('router', configFrom({
    routes, services, identity: TEST_IDENTITY, authorization: { default: 'allow' },
    router: { listen: { port: await freePort() }, admin: { port: 0 }, trustedProxies: ['127.0.0.1'] },
  }));
  const gw: Gateway = await startGateway({
    routes, services,
    routerService: {
      static: [broken.url, router.addresses.url],
      // Ejection off, retries unbudgeted: what keeps the broken router out is its circuit alone,
      // open long enough not to probe again during the test however busy the machine.
      outlierDetection: { consecutiveFailures: 1000 },
      retry: { attempts: 2, minRetriesPerSecond: 1000 },
      circuitBreaker: { openMs: 60_000 },
    },
  });
  try {
    for (let i = 0; i < 60; i++) {
      const r = await gw.get(`/x/${i}`);
      assert.equal(r.status, 200, `request ${i}: ${r.text}`);
    }
    const { openCircuits } = await serviceHealth(gw.edge.addresses.adminUrl, 'routers', 'gatehouse-router');
    assert.deepEqual(openCircuits, [broken.url], 'the broken router\'s circuit is open, the healthy one\'s is not');
    const tried = broken.connections();
    assert.ok(tried >= 20 && tried < 60, `the broken router was tried until its circuit opened (${tried} times)`);
    for (let i = 0; i < 20; i++) assert.equal((await gw.get(`/y/${i}`)).status, 200);
    assert.equal(broken.connections(), tried, 'an open circuit sends the broken router nothing');
  } finally {
    await gw.close();
    await router.runtime.close();
    await Promise.all([backend.close(), broken.close()]);
  }
});

test('with its only router down, the edge answers 502 until the router\'s circuit opens, then 503 circuit_open', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens: connections are refused
  const gw = await startGateway({
    routes: [{ name: 'solo', match: { pathPrefix: '/' }, service: 'solo' }],
    services: { solo: { static: ['http://127.0.0.1:9'] } },
    routerService: { static: [dead], outlierDetection: { consecutiveFailures: 1000 }, circuitBreaker: { openMs: 60_000 } },
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await gw.get(`/x/${i}`)).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(502), 'refused connections, answered 502');
    assert.deepEqual(statuses.slice(20), Array(10).fill(503), 'then the circuit is open');
    assert.equal((await gw.get('/x')).json().error, 'circuit_open');
  } finally {
    await gw.close();
  }
});
