// One measurement of one case: a warm-up, then closed-loop load from wrk with
// the CPU each proxy process spent over the window; or open-loop load at a
// fixed rate for latency at equal load. Errors of the warm-up count too.
import type { Case } from './cases.js';
import { wrk, type WrkResult } from './wrk.js';
import { openLoop, RAMP_SECONDS, type OpenLoopResult } from './vegeta.js';
import { treeCpuMicros, treePeakRssMb } from './proc.js';

export interface ClosedLoopSample extends WrkResult {
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly rssMb: Readonly<Record<string, number>>;
}

const byRole = <T>(c: Case, f: (pid: number) => T) => Object.fromEntries(Object.entries(c.procs).map(([role, p]) => [role, f(p.pid!)]));

/** Error counts of several runs added up, kind by kind. */
export function addErrors(...runs: readonly Pick<WrkResult, 'errors' | 'errorKinds'>[]): Pick<WrkResult, 'errors' | 'errorKinds'> {
  const errorKinds: Record<string, number> = {};
  for (const r of runs) for (const [kind, n] of Object.entries(r.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  return { errors: runs.reduce((sum, r) => sum + r.errors, 0), errorKinds };
}

export async function closedLoop(c: Case, seconds: number, signal?: AbortSignal): Promise<ClosedLoopSample> {
  const warm = await wrk(c.url, 1, c.headers, undefined, signal);
  const before = byRole(c, treeCpuMicros);
  const r = await wrk(c.url, seconds, c.headers, undefined, signal);
  const after = byRole(c, treeCpuMicros);
  const cpuUsPerRequest = Object.fromEntries(Object.keys(before).map((role) => [role, Math.round((after[role]! - before[role]!) / Math.max(1, r.requests))]));
  return { ...r, ...addErrors(warm, r), cpuUsPerRequest, rssMb: byRole(c, treePeakRssMb) };
}

export interface FixedRateSample extends OpenLoopResult {
  /** CPU per request at the fixed rate: every case at the same load, unlike the closed loop, where each runs flat out. */
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
}

/** Open-loop latency and CPU; vegeta's own first second (connections opening) is its warm-up, counted in the CPU. */
export async function fixedRate(c: Case, vegeta: string, rate: number, seconds: number, signal?: AbortSignal): Promise<FixedRateSample> {
  const before = byRole(c, treeCpuMicros);
  const r = await openLoop(vegeta, c.url, rate, seconds, c.headers, signal);
  const after = byRole(c, treeCpuMicros);
  const sent = rate * (seconds + RAMP_SECONDS);
  return { ...r, cpuUsPerRequest: Object.fromEntries(Object.keys(before).map((role) => [role, Math.round((after[role]! - before[role]!) / sent)])) };
}
