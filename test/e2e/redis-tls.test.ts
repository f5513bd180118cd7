// Redis over TLS (rediss://) against a real redis-server listening on TLS
// only: the edge verifies the server against the configured CA and its rate
// limits count there; a server it cannot verify is refused, and why is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { startGateway, certificates } from '../harness/gateway.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { LogCapture } from '../harness/logs.js';
import { waitFor } from '../harness/ports.js';
import { connectRedis } from '../../shared/redis.js';
import { createLogger } from '../../shared/log.js';

let backend: EchoBackend;
let redis: TestRedis;

before(async () => {
  [backend, redis] = await Promise.all([startEchoBackend('tls-limited'), certificates.then((certs) => startRedis(certs))]);
});

after(async () => {
  await backend.close();
  await redis.stop();
});

test('with the CA configured, the edge reaches Redis over TLS and its rate limit counts there', async () => {
  const certs = await certificates;
  assert.match(redis.url, /^rediss:\/\//);
  const gw = await startGateway({
    redis: redis.url,
    redisExtra: { tls: { ca: certs.caFile } },
    rateLimits: { tight: { key: 'header:x-tenant', windows: [{ name: 'minute', limit: 2, periodSeconds: 60 }] } },
    routes: [{ name: 'limited', match: { pathPrefix: '/' }, service: 'app', rateLimit: 'tight' }],
    services: { app: { static: [backend.url] } },
  });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await gw.get('/x', { headers: { 'x-tenant': 'acme' } })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
  } finally {
    await gw.close();
  }
});

test('without that CA the server\'s certificate is refused: no connection, and the log says why', async () => {
  const logs = new LogCapture();
  const client = connectRedis({ url: redis.url, keyPrefix: 'gatehouse:', commandTimeoutMs: 2_000, connectTimeoutMs: 500 }, createLogger('edge', 'info', logs));
  try {
    const down = await waitFor('redis-down logged', async () => logs.records.find((r) => r.event === 'redis-down'), 5_000, 20);
    assert.match(String(down.err), /certificate/i);
    assert.notEqual(client.status, 'ready');
  } finally {
    client.disconnect();
  }
});
