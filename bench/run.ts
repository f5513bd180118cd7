// npm run bench: every case on loopback, in one run, interleaved round by
// round (median of rounds), keep-alive load from wrk at 50 connections, with
// CPU microseconds per request and peak RSS of every proxy process.
// A first cut (issue 7 goes on): HAProxy, Caddy, Express Gateway, the
// secured case, open-loop latency and the SVG chart come next.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startNginx, backendServer, proxyServer } from './nginx.js';
import { startHaproxy } from './haproxy.js';
import { wrk, type WrkResult } from './wrk.js';
import { cpuMicros, peakRssMb } from './proc.js';
import { freePort, waitFor } from '../test/harness/ports.js';
import { ensureDevCertificates } from '../shared/tls/dev-certs.js';
import { startRedis } from '../test/harness/redis.js';
import { startConsul } from '../test/harness/consul.js';
import { bareConfig, securedConfig, benchToken, type TierPorts } from './gatehouse.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const repo = resolve(new URL('../..', import.meta.url).pathname);

interface Case { readonly name: string; readonly url: string; readonly procs: Record<string, ChildProcess>; readonly headers?: readonly string[] }
interface Sample extends WrkResult { readonly cpuUsPerRequest: Record<string, number>; readonly rssMb: Record<string, number> }

/** A process and its descendants (nginx workers), for CPU accounting. */
function tree(pid: number): number[] {
  const out = [pid];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (children) for (const c of children.split(' ')) out.push(...tree(Number(c)));
  }
  return out;
}
const cpuOf = (p: ChildProcess) => tree(p.pid!).reduce((sum, pid) => sum + cpuMicros(pid), 0);
const rssOf = (p: ChildProcess) => tree(p.pid!).reduce((sum, pid) => sum + peakRssMb(pid), 0);

