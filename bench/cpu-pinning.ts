// Which core each process of the bench runs on: the load side (wrk, vegeta,
// h2load, the backend, redis-server, Consul) on one, the processes under
// test (proxies, tiers, Node floors) on another, so the two never take turns
// on a core and a case's CPU per request is its own. Never pins the bench itself.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';

export type CpuSide = 'load' | 'tested';

interface Pinning { readonly load: number; readonly tested: number }

/** BENCH_CPUS="LOAD,TESTED" (default "0,1"); BENCH_PIN=off, a single core or no taskset: nothing is pinned. */
function resolvePinning(): Pinning | { readonly off: string } {
  if (process.env.BENCH_PIN === 'off') return { off: 'BENCH_PIN=off' };
  if (availableParallelism() < 2) return { off: 'a single core' };
  try {
    execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' });
  } catch {
    return { off: 'no taskset (util-linux)' };
  }
  const [load = 0, tested = 1] = (process.env.BENCH_CPUS ?? '0,1').split(',').map(Number);
  if (!Number.isInteger(load) || !Number.isInteger(tested) || load === tested) throw new Error(`BENCH_CPUS must name two different cores, as "0,1"; got "${process.env.BENCH_CPUS}"`);
  return { load, tested };
}

let pinning: ReturnType<typeof resolvePinning> | undefined;
const current = () => (pinning ??= resolvePinning());

/** The command line that runs cmd on the side's core (taskset execs it: the pid is the command's own). */
export function onCore(side: CpuSide, cmd: string, args: readonly string[]): [string, string[]] {
  const p = current();
  return 'off' in p ? [cmd, [...args]] : ['taskset', ['-c', String(p[side]), cmd, ...args]];
}

/** Moves a running process, every thread of it, to the side's core; threads and children it starts later follow. */
export function pinProcess(pid: number | undefined, side: CpuSide): void {
  const p = current();
  if ('off' in p || pid === undefined) return;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(p[side]), String(pid)], { stdio: 'ignore' });
  } catch (err) {
    if (existsSync(`/proc/${pid}`)) throw err; // gone meanwhile (a thread or worker that ended): nothing to pin
  }
}

/** For the report: where each side ran. */
export function pinningNote(): string {
  const p = current();
  return 'off' in p ? `not pinned (${p.off})` : `load generators, backend, redis-server and Consul on CPU ${p.load}; the processes under test on CPU ${p.tested}`;
}
