// The cluster npm run bench:live measures: Redis, a Consul dev agent, two echo backends, and 3 router
// and 2 edge processes that all follow one Consul KV config key and the routes services publish. Every
// process goes through children.ts's process groups; stop() ends them all, and so does the bench's exit.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { Agent, request } from 'undici';
import { ensureDevCertificates, type DevCertificates } from '../shared/tls/dev-certs.js';
import { AssertionSigner, IDENTITY_HEADER } from '../shared/identity.js';
import { ANONYMOUS } from '../shared/auth-types.js';
import { ConfigKv } from '../shared/config/kv-store.js';
import type { ConfigStatus } from '../shared/config/live.js';
import { startEchoBackend, type EchoBackend } from '../deploy/dev/echo-backend.js';
import { exited, startChild, stderrTail } from './children.js';
import { freePort, waitFor, GiveUp } from '../test/harness/ports.js';
import { startRedis, type TestRedis } from '../test/harness/redis.js';
import { startConsul, type TestConsul } from '../test/harness/consul.js';
import { stopGroup } from '../test/harness/process.js';

export const CONFIG_KEY = 'gatehouse/config';
const ROUTERS = 3;
const EDGES = 2;
const repo = resolve(new URL('../..', import.meta.url).pathname);
/** A fresh key per run, as an operator's would be: the routers only accept what the edges sign with it. */
const IDENTITY = { keys: [{ id: 'bench-live', secret: randomBytes(32).toString('base64url') }], ttlSeconds: 60 };

export interface Instance {
  readonly name: string;
  readonly kind: 'edge' | 'router';
  readonly url: string;
  readonly adminUrl: string;
  readonly process: ChildProcess;
}

export interface Route { readonly name: string; readonly prefix: string; readonly service?: string }

export interface LiveCluster {
  readonly consul: TestConsul;
  readonly instances: readonly Instance[];
  readonly edges: readonly Instance[];
  /** The catalog backend, registered (with its route prefix in meta) or deregistered by the bench. */
  readonly catalogPort: number;
  /** The KV document's text with these routes (the rest of the document never changes). */
  text(routes: readonly Route[]): string;
  kv(): ConfigKv;
  /** The status of a request to one instance, sent as the tier in front of it would send it. */
  probe(i: Instance, path: string): Promise<number>;
  status(i: Instance): Promise<ConfigStatus>;
  stop(): Promise<void>;
}

export const APP_ROUTE: Route = { name: 'app', prefix: '/app' };

function document(routes: readonly Route[], consul: string, redis: string, certs: DevCertificates): string {
  return stringify({
    consul: { address: consul, waitSeconds: 30 },
    redis: { url: redis, commandTimeoutMs: 1_000 },
    config: { watchFile: false, consul: { key: CONFIG_KEY } },
    identity: IDENTITY,
    authorization: { default: 'allow' },
    log: { level: 'warn' },
    rateLimits: { everyone: { key: 'ip', windows: [{ name: 's', limit: 1_000_000, periodSeconds: 1 }] } },
    // Ports 0 here: each process's own come from GATEHOUSE_*_PORT, which apply to the KV document too.
    edge: {
      listen: { port: 0 }, admin: { port: 0 }, tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] },
      router: { consul: { service: 'gatehouse-router' } }, rateLimit: 'everyone', shutdown: { drainDelayMs: 0 },
    },
    router: { listen: { port: 0 }, admin: { port: 0 }, register: { checkIntervalSeconds: 1 }, shutdown: { drainDelayMs: 0 } },
    routes: routes.map((r) => ({ name: r.name, match: { pathPrefix: r.prefix }, service: r.service ?? 'app', auth: { anonymous: true } })),
    services: { app: { consul: { service: 'app' } } },
    publishedRoutes: {
      profiles: { public: { auth: { anonymous: true } } },
      allow: [{ service: 'catalog', pathPrefixes: ['/catalog'], profiles: ['public'], defaultProfile: 'public' }],
    },
  });
}