async function measure(c: Case, seconds: number): Promise<Sample> {
  await wrk(c.url, 1, c.headers); // warm-up
  const before = Object.fromEntries(Object.entries(c.procs).map(([k, p]) => [k, cpuOf(p)]));
  const r = await wrk(c.url, seconds, c.headers);
  const cpuUsPerRequest = Object.fromEntries(Object.entries(c.procs).map(([k, p]) => [k, Math.round((cpuOf(p) - before[k]!) / Math.max(1, r.requests))]));
  return { ...r, cpuUsPerRequest, rssMb: Object.fromEntries(Object.entries(c.procs).map(([k, p]) => [k, rssOf(p)])) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface BenchRow {
  readonly case: string;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
  readonly cpuUsPerRequest: Record<string, number>;
  readonly rssMb: Record<string, number>;
}

/** Runs every case and returns the median rows; also prints the table and writes the JSON. */
export async function runBench(o: { rounds?: number; seconds?: number; save?: boolean } = {}): Promise<BenchRow[]> {
  const rounds = o.rounds ?? ROUNDS;
  const seconds = o.seconds ?? SECONDS;
  const port = async () => freePort();
  const [pB, p1, p2a, p2b, pN, pH] = [await port(), await port(), await port(), await port(), await port(), await port()];
  const bare: TierPorts = { edge: await port(), edgeAdmin: await port(), router: await port(), routerAdmin: await port() };
  const secured: TierPorts = { edge: await port(), edgeAdmin: await port(), router: await port(), routerAdmin: await port() };
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const certs = await ensureDevCertificates(join(dir, 'certs'));
  const [redis, consul] = await Promise.all([startRedis(), startConsul()]);
  await consul.register({ id: 'bench-backend-1', name: 'bench-backend', port: pB });
  const bareFile = bareConfig(dir, bare, certs, pB);
  const securedFile = securedConfig(dir, secured, certs, redis.url, consul.address);
  const token = await benchToken();
  const started: ChildProcess[] = [];
  const node = (script: string, args: string[]) => {
    const p = spawn(process.execPath, [join(repo, 'dist', script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    started.push(p);
    return p;
  };
  const nginx = (name: string, server: string) => { const p = startNginx(name, server); started.push(p); return p; };
  try {
    const backend = nginx('backend', backendServer(pB));
    const hop1 = nginx('hop1', proxyServer(p1, pB));
    const hop2a = nginx('hop2a', proxyServer(p2a, p2b));
    const hop2b = nginx('hop2b', proxyServer(p2b, pB));
    const floor = node('bench/node-floor.js', [String(pN), `http://127.0.0.1:${pB}`]);
    const haproxy = startHaproxy(pH, pB);
    started.push(haproxy);
    const router = node('router/main.js', ['--config', bareFile]);
    const edge = node('edge/main.js', ['--config', bareFile]);
    const sRouter = node('router/main.js', ['--config', securedFile]);
    const sEdge = node('edge/main.js', ['--config', securedFile]);
    for (const port of [pB, p1, p2a, pN, pH]) await waitFor(`port ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)) || undefined);
    for (const admin of [bare.edgeAdmin, secured.edgeAdmin, secured.routerAdmin]) {
      await waitFor(`gatehouse ready on ${admin}`, async () => (await fetch(`http://127.0.0.1:${admin}/ready`).then((r) => r.ok, () => false)) || undefined);
    }
    void backend;
    const cases: Case[] = [
      { name: 'B0 backend', url: `http://127.0.0.1:${pB}/`, procs: {} },
      { name: 'B1 nginx 1 hop', url: `http://127.0.0.1:${p1}/`, procs: { nginx: hop1 } },
      { name: 'B2 nginx 2 hops', url: `http://127.0.0.1:${p2a}/`, procs: { first: hop2a, second: hop2b } },
      { name: 'HAProxy 1 hop', url: `http://127.0.0.1:${pH}/`, procs: { haproxy } },
      { name: 'Node floor (node:http + undici)', url: `http://127.0.0.1:${pN}/`, procs: { node: floor } },
      { name: 'Gatehouse bare (TLS edge -> router)', url: `https://127.0.0.1:${bare.edge}/`, procs: { edge, router } },
      { name: 'Gatehouse secured (JWT, rate limit, authz, Consul)', url: `https://127.0.0.1:${secured.edge}/`, procs: { edge: sEdge, router: sRouter }, headers: [`authorization: Bearer ${token}`] },
    ];
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const c of cases) samples.get(c.name)!.push(await measure(c, seconds));
      process.stderr.write(`round ${round}/${rounds} done\n`);
    }
    return report(cases, samples, { rounds, seconds, save: o.save ?? true });
  } finally {
    for (const p of started) p.kill('SIGTERM');
    await Promise.all([redis.stop(), consul.stop()]);
  }
}

function report(cases: Case[], samples: Map<string, Sample[]>, run: { rounds: number; seconds: number; save: boolean }): BenchRow[] {
  const rows = cases.map((c) => {
    const s = samples.get(c.name)!;
    const cpu = Object.fromEntries(Object.keys(c.procs).map((k) => [k, median(s.map((x) => x.cpuUsPerRequest[k]!))]));
    return { case: c.name, rps: Math.round(median(s.map((x) => x.rps))), p50ms: median(s.map((x) => x.p50ms)), p99ms: median(s.map((x) => x.p99ms)), p999ms: median(s.map((x) => x.p999ms)), errors: s.reduce((n, x) => n + x.errors, 0), cpuUsPerRequest: cpu, rssMb: s.at(-1)!.rssMb };
  });
  const b1 = rows[1]!.rps;
  const floorCpu = rows.find((r) => r.case.startsWith('Node floor'))!.cpuUsPerRequest.node ?? 1;
  console.log('case'.padEnd(52), 'req/s'.padStart(8), 'x B1'.padStart(6), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'p99.9'.padStart(8), '  CPU-us/req (x Node floor)   peak RSS MB');
  for (const r of rows) {
    const cpu = Object.entries(r.cpuUsPerRequest).map(([k, v]) => `${k} ${v} (${(v / floorCpu).toFixed(2)}x)`).join(', ');
    const rss = Object.entries(r.rssMb).map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(r.case.padEnd(52), String(r.rps).padStart(8), (r.rps / b1).toFixed(2).padStart(6), r.p50ms.toFixed(2).padStart(8), r.p99ms.toFixed(2).padStart(8), r.p999ms.toFixed(2).padStart(8), `  ${cpu || '-'}   ${rss || '-'}`);
  }
  if (run.save) {
    mkdirSync(join(repo, 'bench/results'), { recursive: true });
    const file = join(repo, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ rounds: run.rounds, seconds: run.seconds, connections: 50, rows }, null, 2));
    console.log(`results: ${file}`);
  }
  return rows;
}

if (process.argv[1]?.endsWith('bench/run.js')) await runBench();
