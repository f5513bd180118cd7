// The router runs nothing that uses Redis: a redis section in its config (the
// edge's, in a shared file) must not make it connect, nor make its readiness
// wait on a Redis that is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { startEchoBackend } from '../../deploy/dev/echo-backend.js';
import { startTier, configFrom, TEST_IDENTITY } from '../harness/gateway.js';
import { freePort } from '../harness/ports.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

test('a router whose config names a Redis nobody answers on is ready, serves, and never connects to it', async () => {
  // Takes connections and never speaks: a Redis client that connected would wait here, and be counted.
  const connections: Socket[] = [];
  const silent = createServer((s) => connections.push(s));
  const redisPort = await freePort();
  await new Promise<void>((r) => silent.listen(redisPort, '127.0.0.1', r));
  const backend = await startEchoBackend('app');
  // startTier waits for /ready: a router waiting on Redis would never get there.
  const router = await startTier('router', configFrom({
    routes: [{ name: 'app', match: { pathPrefix: '/' }, service: 'app', auth: { anonymous: true } }],
    services: { app: { static: [backend.url] } },
    identity: TEST_IDENTITY,
    authorization: { default: 'allow' },
    redis: { url: `redis://127.0.0.1:${redisPort}` },
    router: { listen: { port: 0 }, admin: { port: 0 }, shutdown: { drainDelayMs: 0 } },
  }));
  try {
    const assertion = await new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);
    const r = await fetch(`${router.addresses.url}/x`, { headers: { [IDENTITY_HEADER]: assertion } });
    assert.equal(r.status, 200, await r.text());
    const ready = await (await fetch(`${router.addresses.adminUrl}/ready`)).json() as { ready: boolean; checks: Record<string, unknown> };
    assert.equal(ready.ready, true);
    assert.equal(ready.checks.redis, undefined, 'no Redis check: the router has no Redis to check');
    await new Promise((r) => setTimeout(r, 300)); // a client's first connection attempt comes at once; give it time anyway
    assert.equal(connections.length, 0, 'nothing connected to the Redis port');
  } finally {
    await router.runtime.close();
    await backend.close();
    for (const s of connections) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
