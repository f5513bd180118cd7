// Every case of the benchmark, started on loopback behind the same backend:
// the backend itself, nginx one and two hops, HAProxy, Caddy, the Node floor
// (one hop, and two with TLS on the first, as the two tiers are),
// Express Gateway, and Gatehouse bare and secured (its refusals checked
// before anything is timed); then over HTTP/2 from the client: nginx and the
// Node floor one TLS hop each, the two-hop floor and both Gatehouse chains.
// Every process goes through children.ts and runs on its side's core
// (cpu-pinning.ts): the backend, Redis and Consul beside the load, the rest apart.
import { TIER_NODE_FLAGS } from '../shared/heap-flags.js';
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startNginx, backendServer, proxyServer } from './nginx.js';
import { startHaproxy } from './haproxy.js';
import { startCaddy } from './caddy.js';
import { ensureExpressGateway, startExpressGateway } from './express-gateway.js';
import { goTool } from './go-tools.js';
import { bareConfig, securedConfig, benchToken, securedChecks, type TierPorts } from './gatehouse.js';
import { verifyChain, type ChainCheck } from './chain-checks.js';
import { commandOf, exited, startChild, stderrTail } from './children.js';
import { freePort, waitFor, GiveUp } from '../test/harness/ports.js';
import { ensureDevCertificates } from '../shared/tls/dev-certs.js';
import { startRedis } from '../test/harness/redis.js';
import { startConsul } from '../test/harness/consul.js';
import { stopGroup } from '../test/harness/process.js';
import { pinProcess, type CpuSide } from './cpu-pinning.js';
import { withHeapProbe } from './allocations.js';
import { processTree } from './proc.js';

export type CaseId = 'B0' | 'B1' | 'B2' | 'haproxy' | 'caddy' | 'floor' | 'floor2' | 'express-gateway' | 'bare' | 'secured'
  | 'h2-nginx' | 'h2-floor' | 'h2-floor2' | 'h2-bare' | 'h2-secured';

export interface Case {
  readonly id: CaseId;
  readonly name: string;
  readonly url: string;
  /** The proxy processes whose CPU and memory are measured, by role. */
  readonly procs: Readonly<Record<string, ChildProcess>>;
  readonly headers?: readonly string[];
  /** The chain checks this case passed before it was measured (chain-checks.ts). */
  readonly verified?: readonly string[];
  /** 'h2': clients speak HTTP/2 over TLS (h2load flat out, vegeta with HTTP/2 at the fixed rate); else HTTP/1.1. */
  readonly protocol?: 'h2';
  /** The roles started with the heap probe (allocations.ts): the Node processes whose allocation per request is measured. */
  readonly heapProbed?: readonly string[];
  /** The edge's /metrics, read before and after each flat-out load for its Redis round trips per request. */
  readonly metricsUrl?: string;
}

export interface Bench {
  readonly cases: readonly Case[];
  stop(): Promise<void>;
}

const repo = resolve(new URL('../..', import.meta.url).pathname);

export interface StartOptions {
  /** Extra Node flags for the Gatehouse tiers only (bench/profile.ts passes --cpu-prof). */
  readonly tierNodeArgs?: readonly string[];
  /** Build Caddy and install Express Gateway when missing (npm run bench); false: a missing one is an error (the smoke test). */
  readonly install?: boolean;
  /** Aborted: starts no further case, stops those started, and rejects. */
  readonly signal?: AbortSignal | undefined;
}

