// The Redis connection modes against real deployments: through Sentinel to
// the monitored master, and across a three-master Cluster, with the
// rate-limit script (hash-tagged keys) working in each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { connectRedis } from '../../shared/redis.js';
import { RedisStore } from '../../edge/ratelimit/redis-store.js';
import { compileWindows } from '../../edge/ratelimit/store.js';
import { startSentinel, startCluster } from '../harness/redis-topologies.js';
import { waitFor } from '../harness/ports.js';

const log = pino({ level: 'silent' });
const base = { keyPrefix: 'gatehouse:', commandTimeoutMs: 500, connectTimeoutMs: 1000 };
const windows = compileWindows([{ name: 'minute', limit: 3, periodSeconds: 60 }]);

async function admittedOf(store: RedisStore, key: string): Promise<number> {
  let ok = 0;
  for (let i = 0; i < 5; i++) if ((await store.hit([{ key, windows }]))[0]!.allowed) ok++;
  return ok;
}

test('Sentinel mode finds the master through the sentinels and counts there', async () => {
  const s = await startSentinel();
  const client = connectRedis({ ...base, sentinel: { name: s.masterName, sentinels: [{ host: '127.0.0.1', port: s.sentinelPort }] } }, log);
  try {
    await waitFor('sentinel-mode client ready', () => (client.status === 'ready') || undefined, 10_000);
    assert.equal(await admittedOf(new RedisStore(client), 'gatehouse:rl:{sentinel-test}'), 3);
  } finally {
    client.disconnect();
    await s.stop();
  }
});

test('Cluster mode spreads callers over the masters while each policy key stays in one slot', async () => {
  const c = await startCluster();
  const client = connectRedis({ ...base, cluster: { nodes: [{ host: '127.0.0.1', port: c.ports[0]! }] } }, log);
  try {
    await waitFor('cluster-mode client ready', () => (client.status === 'ready') || undefined, 15_000);
    const store = new RedisStore(client);
    const multi = compileWindows([{ name: 'second', limit: 2, periodSeconds: 1 }, { name: 'minute', limit: 3, periodSeconds: 60 }]);
    for (const caller of ['a', 'b', 'c', 'd', 'e']) {
      const key = `gatehouse:rl:{cluster:${caller}}`;
      let ok = 0;
      for (let i = 0; i < 4; i++) if ((await store.hit([{ key, windows: multi }]))[0]!.allowed) ok++;
      assert.equal(ok, 2, `caller ${caller}: the multi-key script ran on one node`);
    }
  } finally {
    client.disconnect();
    await c.stop();
  }
});
