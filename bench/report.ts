// The bench's results: median rows, ratios to the reference cases, the
// issue's targets checked in the same run, a table on stdout and JSON. A case
// with any failed request is FAILED: its numbers feed no ratio and no target.
import type { Case, CaseId } from './cases.js';
import { addErrors, type ClosedLoopSample, type FixedRateSample } from './measure.js';
import type { WrkResult } from './wrk.js';

export interface BenchRow {
  readonly id: CaseId;
  readonly case: string;
  /** Any request failed (a socket error of any kind, or an answer not 2xx/3xx), or none completed. */
  readonly failed: boolean;
  /** Why, as printed in the table ("12 errors: wrk read 10, vegeta EOF 2"); empty when the case did not fail. */
  readonly failure: string;
  /** The chain checks the case passed before it was measured (bench/chain-checks.ts); empty for a plain proxy. */
  readonly verified: readonly string[];
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  /** Every failed request of the case: warm-ups, closed loop and fixed rate, every round. */
  readonly errors: number;
  readonly errorKinds: Readonly<Record<string, number>>;
  /** Open-loop latency at the run's fixed rate, the same for every case; p99 of each round too, as it moves far more than the median shows. */
  readonly fixedRate: FixedRateSample & { readonly p99msByRound: readonly number[] };
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly rssMb: Readonly<Record<string, number>>;
  /** NaN (null in the JSON) where the reference case failed or did not run. */
  readonly ratios: { readonly rpsVsB1: number; readonly rpsVsB2: number; readonly rpsVsFloor: number; readonly rpsVsExpressGateway: number; readonly cpuVsFloor: Readonly<Record<string, number>>; readonly cpuVsFloorAtFixedRate: Readonly<Record<string, number>> };
}

