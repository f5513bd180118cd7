// Live configuration across a cluster on real Consul and Redis: 2 edges and 3 routers (in this process) all
// follow one Consul KV key and the routes services publish, under a steady load. A KV change and a newly
// published route reach every instance within a bound (the times are reported as test diagnostics), no
// request of the load is lost to a swap, and a bad document pushed past the CLI changes nothing that serves.
// The measurement at 1,000 requests/s with each tier in its own process is `npm run bench:live`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Agent, request } from 'undici';
import { startConsul, type TestConsul } from '../harness/consul.js';
import { startRedis, type TestRedis } from '../harness/redis.js';
import { certificates, httpsClient, TEST_IDENTITY } from '../harness/gateway.js';
import { LogCapture } from '../harness/logs.js';
import { waitFor } from '../harness/ports.js';
import { startEchoBackend, type EchoBackend } from '../../deploy/dev/echo-backend.js';
import { createLogger } from '../../shared/log.js';
import * as loader from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { publishedRoutesOverlay } from '../../config/published-overlay.js';
import { buildEdge } from '../../edge/app.js';
import { buildRouter } from '../../router/app.js';
import { ConfigKv } from '../../shared/config/kv-store.js';
import { attachLiveConfig, startingConfig } from '../../shared/config/live-tier.js';
import type { ConfigStatus } from '../../shared/config/live.js';
import type { TierRuntime } from '../../shared/runtime.js';
import { AssertionSigner, IDENTITY_HEADER } from '../../shared/identity.js';
import { ANONYMOUS } from '../../shared/auth-types.js';

const KEY = 'gatehouse/config';
const LOAD_WORKERS = 4;

let consul: TestConsul;
let redis: TestRedis;
let app: EchoBackend;
let catalog: EchoBackend;
let dir: string;
const instances: Instance[] = [];
let client: Agent;

