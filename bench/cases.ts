// Every case of the benchmark, started on loopback behind the same backend:
// the backend itself, nginx one and two hops, HAProxy, Caddy, the Node floor,
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
import { freePort, waitFor } from '../test/harness/ports.js';
import { ensureDevCertificates } from '../shared/tls/dev-certs.js';
import { startRedis } from '../test/harness/redis.js';
import { startConsul } from '../test/harness/consul.js';

export type CaseId = 'B0' | 'B1' | 'B2' | 'haproxy' | 'caddy' | 'floor' | 'express-gateway' | 'bare' | 'secured';

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

export async function startCases(): Promise<Bench> {
  const started: ChildProcess[] = [];
  const own = (p: ChildProcess) => { started.push(p); return p; };
  const node = (script: string, args: string[]) => own(spawn(process.execPath, [join(repo, 'dist', script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const [redis, consul] = await Promise.all([startRedis(), startConsul()]);
  const stop = async () => {
    for (const p of started) p.kill('SIGTERM');
    await Promise.all([redis.stop(), consul.stop()]);
  };
  try {
    const [pB, p1, p2a, p2b, pN, pH, pC, pE] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const bare = await tierPorts();
    const secured = await tierPorts();
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    const certs = await ensureDevCertificates(join(dir, 'certs'));
    await consul.register({ id: 'bench-backend-1', name: 'bench-backend', port: pB });
    const bareFile = bareConfig(dir, bare, certs, pB);
    const securedFile = securedConfig(dir, secured, certs, redis.url, consul.address);
    own(startNginx('backend', backendServer(pB)));
    const cases: Case[] = [
      { id: 'B0', name: 'B0 backend (nginx return 200)', url: url(pB), procs: {} },
      { id: 'B1', name: 'B1 nginx 1 hop', url: url(p1), procs: { nginx: own(startNginx('hop1', proxyServer(p1, pB))) } },
      { id: 'B2', name: 'B2 nginx 2 hops', url: url(p2a), procs: { first: own(startNginx('hop2a', proxyServer(p2a, p2b))), second: own(startNginx('hop2b', proxyServer(p2b, pB))) } },
      { id: 'haproxy', name: 'HAProxy 1 hop', url: url(pH), procs: { haproxy: own(startHaproxy(pH, pB)) } },
      { id: 'caddy', name: 'Caddy 1 hop', url: url(pC), procs: { caddy: own(startCaddy(goTool('caddy'), pC, pB)) } },
      { id: 'floor', name: 'Node floor (node:http + undici)', url: url(pN), procs: { node: node('bench/node-floor.js', [String(pN), `http://127.0.0.1:${pB}`]) } },
      { id: 'express-gateway', name: 'Express Gateway 1 hop', url: url(pE), procs: { eg: own(startExpressGateway(ensureExpressGateway(), pE, pB)) } },
      { id: 'bare', name: 'Gatehouse bare (TLS edge -> router)', url: `https://127.0.0.1:${bare.edge}/`, procs: { edge: node('edge/main.js', ['--config', bareFile]), router: node('router/main.js', ['--config', bareFile]) } },
      { id: 'secured', name: 'Gatehouse secured (JWT, rate limit, authz, Consul)', url: `https://127.0.0.1:${secured.edge}/`, headers: [`authorization: Bearer ${await benchToken()}`], procs: { edge: node('edge/main.js', ['--config', securedFile]), router: node('router/main.js', ['--config', securedFile]) } },
    ];
    const probe = new Agent({ connect: { rejectUnauthorized: false } }); // the bench's own self-signed edge certificate
    await Promise.all(cases.map((c) => waitFor(`${c.name} answering`, () => answers(c, probe), 30_000))).finally(() => probe.close());
    return { cases, stop };
  } catch (err) {
    await stop();
    throw err;
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