export interface Target {
  readonly name: string;
  /** NaN (null in the JSON) when a case it reads failed. */
  readonly measured: number;
  readonly limit: number;
  /** true: measured must be at most limit; false: at least. */
  readonly atMost: boolean;
  readonly met: boolean;
  /** Set when a case it reads failed: the target is neither met nor measured. */
  readonly unmeasured?: string;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** warmups: the errors of each case's warm-up load, which count like any other. */
export function medianRows(cases: readonly Case[], closed: ReadonlyMap<CaseId, ClosedLoopSample[]>, open: ReadonlyMap<CaseId, FixedRateSample[]>, warmups: ReadonlyMap<CaseId, readonly WrkResult[]> = new Map()): BenchRow[] {
  const partial = cases.map((c) => {
    const s = closed.get(c.id)!;
    const o = open.get(c.id)!;
    const roles = Object.keys(c.procs);
    const rps = Math.round(median(s.map((x) => x.rps)));
    const { errors, errorKinds } = addErrors(...(warmups.get(c.id) ?? []), ...s, ...o);
    const kinds = Object.entries(errorKinds).map(([kind, n]) => `${kind} ${n}`).join(', ');
    const failure = errors > 0 ? `${errors} errors: ${kinds}` : rps === 0 ? 'no request completed' : '';
    return {
      id: c.id, case: c.name, failed: failure !== '', failure, verified: c.verified ?? [],
      rps,
      p50ms: median(s.map((x) => x.p50ms)), p99ms: median(s.map((x) => x.p99ms)), p999ms: median(s.map((x) => x.p999ms)),
      errors, errorKinds,
      fixedRate: { rate: o[0]?.rate ?? 0, p50ms: median(o.map((x) => x.p50ms)), p99ms: median(o.map((x) => x.p99ms)), p999ms: median(o.map((x) => x.p999ms)), p99msByRound: o.map((x) => round2(x.p99ms)), ...addErrors(...o), cpuUsPerRequest: Object.fromEntries(roles.map((r) => [r, median(o.map((x) => x.cpuUsPerRequest[r]!))])) },
      cpuUsPerRequest: Object.fromEntries(roles.map((r) => [r, median(s.map((x) => x.cpuUsPerRequest[r]!))])),
      rssMb: Object.fromEntries(roles.map((r) => [r, Math.max(...s.map((x) => x.rssMb[r]!))])),
    };
  });
  // A reference that failed or did not run gives no ratio: NaN, never a number from a broken case.
  const ref = (id: CaseId) => partial.find((r) => r.id === id && !r.failed);
  const floorCpu = ref('floor')?.cpuUsPerRequest.node || NaN;
  const floorCpuAtRate = ref('floor')?.fixedRate.cpuUsPerRequest.node || NaN;
  const rpsVs = (rps: number, id: CaseId) => round2(rps / (ref(id)?.rps ?? NaN));
  return partial.map((r) => ({
    ...r,
    ratios: {
      rpsVsB1: rpsVs(r.rps, 'B1'), rpsVsB2: rpsVs(r.rps, 'B2'), rpsVsFloor: rpsVs(r.rps, 'floor'), rpsVsExpressGateway: rpsVs(r.rps, 'express-gateway'),
      cpuVsFloor: Object.fromEntries(Object.entries(r.cpuUsPerRequest).map(([role, us]) => [role, round2(us / floorCpu)])),
      cpuVsFloorAtFixedRate: Object.fromEntries(Object.entries(r.fixedRate.cpuUsPerRequest).map(([role, us]) => [role, round2(us / floorCpuAtRate)])),
    },
  }));
}

/** The Gatehouse cases the targets read; the two-hop floor stands in for both in targetsOfTwoHopFloor(). */
interface TierRows { readonly bare: BenchRow; readonly secured: BenchRow }

/** Issue 7's targets, each a ratio to another case of the same run; one that reads a failed case is not measured. */
export function targets(rows: readonly BenchRow[], tiers?: TierRows): Target[] {
  const of = (id: CaseId) => rows.find((r) => r.id === id)!;
  const { bare, secured } = tiers ?? { bare: of('bare'), secured: of('secured') };
  const floor = of('floor');
  const eg = of('express-gateway');
  const target = (name: string, reads: readonly BenchRow[], measured: () => number, limit: number, atMost = true): Target => {
    const failed = [...new Set(reads.filter((r) => r.failed).map((r) => r.id))];
    if (failed.length > 0) return { name, measured: NaN, limit, atMost, met: false, unmeasured: `${failed.join(' and ')} failed` };
    const m = measured();
    return { name, measured: round2(m), limit, atMost, met: atMost ? m <= limit : m >= limit };
  };
  return [
    target('bare edge CPU/req, x Node floor, each flat out', [bare, floor], () => bare.ratios.cpuVsFloor.edge!, 1.2),
    target('bare router CPU/req, x Node floor, each flat out', [bare, floor], () => bare.ratios.cpuVsFloor.router!, 1.2),
    target('secured edge CPU/req, x Node floor, each flat out', [secured, floor], () => secured.ratios.cpuVsFloor.edge!, 1.7),
    target('secured router CPU/req, x Node floor, each flat out', [secured, floor], () => secured.ratios.cpuVsFloor.router!, 1.4),
    target('bare edge CPU/req, x Node floor, at the fixed rate', [bare, floor], () => bare.ratios.cpuVsFloorAtFixedRate.edge!, 1.2),
    target('bare router CPU/req, x Node floor, at the fixed rate', [bare, floor], () => bare.ratios.cpuVsFloorAtFixedRate.router!, 1.2),
    target('secured edge CPU/req, x Node floor, at the fixed rate', [secured, floor], () => secured.ratios.cpuVsFloorAtFixedRate.edge!, 1.7),
    target('secured router CPU/req, x Node floor, at the fixed rate', [secured, floor], () => secured.ratios.cpuVsFloorAtFixedRate.router!, 1.4),
    target('secured req/s, x Express Gateway', [secured, eg], () => secured.ratios.rpsVsExpressGateway, 2, false),
    target('secured p99 at the fixed rate, x Node floor', [secured, floor], () => secured.fixedRate.p99ms / Math.max(floor.fixedRate.p99ms, 0.001), 3),
    ...Object.entries({ bare, secured }).flatMap(([id, r]) => Object.entries(r.rssMb).map(([role, mb]) => target(`${id} ${role} peak RSS, MB`, [r], () => mb, 150))),
  ];
}

/**
 * Not a target: the same targets read off the two-hop Node floor (TLS in, a plain hop, no policy, no
 * log), its first hop standing in for the edge and its second for the router. A target this chain of
 * bare forwarders misses is beneath what any two-tier Node design can reach on the machine.
 */
export function targetsOfTwoHopFloor(rows: readonly BenchRow[]): Target[] {
  const floor2 = rows.find((r) => r.id === 'floor2');
  if (floor2 === undefined) return [];
  const asTiers = asEdgeAndRouter(floor2);
  return targets(rows, { bare: asTiers, secured: asTiers });
}

function asEdgeAndRouter(r: BenchRow): BenchRow {
  const tiers = <T>(byHop: Readonly<Record<string, T>>) => ({ edge: byHop.first!, router: byHop.second! });
  return {
    ...r,
    cpuUsPerRequest: tiers(r.cpuUsPerRequest), rssMb: tiers(r.rssMb),
    fixedRate: { ...r.fixedRate, cpuUsPerRequest: tiers(r.fixedRate.cpuUsPerRequest) },
    ratios: { ...r.ratios, cpuVsFloor: tiers(r.ratios.cpuVsFloor), cpuVsFloorAtFixedRate: tiers(r.ratios.cpuVsFloorAtFixedRate) },
  };
}

/**
 * Not a target: each Gatehouse tier against the matching hop of the two-hop Node floor (TLS first,
 * flat out and at the fixed rate), to tell what the two-tier design costs from what our code costs.
 */
export function againstTwoHopFloor(rows: readonly BenchRow[]): { readonly name: string; readonly flatOut: number; readonly atFixedRate: number }[] {
  const floor2 = rows.find((r) => r.id === 'floor2');
  if (floor2 === undefined) return [];
  const hop = { edge: 'first', router: 'second' } as const;
  return rows.filter((r) => r.id === 'bare' || r.id === 'secured').flatMap((r) => (['edge', 'router'] as const).map((tier) => ({
    name: `${r.id} ${tier} CPU/req, x ${hop[tier]} hop of the two-hop floor`,
    flatOut: r.failed || floor2.failed ? NaN : round2(r.cpuUsPerRequest[tier]! / (floor2.cpuUsPerRequest[hop[tier]] || 1)),
    atFixedRate: r.failed || floor2.failed ? NaN : round2(r.fixedRate.cpuUsPerRequest[tier]! / (floor2.fixedRate.cpuUsPerRequest[hop[tier]] || 1)),
  })));
}

export function printTable(rows: readonly BenchRow[], goals: readonly Target[], out: (line: string) => void = console.log): void {
  const status = (g: Target) => g.unmeasured !== undefined ? `NOT MEASURED ${g.name}: ${g.unmeasured}` : `${g.met ? 'met   ' : 'MISSED'} ${g.name}: ${g.measured} (target ${g.atMost ? '<=' : '>='} ${g.limit})`;
  const rate = rows[0]?.fixedRate.rate ?? 0;
  const n = (x: number, w: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a').padStart(w);
  out(`${'case'.padEnd(50)}${'req/s'.padStart(8)}${'xB1'.padStart(6)}${'xB2'.padStart(6)}${'xFloor'.padStart(7)}${'xEG'.padStart(6)}${'p50'.padStart(7)}${'p99'.padStart(7)}${'p99.9'.padStart(7)} |${`@${rate}/s p50`.padStart(13)}${'p99'.padStart(7)}${'p99.9'.padStart(7)} | CPU-us/req flat out (x Node floor), at the fixed rate (x floor), peak RSS`);
  for (const r of rows) {
    // A failed case's numbers would read as a fast proxy: none are printed.
    if (r.failed) { out(`${r.case.padEnd(50)}  FAILED: ${r.failure}`); continue; }
    const cpu = Object.entries(r.cpuUsPerRequest).map(([role, us]) => `${role} ${us} (${n(r.ratios.cpuVsFloor[role]!, 0).trim()}x), @rate ${r.fixedRate.cpuUsPerRequest[role]} (${n(r.ratios.cpuVsFloorAtFixedRate[role]!, 0).trim()}x), ${r.rssMb[role]}MB`).join('; ');
    out(`${r.case.padEnd(50)}${String(r.rps).padStart(8)}${n(r.ratios.rpsVsB1, 6)}${n(r.ratios.rpsVsB2, 6)}${n(r.ratios.rpsVsFloor, 7)}${n(r.ratios.rpsVsExpressGateway, 6)}${n(r.p50ms, 7)}${n(r.p99ms, 7)}${n(r.p999ms, 7)} |${n(r.fixedRate.p50ms, 13)}${n(r.fixedRate.p99ms, 7)}${n(r.fixedRate.p999ms, 7)} | ${cpu || '-'}`);
  }
  out('latency in ms; closed loop: wrk, 50 keep-alive connections; fixed rate: vegeta, open loop, the same rate for every case; n/a: the reference case failed');
  for (const r of rows.filter((x) => x.verified.length > 0)) out(`checked before timing, ${r.id}: ${r.verified.join('; ')}`);
  const failed = rows.filter((r) => r.failed);
  if (failed.length > 0) out(`FAILED (errors count every socket error and every answer not 2xx/3xx; a failed case feeds no ratio and no target): ${failed.map((r) => r.id).join(', ')}`);
  out(`p99 at the fixed rate, round by round (ms): ${rows.map((r) => `${r.id} ${r.fixedRate.p99msByRound.join('/')}`).join(', ')}`);
  for (const g of goals) out(status(g));
  const v = (x: number) => (Number.isFinite(x) ? String(x) : 'n/a (a case failed)');
  for (const r of againstTwoHopFloor(rows)) out(`(reference) ${r.name}: ${v(r.flatOut)} flat out, ${v(r.atFixedRate)} at the fixed rate`);
  const floorGoals = targetsOfTwoHopFloor(rows);
  out(`(reference) the same targets read off the two-hop Node floor (no policy, no log; first hop as edge, second as router): ${floorGoals.filter((g) => g.met).length} of ${floorGoals.length} met`);
  for (const g of floorGoals) out(`(reference) floor2 ${status(g)}`);
}