export async function startCases(o: StartOptions = {}): Promise<Bench> {
  const { tierNodeArgs = [], install = true, signal } = o;
  // Before anything starts: a missing peer fails the run in a second, not after the other cases.
  const caddyBin = await goTool('caddy', install, signal);
  const egDir = await ensureExpressGateway(install, signal);
  const started: ChildProcess[] = [];
  // Every Node process of a case carries the heap probe: the floors' allocations are what the tiers' are compared with.
  const probe = withHeapProbe();
  const node = (script: string, args: string[], flags: readonly string[] = []) => startChild(process.execPath, [...probe.flags, ...flags, join(repo, 'dist', script), ...args], probe.env);
  const [redis, consul] = await startBoth(startRedis(), startConsul());
  pinProcess(redis.pid(), 'load');
  pinProcess(consul.pid(), 'load');
  const client = new Agent({ connect: { rejectUnauthorized: false } }); // the bench's own self-signed edge certificate
  let stopping: Promise<void> | undefined;
  const stop = () => stopping ??= Promise.all([...started.map((p) => stopGroup(p)), redis.stop(), consul.stop(), client.close()]).then(() => {});
  const start = (make: () => Promise<Launched>, side: CpuSide = 'tested') => launch(make, client, started, side, signal);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
    const certs = await ensureDevCertificates(join(dir, 'certs'));
    const backend = await start(async () => {
      const port = await freePort();
      return { case: { id: 'B0', name: 'B0 backend (nginx return 200)', url: url(port), procs: {} }, children: [startNginx('backend', backendServer(port))] };
    }, 'load');
    const pB = Number(new URL(backend.url).port);
    await consul.register({ id: 'bench-backend-1', name: 'bench-backend', port: pB });
    const token = await benchToken();
    const one = (id: CaseId, name: string, role: string, run: (port: number) => ChildProcess, o: Pick<Case, 'protocol' | 'heapProbed'> = {}) => start(async () => {
      const port = await freePort();
      const p = run(port);
      return { case: { id, name, url: o.protocol === 'h2' ? `https://127.0.0.1:${port}/` : url(port), procs: { [role]: p }, ...o }, children: [p] };
    });
    const gatehouse = async (id: CaseId, name: string, write: (ports: TierPorts) => string, headers?: string[], checks: readonly ChainCheck[] = [], metered = false) => {
      const c = await start(async () => {
        const ports = await tierPorts();
        const file = write(ports);
        // The tiers run with the flags they ship with (the image, npm start); the floors with Node's defaults.
        const edge = node('edge/main.js', ['--config', file], [...TIER_NODE_FLAGS, ...tierNodeArgs]);
        const router = node('router/main.js', ['--config', file], [...TIER_NODE_FLAGS, ...tierNodeArgs]);
        const metricsUrl = metered ? { metricsUrl: `http://127.0.0.1:${ports.edgeAdmin}/metrics` } : {};
        return { case: { id, name, url: `https://127.0.0.1:${ports.edge}/`, procs: { edge, router }, heapProbed: ['edge', 'router'], ...metricsUrl, ...(headers && { headers }) }, children: [edge, router] };
      });
      return checks.length === 0 ? c : { ...c, verified: await verifyChain(c.name, c.url, checks, client) };
    };
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
      await one('caddy', 'Caddy 1 hop', 'caddy', (port) => startCaddy(caddyBin, port, pB)),
      await one('floor', 'Node floor (node:http + undici)', 'node', (port) => node('bench/node-floor.js', [String(port), `http://127.0.0.1:${pB}`]), { heapProbed: ['node'] }),
      // The structural floor of a two-tier Node design, as B2 is nginx's: TLS in, a plain hop, the backend.
      await start(async () => {
        const [p1, p2] = [await freePort(), await freePort()];
        const second = node('bench/node-floor.js', [String(p2), `http://127.0.0.1:${pB}`]);
        const first = node('bench/node-floor.js', [String(p1), `http://127.0.0.1:${p2}`, certs.keyFile, certs.certFile]);
        return { case: { id: 'floor2', name: 'Node floor 2 hops (TLS, then plain)', url: `https://127.0.0.1:${p1}/`, procs: { first, second }, heapProbed: ['first', 'second'] }, children: [first, second] };
      }),
      await one('express-gateway', 'Express Gateway 1 hop', 'eg', (port) => startExpressGateway(egDir, port, pB)),
      await gatehouse('bare', 'Gatehouse bare (TLS edge -> router)', (ports) => bareConfig(dir, ports, certs, pB)),
      await gatehouse('secured', 'Gatehouse secured (JWT, rate limit, authz, Consul)', (ports) => securedConfig(dir, ports, certs, redis.url, consul.address), [`authorization: Bearer ${token}`], await securedChecks(), true),
    ];
    const overH2 = (id: CaseId, as: CaseId, name: string): Case => {
      // The same processes, reached over HTTP/2: their chain checks ran over HTTP/1.1, so none are claimed here.
      const { verified: _checkedOverHttp1, metricsUrl: _readOverHttp1, ...c } = cases.find((x) => x.id === as)!;
      return { ...c, id, name, protocol: 'h2' };
    };
    cases.push(
      await one('h2-nginx', 'h2: nginx 1 hop (TLS + HTTP/2 in)', 'nginx', (port) => startNginx('h2', proxyServer(port, pB, certs)), { protocol: 'h2' }),
      await one('h2-floor', 'h2: Node floor 1 hop (node:http2 TLS in)', 'node', (port) => node('bench/node-floor.js', [String(port), `http://127.0.0.1:${pB}`, certs.keyFile, certs.certFile]), { protocol: 'h2', heapProbed: ['node'] }),
      overH2('h2-floor2', 'floor2', 'h2: Node floor 2 hops'),
      overH2('h2-bare', 'bare', 'h2: Gatehouse bare'),
      overH2('h2-secured', 'secured', 'h2: Gatehouse secured'),
    );
    return { cases, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Both started, or neither: the one that started is stopped when the other fails (its pipes would keep the bench alive). */
async function startBoth<A extends { stop(): Promise<void> }, B extends { stop(): Promise<void> }>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  await Promise.all([ra, rb].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
  throw ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason;
}

interface Launched { readonly case: Case; readonly children: readonly ChildProcess[] }

/**
 * Starts a case and waits until it answers 200. Ports come from freePort() and are bound later by the
 * child, so another process can take one in between (EADDRINUSE): a case whose process exits before
 * answering is started again on new ports, up to three times.
 */
async function launch(make: () => Promise<Launched>, probe: Agent, started: ChildProcess[], side: CpuSide, signal: AbortSignal | undefined): Promise<Case> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const { case: c, children } = await make();
    started.push(...children);
    try {
      await waitFor(`${c.name} answering`, () => {
        if (signal?.aborted) throw new GiveUp('the run was aborted');
        const gone = children.find(exited);
        if (gone) throw new GiveUp(`${commandOf(gone).slice(0, 3).join(' ')} exited (${gone.exitCode ?? gone.signalCode ?? 'never started'})${stderrTail(gone) ? `: ${stderrTail(gone)}` : ''}`);
        return answers(c, probe);
      }, 30_000);
      // Pinned once it answers: by then nginx has forked its workers, and threads started later follow their process.
      for (const child of children) for (const pid of processTree(child.pid!)) pinProcess(pid, side);
      return c;
    } catch (err) {
      await Promise.all(children.map((p) => stopGroup(p)));
      if (attempt === 3 || signal?.aborted) throw err;
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
