// The bench's results: median rows, ratios to the reference cases, the
// issue's targets checked in the same run, a table on stdout and JSON.
import type { Case, CaseId } from './cases.js';
import type { ClosedLoopSample, FixedRateSample } from './measure.js';

export interface BenchRow {
  readonly id: CaseId;
  readonly case: string;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
  /** Open-loop latency at the run's fixed rate, the same for every case; p99 of each round too, as it moves far more than the median shows. */
  readonly fixedRate: FixedRateSample & { readonly p99msByRound: readonly number[] };
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  readonly rssMb: Readonly<Record<string, number>>;
  readonly ratios: { readonly rpsVsB1: number; readonly rpsVsB2: number; readonly rpsVsFloor: number; readonly rpsVsExpressGateway: number; readonly cpuVsFloor: Readonly<Record<string, number>>; readonly cpuVsFloorAtFixedRate: Readonly<Record<string, number>> };
}

export interface Target {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  /** true: measured must be at most limit; false: at least. */
  readonly atMost: boolean;
  readonly met: boolean;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round2 = (x: number) => Math.round(x * 100) / 100;

export function medianRows(cases: readonly Case[], closed: ReadonlyMap<CaseId, ClosedLoopSample[]>, open: ReadonlyMap<CaseId, FixedRateSample[]>): BenchRow[] {
  const partial = cases.map((c) => {
    const s = closed.get(c.id)!;
    const o = open.get(c.id)!;
    const roles = Object.keys(c.procs);
    return {
      id: c.id, case: c.name,
      rps: Math.round(median(s.map((x) => x.rps))),
      p50ms: median(s.map((x) => x.p50ms)), p99ms: median(s.map((x) => x.p99ms)), p999ms: median(s.map((x) => x.p999ms)),
      errors: s.reduce((n, x) => n + x.errors, 0) + o.reduce((n, x) => n + x.errors, 0),
      fixedRate: { rate: o[0]?.rate ?? 0, p50ms: median(o.map((x) => x.p50ms)), p99ms: median(o.map((x) => x.p99ms)), p999ms: median(o.map((x) => x.p999ms)), p99msByRound: o.map((x) => round2(x.p99ms)), errors: o.reduce((n, x) => n + x.errors, 0), cpuUsPerRequest: Object.fromEntries(roles.map((r) => [r, median(o.map((x) => x.cpuUsPerRequest[r]!))])) },
      cpuUsPerRequest: Object.fromEntries(roles.map((r) => [r, median(s.map((x) => x.cpuUsPerRequest[r]!))])),
      rssMb: Object.fromEntries(roles.map((r) => [r, Math.max(...s.map((x) => x.rssMb[r]!))])),
    };
  });
  const of = (id: CaseId) => partial.find((r) => r.id === id)!;
  const floorCpu = of('floor').cpuUsPerRequest.node || 1;
  const floorCpuAtRate = of('floor').fixedRate.cpuUsPerRequest.node || 1;
  return partial.map((r) => ({
    ...r,
    ratios: {
      rpsVsB1: round2(r.rps / of('B1').rps), rpsVsB2: round2(r.rps / of('B2').rps),
      rpsVsFloor: round2(r.rps / of('floor').rps), rpsVsExpressGateway: round2(r.rps / of('express-gateway').rps),
      cpuVsFloor: Object.fromEntries(Object.entries(r.cpuUsPerRequest).map(([role, us]) => [role, round2(us / floorCpu)])),
      cpuVsFloorAtFixedRate: Object.fromEntries(Object.entries(r.fixedRate.cpuUsPerRequest).map(([role, us]) => [role, round2(us / floorCpuAtRate)])),
    },
  }));
}

/** The Gatehouse cases the targets read; the two-hop floor stands in for both in targetsOfTwoHopFloor(). */
interface TierRows { readonly bare: BenchRow; readonly secured: BenchRow }

/** Issue 7's targets, each a ratio to another case of the same run. */
export function targets(rows: readonly BenchRow[], tiers?: TierRows): Target[] {
  const of = (id: CaseId) => rows.find((r) => r.id === id)!;
  const { bare, secured } = tiers ?? { bare: of('bare'), secured: of('secured') };
  const floor = of('floor');
  const atMost = (name: string, measured: number, limit: number): Target => ({ name, measured: round2(measured), limit, atMost: true, met: measured <= limit });
  return [
    atMost('bare edge CPU/req, x Node floor, each flat out', bare.ratios.cpuVsFloor.edge!, 1.2),
    atMost('bare router CPU/req, x Node floor, each flat out', bare.ratios.cpuVsFloor.router!, 1.2),
    atMost('secured edge CPU/req, x Node floor, each flat out', secured.ratios.cpuVsFloor.edge!, 1.7),
    atMost('secured router CPU/req, x Node floor, each flat out', secured.ratios.cpuVsFloor.router!, 1.4),
    atMost('bare edge CPU/req, x Node floor, at the fixed rate', bare.ratios.cpuVsFloorAtFixedRate.edge!, 1.2),
    atMost('bare router CPU/req, x Node floor, at the fixed rate', bare.ratios.cpuVsFloorAtFixedRate.router!, 1.2),
    atMost('secured edge CPU/req, x Node floor, at the fixed rate', secured.ratios.cpuVsFloorAtFixedRate.edge!, 1.7),
    atMost('secured router CPU/req, x Node floor, at the fixed rate', secured.ratios.cpuVsFloorAtFixedRate.router!, 1.4),
    { name: 'secured req/s, x Express Gateway', measured: secured.ratios.rpsVsExpressGateway, limit: 2, atMost: false, met: secured.ratios.rpsVsExpressGateway >= 2 },
    atMost('secured p99 at the fixed rate, x Node floor', secured.fixedRate.p99ms / Math.max(floor.fixedRate.p99ms, 0.001), 3),
    ...Object.entries({ bare, secured }).flatMap(([id, r]) => Object.entries(r.rssMb).map(([role, mb]) => atMost(`${id} ${role} peak RSS, MB`, mb, 150))),
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
    flatOut: round2(r.cpuUsPerRequest[tier]! / (floor2.cpuUsPerRequest[hop[tier]] || 1)),
    atFixedRate: round2(r.fixedRate.cpuUsPerRequest[tier]! / (floor2.fixedRate.cpuUsPerRequest[hop[tier]] || 1)),
  })));
}

