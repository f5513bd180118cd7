// One measurement of one case: closed-loop load flat out (wrk over HTTP/1.1,
// h2load over HTTP/2) with the CPU, peak RSS and heap allocation of every
// process under test over the window; or open-loop load at a fixed rate for
// latency at equal load. Errors of the warm-up count too.
import type { Case } from './cases.js';
import { wrk, type WrkResult } from './wrk.js';
import { h2load } from './h2load.js';
import { openLoop, RAMP_SECONDS, type OpenLoopResult } from './vegeta.js';
import { treeCpuMicros, treePeakRssMb } from './proc.js';
import { allocatedBytes } from './allocations.js';
import { roundTripsPerRequest, scrapeRoundTrips } from './redis-roundtrips.js';

export interface ClosedLoopSample extends WrkResult {
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly rssMb: Readonly<Record<string, number>>;
  /** KB allocated on the JS heap per request, for the processes started with the heap probe (Node ones). */
  readonly heapKbPerRequest: Readonly<Record<string, number>>;
  /** Redis round trips the edge made per request it answered, for a case whose edge's /metrics is read. */
  readonly redisRoundTripsPerRequest?: number;
}

const byRole = <T>(c: Case, f: (pid: number) => T) => Object.fromEntries(Object.entries(c.procs).map(([role, p]) => [role, f(p.pid!)]));
const heapOf = async (c: Case) => Object.fromEntries(await Promise.all((c.heapProbed ?? []).map(async (role) => [role, await allocatedBytes(c.procs[role]!.pid!)] as const)));

/** Error counts of several runs added up, kind by kind. */
export function addErrors(...runs: readonly Pick<WrkResult, 'errors' | 'errorKinds'>[]): Pick<WrkResult, 'errors' | 'errorKinds'> {
  const errorKinds: Record<string, number> = {};
  for (const r of runs) for (const [kind, n] of Object.entries(r.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  return { errors: runs.reduce((sum, r) => sum + r.errors, 0), errorKinds };
}

/** Flat-out load in the case's protocol: wrk's 50 HTTP/1.1 connections, or h2load's streams over a few HTTP/2 ones. */
export const load = (c: Case, seconds: number, signal?: AbortSignal): Promise<WrkResult> =>
  c.protocol === 'h2' ? h2load(c.url, seconds, c.headers, signal) : wrk(c.url, seconds, c.headers, undefined, signal);

export async function closedLoop(c: Case, seconds: number, signal?: AbortSignal): Promise<ClosedLoopSample> {
  const warm = await load(c, 1, signal);
  const [heapBefore, metricsBefore] = [await heapOf(c), c.metricsUrl === undefined ? undefined : await scrapeRoundTrips(c.metricsUrl)];
  const before = byRole(c, treeCpuMicros);
  const r = await load(c, seconds, signal);
  const after = byRole(c, treeCpuMicros);
  const [heapAfter, metricsAfter] = [await heapOf(c), c.metricsUrl === undefined ? undefined : await scrapeRoundTrips(c.metricsUrl)];
  const perRequest = (from: Record<string, number>, to: Record<string, number>, unit: number) => Object.fromEntries(Object.keys(from).map((role) => [role, Math.round((to[role]! - from[role]!) / unit / Math.max(1, r.requests) * 10) / 10]));
  return {
    ...r, ...addErrors(warm, r),
    cpuUsPerRequest: Object.fromEntries(Object.entries(perRequest(before, after, 1)).map(([role, us]) => [role, Math.round(us)])),
    rssMb: byRole(c, treePeakRssMb),
    heapKbPerRequest: perRequest(heapBefore, heapAfter, 1024),
    ...(metricsBefore && metricsAfter && { redisRoundTripsPerRequest: Math.round(roundTripsPerRequest(metricsBefore, metricsAfter) * 1000) / 1000 }),
  };
}

export interface FixedRateSample extends OpenLoopResult {
  /** CPU per request at the fixed rate: every case at the same load, unlike the closed loop, where each runs flat out. */
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
}

/** Open-loop latency and CPU; vegeta's own first second (connections opening) is its warm-up, counted in the CPU. */
export async function fixedRate(c: Case, vegeta: string, rate: number, seconds: number, signal?: AbortSignal): Promise<FixedRateSample> {
  const before = byRole(c, treeCpuMicros);
  const r = await openLoop(vegeta, c.url, rate, seconds, c.headers, signal, c.protocol === 'h2');
  const after = byRole(c, treeCpuMicros);
  const sent = rate * (seconds + RAMP_SECONDS);
  return { ...r, cpuUsPerRequest: Object.fromEntries(Object.keys(before).map((role) => [role, Math.round((after[role]! - before[role]!) / sent)])) };
}
