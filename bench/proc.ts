// CPU time and peak memory of a process from /proc, for per-request cost.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

/** utime + stime of a process, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** Peak resident set size (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
}

/** A process and its descendants (nginx workers), for CPU accounting. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (children) for (const c of children.split(' ')) out.push(...processTree(Number(c)));
  }
  return out;
}

export const treeCpuMicros = (pid: number) => processTree(pid).reduce((sum, p) => sum + cpuMicros(p), 0);
export const treePeakRssMb = (pid: number) => Math.round(processTree(pid).reduce((sum, p) => sum + peakRssMb(p), 0) * 10) / 10;

/** Restarts a process tree's peak RSS from its current RSS (Linux clear_refs 5): peaks are then those under load, not the JIT's warm-up. */
export function resetPeakRss(pid: number): void {
  for (const p of processTree(pid)) writeFileSync(`/proc/${p}/clear_refs`, '5');
}
