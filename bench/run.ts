// npm run bench: every case on loopback in one run, the load generators and
// the processes under test on separate cores, interleaved round by round
// (medians of the rounds, with their spread), each measured closed-loop (wrk,
// 50 keep-alive connections, or h2load over HTTP/2; CPU per request, heap
// allocation per request and peak RSS of every proxy process) and open-loop at
// one fixed rate for all (vegeta). The secured chain's refusals are checked
// before anything is timed (cases.ts). Prints the table and the targets, every
// failed case as FAILED; saves JSON under bench/results/, the chart
// (docs/bench.svg) and the table (docs/benchmarks.md). Exits 1 when a case failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus } from 'node:os';
import { H2_CONNECTIONS, H2_STREAMS } from './h2load.js';
import { startCases, type CaseId } from './cases.js';
import { closedLoop, fixedRate, load, type ClosedLoopSample, type FixedRateSample } from './measure.js';
import { medianRows, printTable, targets, type BenchRow } from './report.js';
import { renderChart } from './chart.js';
import { renderMarkdown, writeBetweenMarkers } from './markdown.js';
import { goTool } from './go-tools.js';
import type { WrkResult } from './wrk.js';
import { resetPeakRss } from './proc.js';
import { pinningNote } from './cpu-pinning.js';

const repo = resolve(new URL('../..', import.meta.url).pathname);

export interface BenchOptions {
  readonly rounds?: number;
  readonly seconds?: number;
  /** Load on every case before round 1, so the Node cases are measured JIT-compiled, not cold. */
  readonly warmupSeconds?: number;
  /** Requests per second of the open-loop phase; by default half the slowest case's closed-loop rate in round 1. */
  readonly rate?: number;
  readonly save?: boolean;
  /** Build or install a missing peer or load tool first (default); false: a missing one is an error naming its install command (the smoke test never downloads). */
  readonly install?: boolean;
  /** Aborting stops every process of the run at once (the smoke test's timeout). */
  readonly signal?: AbortSignal;
}

export async function runBench(o: BenchOptions = {}): Promise<BenchRow[]> {
  const rounds = o.rounds ?? Number(process.env.BENCH_ROUNDS ?? 5);
  const seconds = o.seconds ?? Number(process.env.BENCH_SECONDS ?? 5);
  const warmup = o.warmupSeconds ?? Number(process.env.BENCH_WARMUP ?? 5);
  const { install = true, signal } = o;
  const vegeta = await goTool('vegeta', install, signal);
  const bench = await startCases({ install, signal });
  // Aborted: every process goes now, not when the load in flight ends.
  const abort = () => void bench.stop();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const closed = new Map<CaseId, ClosedLoopSample[]>(bench.cases.map((c) => [c.id, []]));
    const open = new Map<CaseId, FixedRateSample[]>(bench.cases.map((c) => [c.id, []]));
    const warmups = new Map<CaseId, WrkResult[]>(bench.cases.map((c) => [c.id, []]));
    let rate = o.rate ?? (Number(process.env.BENCH_RATE) || undefined);
    for (const c of bench.cases) warmups.get(c.id)!.push(await load(c, warmup, signal));
    for (const c of bench.cases) for (const p of Object.values(c.procs)) resetPeakRss(p.pid!);
    for (let round = 1; round <= rounds; round++) {
      for (const c of bench.cases) closed.get(c.id)!.push(await closedLoop(c, seconds, signal));
      rate ??= fairRate([...closed.values()].map((s) => s[0]!).filter((s) => s.errors === 0).map((s) => s.rps));
      for (const c of bench.cases) open.get(c.id)!.push(await fixedRate(c, vegeta, rate, seconds, signal));
      process.stderr.write(`bench: round ${round}/${rounds} done\n`);
    }
    const rows = medianRows(bench.cases, closed, open, warmups);
    const goals = targets(rows);
    console.log(`pinning: ${pinningNote()}`);
    printTable(rows, goals);
    if (o.save ?? true) save(rows, goals, { rounds, seconds, rate: rate! });
    return rows;
  } finally {
    signal?.removeEventListener('abort', abort);
    await bench.stop();
  }
}

/** Half the slowest case's throughput (of those without errors), so every case can keep up with it; a round number. */
function fairRate(rps: readonly number[]): number {
  const healthy = rps.filter((x) => x > 0);
  const half = (healthy.length > 0 ? Math.min(...healthy) : 20) / 2;
  const step = half >= 1000 ? 100 : 10;
  return Math.max(step, Math.floor(half / step) * step);
}

function save(rows: readonly BenchRow[], goals: ReturnType<typeof targets>, run: { rounds: number; seconds: number; rate: number }): void {
  const dir = join(repo, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version };
  const pinning = pinningNote();
  const json = JSON.stringify({ at, machine, ...run, pinning, connections: 50, h2: { connections: H2_CONNECTIONS, streams: H2_STREAMS }, rows, targets: goals }, null, 2);
  const file = join(dir, `${at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  const markdown = renderMarkdown(rows, goals, { at, machine: `${machine.cpus} cores, ${machine.model}, Node ${machine.node}`, ...run, pinning });
  writeFileSync(join(dir, 'latest.md'), `${markdown}\n`);
  const docs = join(repo, 'docs/benchmarks.md');
  const table = writeBetweenMarkers(docs, markdown) ? 'docs/benchmarks.md' : `bench/results/latest.md (no markers in ${docs})`;
  mkdirSync(join(repo, 'docs'), { recursive: true });
  writeFileSync(join(repo, 'docs/bench.svg'), renderChart(rows, `${at.slice(0, 10)}, ${machine.cpus} cores, ${run.rounds} rounds x ${run.seconds} s, median; Node ${machine.node}; ${pinning.startsWith('not') ? 'not pinned' : 'load and tested processes on separate cores'}`));
  console.log(`results: ${file}; chart: docs/bench.svg; table: ${table}`);
}

if (process.argv[1]?.endsWith('bench/run.js')) {
  const rows = await runBench();
  if (rows.some((r) => r.failed)) process.exitCode = 1;
}
