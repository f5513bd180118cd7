// Every case of the benchmark, started on loopback behind the same backend:
// the backend itself, nginx one and two hops, HAProxy, Caddy, the Node floor
// (one hop, and two with TLS on the first, as the two tiers are),
// Express Gateway, and Gatehouse bare and secured.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startNginx, backendServer, proxyServer } from './nginx.js';
import { startHaproxy } from './haproxy.js';
import { startCaddy } from './caddy.js';
import { ensureExpressGateway, startExpressGateway } from './express-gateway.js';
import { goTool } from './go-tools.js';
import { bareConfig, securedConfig, benchToken, type TierPorts } from './gatehouse.js';
import { freePort, waitFor, GiveUp } from '../test/harness/ports.js';
import { ensureDevCertificates } from '../shared/tls/dev-certs.js';
import { startRedis } from '../test/harness/redis.js';
import { startConsul } from '../test/harness/consul.js';

export type CaseId = 'B0' | 'B1' | 'B2' | 'haproxy' | 'caddy' | 'floor' | 'floor2' | 'express-gateway' | 'bare' | 'secured';

export interface Case {
  readonly id: CaseId;
  readonly name: string;
  readonly url: string;
  /** The proxy processes whose CPU and memory are measured, by role. */
  readonly procs: Readonly<Record<string, ChildProcess>>;
  readonly headers?: readonly string[];
}

export interface Bench {
  readonly cases: readonly Case[];
  stop(): Promise<void>;
}

const repo = resolve(new URL('../..', import.meta.url).pathname);

/** tierNodeArgs: extra Node flags for the Gatehouse tiers only (bench/profile.ts passes --cpu-prof). */
export async function startCases(tierNodeArgs: readonly string[] = []): Promise<Bench> {
  const started: ChildProcess[] = [];
  const node = (script: string, args: string[], flags: readonly string[] = []) => spawn(process.execPath, [...flags, join(repo, 'dist', script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [redis, consul] = await Promise.all([startRedis(), startConsul()]);
  const probe = new Agent({ connect: { rejectUnauthorized: false } }); // the bench's own self-signed edge certificate
  const stop = async () => {
    for (const p of started) p.kill('SIGTERM');
    await Promise.all([redis.stop(), consul.stop(), probe.close()]);
  };
  const start = (make: () => Promise<Launched>) => launch(make, probe, started);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    const certs = await ensureDevCertificates(join(dir, 'certs'));
    const backend = await start(async () => {
      const port = await freePort();
      return { case: { id: 'B0', name: 'B0 backend (nginx return 200)', url: url(port), procs: {} }, children: [startNginx('backend', backendServer(port))] };
    });
    const pB = Number(new URL(backend.url).port);
    await consul.register({ id: 'bench-backend-1', name: 'bench-backend', port: pB });
    const token = await benchToken();
    const one = (id: CaseId, name: string, role: string, run: (port: number) => ChildProcess) => start(async () => {
      const port = await freePort();
      const p = run(port);
      return { case: { id, name, url: url(port), procs: { [role]: p } }, children: [p] };
    });
    const gatehouse = (id: CaseId, name: string, write: (ports: TierPorts) => string, headers?: string[]) => start(async () => {
      const ports = await tierPorts();
      const file = write(ports);
      const edge = node('edge/main.js', ['--config', file], tierNodeArgs);
      const router = node('router/main.js', ['--config', file], tierNodeArgs);
      return { case: { id, name, url: `https://127.0.0.1:${ports.edge}/`, procs: { edge, router }, ...(headers && { headers }) }, children: [edge, router] };
    });
    const cases: Case[] = [
      backend,
      await one('B1', 'B1 nginx 1 hop', 'nginx', (port) => startNginx('hop1', proxyServer(port, pB))),
      await start(async () => {
        const [p2a, p2b] = [await freePort(), await freePort()];
        const first = startNginx('hop2a', proxyServer(p2a, p2b));
        const second = startNginx('hop2b', proxyServer(p2b, pB));
        return { case: { id: 'B2', name: 'B2 nginx 2 hops', url: url(p2a), procs: { first, second } }, children: [first, second] };
      }),
      await one('haproxy', 'HAProxy 1 hop', 'haproxy', (port) => startHaproxy(port, pB)),
      await one('caddy', 'Caddy 1 hop', 'caddy', (port) => startCaddy(goTool('caddy'), port, pB)),
      await one('floor', 'Node floor (node:http + undici)', 'node', (port) => node('bench/node-floor.js', [String(port), `http://127.0.0.1:${pB}`])),
      // The structural floor of a two-tier Node design, as B2 is nginx's: TLS in, a plain hop, the backend.
      await start(async () => {
        const [p1, p2] = [await freePort(), await freePort()];
        const second = node('bench/node-floor.js', [String(p2), `http://127.0.0.1:${pB}`]);
        const first = node('bench/node-floor.js', [String(p1), `http://127.0.0.1:${p2}`, certs.keyFile, certs.certFile]);
        return { case: { id: 'floor2', name: 'Node floor 2 hops (TLS, then plain)', url: `https://127.0.0.1:${p1}/`, procs: { first, second } }, children: [first, second] };
      }),
      await one('express-gateway', 'Express Gateway 1 hop', 'eg', (port) => startExpressGateway(ensureExpressGateway(), port, pB)),
      await gatehouse('bare', 'Gatehouse bare (TLS edge -> router)', (ports) => bareConfig(dir, ports, certs, pB)),
      await gatehouse('secured', 'Gatehouse secured (JWT, rate limit, authz, Consul)', (ports) => securedConfig(dir, ports, certs, redis.url, consul.address), [`authorization: Bearer ${token}`]),
    ];
    return { cases, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Launched { readonly case: Case; readonly children: readonly ChildProcess[] }

/**
 * Starts a case and waits until it answers 200. Ports come from freePort() and are bound later by the
 * child, so another process can take one in between (EADDRINUSE): a case whose process exits before
 * answering is started again on new ports, up to three times.
 */
async function launch(make: () => Promise<Launched>, probe: Agent, started: ChildProcess[]): Promise<Case> {
  for (let attempt = 1; ; attempt++) {
    const { case: c, children } = await make();
    started.push(...children);
    try {
      await waitFor(`${c.name} answering`, () => {
        const gone = children.find((p) => p.exitCode !== null || p.signalCode !== null);
        if (gone) throw new GiveUp(`${gone.spawnfile} exited (${gone.exitCode ?? gone.signalCode})`);
        return answers(c, probe);
      }, 30_000);
      return c;
    } catch (err) {
      for (const p of children) p.kill('SIGTERM');
      if (attempt === 3) throw err;
    }
  }
}

const url = (port: number) => `http://127.0.0.1:${port}/`;
async function tierPorts(): Promise<TierPorts> {
  return { edge: await freePort(), edgeAdmin: await freePort(), router: await freePort(), routerAdmin: await freePort() };
}

/** A 200 through the whole case (Gatehouse: once the router and its backend are known). */
async function answers(c: Case, dispatcher: Agent): Promise<true | undefined> {
  const headers = Object.fromEntries((c.headers ?? []).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()]));
  const res = await request(c.url, { headers, dispatcher }).catch(() => undefined);
  await res?.body.dump();
  return res?.statusCode === 200 ? true : undefined;
}