interface Instance {
  readonly kind: 'edge' | 'router';
  readonly runtime: TierRuntime<Config>;
  readonly url: string;
  readonly adminUrl: string;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

function doc(routes: unknown[]): Record<string, unknown> {
  return {
    consul: { address: consul.address, waitSeconds: 30 },
    redis: { url: redis.url, commandTimeoutMs: 1_000 },
    config: { watchFile: false, consul: { key: KEY } },
    identity: TEST_IDENTITY,
    authorization: { default: 'allow' },
    rateLimits: { everyone: { key: 'ip', windows: [{ name: 's', limit: 100_000, periodSeconds: 1 }] } },
    edge: {
      listen: { port: 0 }, admin: { port: 0 }, tls: { certificates: [{ cert: '', key: '' }] },
      router: { consul: { service: 'gatehouse-router' } }, rateLimit: 'everyone', shutdown: { drainDelayMs: 0 },
    },
    router: { listen: { port: 0 }, admin: { port: 0 }, register: { checkIntervalSeconds: 1 }, shutdown: { drainDelayMs: 0 } },
    routes,
    services: { app: { consul: { service: 'app' } } },
    publishedRoutes: {
      profiles: { public: { auth: { anonymous: true } } },
      allow: [{ service: 'catalog', pathPrefixes: ['/catalog'], profiles: ['public'], defaultProfile: 'public' }],
    },
  };
}

const appRoute = (name: string, prefix: string) => ({ name, match: { pathPrefix: prefix }, service: 'app', auth: { anonymous: true } });

async function text(routes: unknown[]): Promise<string> {
  const certs = await certificates;
  const d = doc(routes) as { edge: { tls: { certificates: { cert: string; key: string }[] } } };
  d.edge.tls.certificates = [{ cert: certs.certFile, key: certs.keyFile }];
  return stringify(d);
}

async function startInstance(kind: 'edge' | 'router', file: string): Promise<Instance> {
  const logs = new LogCapture();
  const log = createLogger(kind, 'info', logs);
  const bootstrap = loader.loadConfigFile(file, {});
  const kv = new ConfigKv(bootstrap.consul!, KEY);
  const starting = await startingConfig(file, bootstrap, loader, kv, {}, log);
  const overlay = publishedRoutesOverlay(log);
  overlay.apply(starting.config);
  await overlay.firstAnswer(3_000);
  const runtime: TierRuntime<Config> = kind === 'edge' ? buildEdge(overlay.apply(starting.config), log) : buildRouter(overlay.apply(starting.config), log);
  const live = attachLiveConfig(runtime, { file, bootstrap, starting, loader, kv, overlay, log });
  const { url, adminUrl } = await runtime.listen();
  await waitFor(`${kind} ready`, async () => (await fetch(`${adminUrl}/ready`)).ok || undefined, 20_000);
  live.live.start();
  // Five validator workers start at once in this one process: the first push waits until they are warm, as a
  // tier's first reload does not come seconds after its start in production.
  await live.warmed;
  return {
    kind, runtime, url, adminUrl, logs,
    async close() {
      await live.close();
      kv.close();
      await runtime.close();
    },
  };
}

const assertion = () => new AssertionSigner(TEST_IDENTITY).assertionFor(ANONYMOUS);

/** A request to one instance, as the tier in front of it would send it. */
async function probe(i: Instance, path: string): Promise<number> {
  const headers = i.kind === 'router' ? { [IDENTITY_HEADER]: await assertion() } : {};
  const res = await request(`${i.url}${path}`, { dispatcher: client, headers });
  await res.body.dump();
  return res.statusCode;
}

async function status(i: Instance): Promise<ConfigStatus> {
  return (await (await fetch(`${i.adminUrl}/config/status`)).json()) as ConfigStatus;
}

/** Per instance, ms from `since` to the first 200 on path. */
async function timesToServe(path: string, since: number): Promise<number[]> {
  return Promise.all(instances.map(async (i) => {
    await waitFor(`${i.kind} serves ${path}`, async () => ((await probe(i, path)) === 200 || undefined), 15_000, 10);
    return Date.now() - since;
  }));
}

let seconds = 0;

/**
 * Steady load on /app through both edges: LOAD_WORKERS requests in flight at all times. Closed loop on
 * purpose: when other test files take the CPU, an open loop's backlog would grow until its requests time
 * out in the client, which says nothing about swaps; this way every request counted got its answer.
 */
function steadyLoad(): { stop(): Promise<(number | string)[]> } {
  const statuses: (number | string)[] = [];
  const edges = instances.filter((i) => i.kind === 'edge');
  const started = Date.now();
  let stopped = false;
  const workers = Array.from({ length: LOAD_WORKERS }, async (_, w) => {
    for (let n = w; !stopped; n += LOAD_WORKERS) {
      const edge = edges[n % edges.length]!;
      try {
        const res = await request(`${edge.url}/app/steady`, { dispatcher: client });
        await res.body.dump();
        statuses.push(res.statusCode);
      } catch (err) {
        statuses.push(`error ${(err as { code?: string }).code ?? (err as Error).message}`);
      }
    }
  });
  let done: Promise<(number | string)[]> | undefined;
  return {
    stop() {
      stopped = true;
      done ??= Promise.all(workers).then(() => { seconds = (Date.now() - started) / 1000; return statuses; });
      return done;
    },
  };
}

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

before(async () => {
  [consul, redis] = await Promise.all([startConsul(), startRedis()]);
  app = await startEchoBackend('app');
  catalog = await startEchoBackend('catalog');
  await consul.register({ id: 'app-1', name: 'app', port: app.port, address: '127.0.0.1' });
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-cluster-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, await text([appRoute('app', '/app')]));
  await new ConfigKv({ address: consul.address, waitSeconds: 30, snapshotMaxAgeSeconds: 86_400 }, KEY).push(await text([appRoute('app', '/app')]), 0, 'test');
  client = await httpsClient();
  for (let r = 0; r < 3; r++) instances.push(await startInstance('router', file));
  for (let e = 0; e < 2; e++) instances.push(await startInstance('edge', file));
  // Every edge has found the three routers before the load starts.
  await waitFor('edges see 3 routers', async () => {
    for (const i of instances.filter((x) => x.kind === 'edge')) {
      const ready = (await (await fetch(`${i.adminUrl}/ready`)).json()) as { checks: { routers: { services: Record<string, { instances: number }> } } };
      if (ready.checks.routers.services['gatehouse-router']?.instances !== 3) return undefined;
    }
    return true;
  }, 20_000);
});

