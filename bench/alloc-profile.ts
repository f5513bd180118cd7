// npm run bench:alloc: what each Gatehouse tier allocates per request, and where. Both cases run under
// wrk with V8's sampling heap profiler preloaded in every tier process (bench/heap-sampler.ts, collected
// objects included), sampling only the load after a warm-up, and each process's sampled bytes are divided
// by the requests it served, in total and by allocating function. Allocation is counted, not timed, so it holds on a busy machine too.
// BENCH_SECONDS sets the load per case (default 10).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCases } from './cases.js';
import { wrk } from './wrk.js';

interface HeapNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: HeapNode[] }

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const dir = resolve(new URL('../..', import.meta.url).pathname, 'bench/results/profiles', `alloc-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(dir, { recursive: true });
process.env.GATEHOUSE_HEAP_SAMPLE_DIR = dir;

const sampler = new URL('./heap-sampler.js', import.meta.url).pathname;
const bench = await startCases({ tierNodeArgs: ['--import', sampler] });
const tiers = bench.cases.filter((c) => c.id === 'bare' || c.id === 'secured');
const served = new Map<string, number>();
try {
  for (const c of tiers) {
    await wrk(c.url, 3, c.headers); // JIT warm-up, before sampling
    for (const p of Object.values(c.procs)) p.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 200));
    const load = await wrk(c.url, seconds, c.headers);
    for (const p of Object.values(c.procs)) p.kill('SIGUSR2');
    served.set(c.id, load.requests);
    console.log(`${c.name}: ${Math.round(load.rps)} req/s over ${seconds} s`);
  }
  const procs = tiers.flatMap((c) => Object.values(c.procs));
  for (let waited = 0; readdirSync(dir).filter((f) => f.endsWith('.heapprofile')).length < procs.length && waited < 120; waited++) {
    await new Promise((r) => setTimeout(r, 1_000));
  }
} finally {
  await bench.stop();
}

const roleOf = new Map(tiers.flatMap((c) => Object.entries(c.procs).map(([role, p]) => [String(p.pid), { caseId: c.id, role }])));
for (const file of readdirSync(dir).filter((f) => f.endsWith('.heapprofile'))) {
  const who = roleOf.get(file.split('.')[0]!);
  if (!who) continue;
  const requests = served.get(who.caseId) ?? 0;
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
    total += n.selfSize;
    n.children.forEach(walk);
  };
  walk((JSON.parse(readFileSync(join(dir, file), 'utf8')) as { head: HeapNode }).head);
  console.log(`\n${who.caseId} ${who.role}: ${(total / requests / 1024).toFixed(1)} KB per request (${join(dir, file)})\n  bytes/request  function`);
  for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${Math.round(bytes / requests).toString().padStart(13)}  ${name}`);
}
