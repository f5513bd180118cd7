// npm run bench:profile: both Gatehouse cases under load with V8's CPU
// profiler on every tier process. Writes .cpuprofile files (open them in
// Chrome DevTools' Performance panel or speedscope.app as flame graphs) and
// prints each process's top functions by self time.
// BENCH_SECONDS sets the load per case (default 20).
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCases } from './cases.js';
import { wrk } from './wrk.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const dir = resolve(new URL('../..', import.meta.url).pathname, 'bench/results/profiles', new Date().toISOString().replace(/[:.]/g, '-'));
mkdirSync(dir, { recursive: true });

const bench = await startCases({ tierNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const tiers = bench.cases.filter((c) => c.id === 'bare' || c.id === 'secured');
try {
  for (const c of tiers) {
    await wrk(c.url, 5, c.headers); // JIT warm-up, inside the profile but small against the load
    const r = await wrk(c.url, seconds, c.headers);
    console.log(`${c.name}: ${Math.round(r.rps)} req/s over ${seconds} s`);
  }
} finally {
  const exits = tiers.flatMap((c) => Object.values(c.procs)).map((p) => new Promise((r) => p.once('exit', r)));
  await bench.stop();
  await Promise.all(exits); // a profile is written when its process exits
}

// V8 names each file after its process id.
const roleOf = new Map(tiers.flatMap((c) => Object.entries(c.procs).map(([role, p]) => [String(p.pid), `${c.id} ${role}`])));
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  console.log(`\n${roleOf.get(file.split('.')[3] ?? '') ?? '?'}: ${join(dir, file)}\n  self %  function ((idle) includes the other case's load)`);
  for (const [name, share] of topSelf(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, 15)) console.log(`  ${share.toFixed(1).padStart(6)}  ${name}`);
}

function topSelf(p: CpuProfile, n: number): [string, number][] {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const dt = p.timeDeltas[i] ?? 0;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, t]) => [name, (100 * t) / total]);
}