after(async () => {
  for (const i of instances.reverse()) await i.close().catch(() => undefined);
  await client?.close();
  await app?.close();
  await catalog?.close();
  await consul?.stop();
  await redis?.stop();
});

test('a KV change, a published route and a bad push, under steady load: every instance serves the change, none loses a request', async (t) => {
  const kv = new ConfigKv({ address: consul.address, waitSeconds: 30, snapshotMaxAgeSeconds: 86_400 }, KEY);
  const load = steadyLoad();
  try {
    await new Promise((r) => setTimeout(r, 500));

    const live = (await kv.read())!;
    const pushedAt = Date.now();
    await kv.push(await text([appRoute('app', '/app'), appRoute('app-v2', '/v2')]), live.version, 'test');
    const kvTimes = await timesToServe('/v2/x', pushedAt);
    const applied = (await Promise.all(instances.map(status))).map((st) => Date.parse(st.loadedAt) - pushedAt);
    const reloads = instances.map((i) => i.logs.records.find((r) => r.event === 'config-reloaded' && r.trigger === 'consul'));
    t.diagnostic(`KV change served by each instance after ${kvTimes.join(', ')} ms (p99 ${percentile(kvTimes, 99)} ms); applied after ${applied.join(', ')} ms; validated in ${reloads.map((r) => r?.validateMs).join(', ')} ms, built in ${reloads.map((r) => r?.applyMs).join(', ')} ms`);

    const registeredAt = Date.now();
    await consul.register({ id: 'catalog-1', name: 'catalog', port: catalog.port, address: '127.0.0.1', meta: { 'gatehouse-route-prefix': '/catalog' } });
    const publishTimes = await timesToServe('/catalog/items', registeredAt);
    t.diagnostic(`published route served by each instance after ${publishTimes.join(', ')} ms (p99 ${percentile(publishTimes, 99)} ms)`);

    const before = await Promise.all(instances.map(status));
    // Past the CLI, which would refuse it: a route to a service nobody defined.
    const current = (await kv.read())!;
    await kv.push(await text([appRoute('app', '/app'), appRoute('app-v2', '/v2'), { ...appRoute('ghost', '/ghost'), service: 'ghost' }]), current.version, 'test');
    const refused = await Promise.all(instances.map((i) => waitFor(`${i.kind} shows the refusal`, async () => ((await status(i)).lastError ?? undefined), 10_000)));
    for (const r of refused) assert.match(r.problems.join('\n'), /routes\[2\]\.service: names service "ghost"/);
    const afterBad = await Promise.all(instances.map(status));
    assert.deepEqual(afterBad.map((s) => [s.hash, s.generation]), before.map((s) => [s.hash, s.generation]), 'nothing that serves changed');
    for (const i of instances) {
      assert.equal(await probe(i, '/v2/x'), 200);
      assert.equal(await probe(i, '/catalog/x'), 200);
    }

    const statuses = await load.stop();
    const failed = statuses.filter((s) => s !== 200);
    t.diagnostic(`${statuses.length} requests in ${seconds.toFixed(1)} s during the changes, ${failed.length} not 200`);
    assert.ok(statuses.length >= 50, `${statuses.length} requests in ${seconds} s`);
    assert.deepEqual(failed, [], 'no request lost to a swap');
    // A loose bound: five tiers share this one process with the load, beside other test files; the 1 s target,
    // each tier in its own process at 1,000 requests/s, is what `npm run bench:live` measures.
    for (const ms of [...kvTimes, ...publishTimes]) assert.ok(ms < 5_000, `an instance took ${ms} ms`);
  } finally {
    await load.stop();
    kv.close();
  }
});