export function printTable(rows: readonly BenchRow[], goals: readonly Target[], out: (line: string) => void = console.log): void {
  const status = (g: Target) => `${g.met ? 'met   ' : 'MISSED'} ${g.name}: ${g.measured} (target ${g.atMost ? '<=' : '>='} ${g.limit})`;
  const rate = rows[0]?.fixedRate.rate ?? 0;
  const n = (x: number, w: number, d = 2) => x.toFixed(d).padStart(w);
  out(`${'case'.padEnd(50)}${'req/s'.padStart(8)}${'xB1'.padStart(6)}${'xB2'.padStart(6)}${'xFloor'.padStart(7)}${'xEG'.padStart(6)}${'p50'.padStart(7)}${'p99'.padStart(7)}${'p99.9'.padStart(7)} |${`@${rate}/s p50`.padStart(13)}${'p99'.padStart(7)}${'p99.9'.padStart(7)} | CPU-us/req flat out (x Node floor), at the fixed rate (x floor), peak RSS`);
  for (const r of rows) {
    const cpu = Object.entries(r.cpuUsPerRequest).map(([role, us]) => `${role} ${us} (${r.ratios.cpuVsFloor[role]!.toFixed(2)}x), @rate ${r.fixedRate.cpuUsPerRequest[role]} (${r.ratios.cpuVsFloorAtFixedRate[role]!.toFixed(2)}x), ${r.rssMb[role]}MB`).join('; ');
    out(`${r.case.padEnd(50)}${String(r.rps).padStart(8)}${n(r.ratios.rpsVsB1, 6)}${n(r.ratios.rpsVsB2, 6)}${n(r.ratios.rpsVsFloor, 7)}${n(r.ratios.rpsVsExpressGateway, 6)}${n(r.p50ms, 7)}${n(r.p99ms, 7)}${n(r.p999ms, 7)} |${n(r.fixedRate.p50ms, 13)}${n(r.fixedRate.p99ms, 7)}${n(r.fixedRate.p999ms, 7)} | ${cpu || '-'}${r.errors ? `  ERRORS ${r.errors}` : ''}`);
  }
  out('latency in ms; closed loop: wrk, 50 keep-alive connections; fixed rate: vegeta, open loop, the same rate for every case');
  out(`p99 at the fixed rate, round by round (ms): ${rows.map((r) => `${r.id} ${r.fixedRate.p99msByRound.join('/')}`).join(', ')}`);
  for (const g of goals) out(status(g));
  for (const r of againstTwoHopFloor(rows)) out(`(reference) ${r.name}: ${r.flatOut} flat out, ${r.atFixedRate} at the fixed rate`);
  const floorGoals = targetsOfTwoHopFloor(rows);
  out(`(reference) the same targets read off the two-hop Node floor (no policy, no log; first hop as edge, second as router): ${floorGoals.filter((g) => g.met).length} of ${floorGoals.length} met`);
  for (const g of floorGoals) out(`(reference) floor2 ${status(g)}`);
}
