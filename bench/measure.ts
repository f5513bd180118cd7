// One measurement of one case: a warm-up, then closed-loop load from wrk with
// the CPU each proxy process spent over the window; or open-loop load at a
// fixed rate for latency at equal load.
import type { Case } from './cases.js';
import { wrk, type WrkResult } from './wrk.js';
import { openLoop, RAMP_SECONDS, type OpenLoopResult } from './vegeta.js';
import { treeCpuMicros, treePeakRssMb } from './proc.js';

export interface ClosedLoopSample extends WrkResult {
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly rssMb: Readonly<Record<string, number>>;
}

const byRole = <T>(c: Case, f: (pid: number) => T) => Object.fromEntries(Object.entries(c.procs).map(([role, p]) => [role, f(p.pid!)]));

export async function closedLoop(c: Case, seconds: number): Promise<ClosedLoopSample> {
  await wrk(c.url, 1, c.headers);
  const before = byRole(c, treeCpuMicros);
  const r = await wrk(c.url, seconds, c.headers);
  const after = byRole(c, treeCpuMicros);
  const cpuUsPerRequest = Object.fromEntries(Object.keys(before).map((role) => [role, Math.round((after[role]! - before[role]!) / Math.max(1, r.requests))]));
  return { ...r, cpuUsPerRequest, rssMb: byRole(c, treePeakRssMb) };
}

export interface FixedRateSample extends OpenLoopResult {
  /** CPU per request at the fixed rate: every case at the same load, unlike the closed loop, where each runs flat out. */
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
}

/** Open-loop latency and CPU; vegeta's own first second (connections opening) is its warm-up, counted in the CPU. */
export async function fixedRate(c: Case, vegeta: string, rate: number, seconds: number): Promise<FixedRateSample> {
  const before = byRole(c, treeCpuMicros);
  const r = await openLoop(vegeta, c.url, rate, seconds, c.headers);
  const after = byRole(c, treeCpuMicros);
  const sent = rate * (seconds + RAMP_SECONDS);
  return { ...r, cpuUsPerRequest: Object.fromEntries(Object.keys(before).map((role) => [role, Math.round((after[role]! - before[role]!) / sent)])) };
}