export async function startLiveCluster(): Promise<LiveCluster> {
  const [redis, consul] = await Promise.all([startRedis(), startConsul()]);
  const backends: EchoBackend[] = [];
  const children: ChildProcess[] = [];
  const kvs: ConfigKv[] = [];
  const client = new Agent({ connect: { rejectUnauthorized: false } }); // the bench's own self-signed edge certificate
  const signer = new AssertionSigner(IDENTITY);
  let stopping: Promise<void> | undefined;
  const stop = () => stopping ??= (async () => {
    for (const kv of kvs) kv.close();
    await Promise.all(children.map((c) => stopGroup(c)));
    await Promise.all([...backends.map((b) => b.close()), client.close(), redis.stop(), consul.stop()]);
  })();
  try {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-live-'));
    const certs = await ensureDevCertificates(join(dir, 'certs'));
    const text = (routes: readonly Route[]) => document(routes, consul.address, redis.url, certs);
    const kv = () => {
      const k = new ConfigKv({ address: consul.address, waitSeconds: 30, snapshotMaxAgeSeconds: 86_400 }, CONFIG_KEY);
      kvs.push(k);
      return k;
    };
    const app = await startEchoBackend('app');
    backends.push(app);
    const catalog = await startEchoBackend('catalog');
    backends.push(catalog);
    await consul.register({ id: 'app-1', name: 'app', port: app.port, address: '127.0.0.1' });
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, text([APP_ROUTE]));
    await kv().push(text([APP_ROUTE]), 0, 'bench');

    const spawn = async (kind: 'edge' | 'router', n: number): Promise<Instance> => {
      const [port, admin] = [await freePort(), await freePort()];
      const env = kind === 'edge'
        ? { GATEHOUSE_EDGE_PORT: String(port), GATEHOUSE_EDGE_ADMIN_PORT: String(admin) }
        : { GATEHOUSE_ROUTER_PORT: String(port), GATEHOUSE_ROUTER_ADMIN_PORT: String(admin) };
      const child = startChild(process.execPath, [join(repo, 'dist', kind, 'main.js'), '--config', file], { ...process.env, ...env });
      children.push(child);
      return { name: `${kind}-${n}`, kind, url: `${kind === 'edge' ? 'https' : 'http'}://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${admin}`, process: child };
    };
    const routers = await Promise.all(Array.from({ length: ROUTERS }, (_, n) => spawn('router', n + 1)));
    await Promise.all(routers.map(ready));
    const edges = await Promise.all(Array.from({ length: EDGES }, (_, n) => spawn('edge', n + 1)));
    await Promise.all(edges.map(ready));
    // Every edge has found the three routers before the load starts.
    await Promise.all(edges.map((e) => waitFor(`${e.name} sees ${ROUTERS} routers`, async () => {
      const r = (await (await fetch(`${e.adminUrl}/ready`)).json()) as { checks: { routers: { services: Record<string, { instances: number }> } } };
      return r.checks.routers.services['gatehouse-router']?.instances === ROUTERS || undefined;
    }, 20_000)));

    return {
      consul, edges, instances: [...routers, ...edges], catalogPort: catalog.port, text, kv, stop,
      async probe(i, path) {
        const headers = i.kind === 'router' ? { [IDENTITY_HEADER]: await signer.assertionFor(ANONYMOUS) } : {};
        const res = await request(`${i.url}${path}`, { dispatcher: client, headers });
        await res.body.dump();
        return res.statusCode;
      },
      async status(i) {
        return (await (await fetch(`${i.adminUrl}/config/status`)).json()) as ConfigStatus;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** /ready answers 200; a process that exits first fails the run with the end of its stderr. */
function ready(i: Instance): Promise<unknown> {
  return waitFor(`${i.name} ready`, async () => {
    if (exited(i.process)) throw new GiveUp(`${i.name} exited (${i.process.exitCode ?? i.process.signalCode}): ${stderrTail(i.process)}`);
    const res = await fetch(`${i.adminUrl}/ready`).catch(() => undefined);
    return res?.ok || undefined;
  }, 30_000);
}
