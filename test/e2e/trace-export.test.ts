// Trace export (telemetry.otlp): one request through edge, router and a
// backend reaches a real OTLP/HTTP receiver as linked spans carrying the ids
// the backend's traceparent and the access lines carry; off, nothing is sent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../../deploy/dev/echo-backend.js';
import { startGateway, type Gateway } from '../harness/gateway.js';
import { startIdp, newSigningKey, issuerConfig, type TestIdp, type SigningKey } from '../harness/idp.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../harness/otlp-receiver.js';
import { freePort } from '../harness/ports.js';

const SERVER = 2;
const CLIENT = 3;

let backend: EchoBackend;
let idp: TestIdp;
let key: SigningKey;
let receiver: OtlpReceiver;

before(async () => {
  [backend, key, receiver] = await Promise.all([startEchoBackend('traced'), newSigningKey('k1'), startOtlpReceiver()]);
  idp = await startIdp([key]);
});

after(async () => {
  await Promise.all([backend.close(), idp.close(), receiver.close()]);
});

/** Edge and router in front of the echo backend, with a JWT route; telemetry as given (none: off). */
function gateway(telemetry?: Record<string, unknown>): Promise<Gateway> {
  return startGateway({
    auth: { jwt: { issuers: [issuerConfig(idp)] } },
    routes: [{ name: 'orders', match: { pathPrefix: '/orders' }, service: 'app', auth: { methods: ['jwt'] } }],
    services: { app: { static: [backend.url] } },
    ...(telemetry && { sharedExtra: { telemetry } }),
  });
}

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

test('one request yields linked edge, router and attempt spans with the ids of its traceparent and access lines, and route, status and consumer', async () => {
  const gw = await gateway({ otlp: { endpoint: receiver.endpoint } });
  let received: string;
  try {
    const r = await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key)}`, traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } });
    assert.equal(r.status, 200, r.text);
    received = String(r.json<EchoReply>().headers.traceparent);
  } finally {
    await gw.close(); // flushes the spans still batched
  }
  const [, traceId, backendParent] = received.split('-');
  assert.equal(traceId, CLIENT_TRACE, 'the client\'s trace is continued');
  const spans = receiver.spans.filter((s) => s.traceId === traceId);
  assert.equal(spans.length, 4, JSON.stringify(spans, null, 1));
  const one = (service: string, kind: number): ReceivedSpan => {
    const found = spans.filter((s) => s.service === service && s.kind === kind);
    assert.equal(found.length, 1, `one ${kind === SERVER ? 'server' : 'client'} span of ${service}`);
    return found[0]!;
  };
  const edge = one('gatehouse-edge', SERVER);
  const toRouter = one('gatehouse-edge', CLIENT);
  const router = one('gatehouse-router', SERVER);
  const toBackend = one('gatehouse-router', CLIENT);

  assert.equal(edge.parentSpanId, CLIENT_SPAN, 'the edge\'s span is the client\'s child');
  assert.equal(toRouter.parentSpanId, edge.spanId);
  assert.equal(router.parentSpanId, edge.spanId, 'the router\'s parent is the span the edge\'s traceparent named');
  assert.equal(toBackend.parentSpanId, router.spanId);
  assert.equal(backendParent, router.spanId, 'the backend\'s traceparent names the router\'s span');

  const [edgeLine] = gw.edge.logs.access();
  const [routerLine] = gw.router.logs.access();
  assert.deepEqual([edgeLine!.traceId, edgeLine!.spanId], [traceId, edge.spanId], 'the edge\'s access line has its span\'s ids');
  assert.deepEqual([routerLine!.traceId, routerLine!.spanId, routerLine!.parentSpanId], [traceId, router.spanId, edge.spanId]);

  for (const s of [edge, router]) {
    assert.equal(s.attributes['gatehouse.route'], 'orders');
    assert.equal(s.attributes['http.request.method'], 'GET');
    assert.equal(s.attributes['http.response.status_code'], 200);
    assert.equal(s.attributes['gatehouse.consumer'], 'alice', `${s.service} names the consumer`);
    assert.equal(s.attributes['gatehouse.outcome'], 'completed');
    assert.equal(s.statusCode, 0);
  }
  assert.equal(edge.attributes['gatehouse.request_id'], edgeLine!.requestId);
  assert.deepEqual([toRouter.attributes['gatehouse.service'], toRouter.attributes['gatehouse.instance']], ['gatehouse-router', gw.routerUrl.replace(/\/$/, '')]);
  assert.deepEqual([toBackend.attributes['gatehouse.service'], toBackend.attributes['gatehouse.instance']], ['app', backend.url.replace(/\/$/, '')]);
  assert.equal(toBackend.attributes['http.response.status_code'], 200);
  assert.ok(gw.edge.logs.records.some((l) => l.event === 'trace-export' && l.endpoint === receiver.endpoint), 'the edge says it exports');
});

test('a refused request is a server span with its status and no attempt', async () => {
  const gw = await gateway({ otlp: { endpoint: receiver.endpoint } });
  try {
    const r = await gw.get('/orders/1', { headers: { traceparent: `00-${'a'.repeat(32)}-${CLIENT_SPAN}-01` } });
    assert.equal(r.status, 401);
  } finally {
    await gw.close();
  }
  const spans = receiver.spans.filter((s) => s.traceId === 'a'.repeat(32));
  assert.deepEqual(spans.map((s) => [s.service, s.kind, s.attributes['http.response.status_code'], s.attributes['gatehouse.consumer']]), [['gatehouse-edge', SERVER, 401, undefined]]);
});

test('telemetry off: the receiver gets nothing and no tier starts an exporter', async () => {
  const before = receiver.posts;
  const gw = await gateway();
  try {
    assert.equal((await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key)}` } })).status, 200);
  } finally {
    await gw.close();
  }
  assert.equal(receiver.posts, before);
  for (const tier of [gw.edge, gw.router]) assert.ok(!tier.logs.records.some((l) => String(l.event).startsWith('trace-export')));
});

test('an unreachable collector costs requests nothing and is reported in one warning', async () => {
  const gw = await gateway({ otlp: { endpoint: `http://127.0.0.1:${await freePort()}/v1/traces`, timeoutMs: 500, maxQueueSize: 2 } });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await gw.get('/orders/1', { headers: { authorization: `Bearer ${await idp.token(key)}` } })).status, 200);
  } finally {
    await gw.close();
  }
  for (const tier of [gw.edge, gw.router]) {
    assert.equal(tier.logs.records.filter((l) => l.event === 'trace-export-failed').length, 1, tier.logs.text());
  }
});
