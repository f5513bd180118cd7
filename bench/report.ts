// The bench's results: median rows with each figure's spread over the
// rounds, ratios to the reference cases, the issue's targets checked in the
// same run, and a table on stdout. A case with any failed request is FAILED:
// its numbers feed no ratio and no target.
import type { Case, CaseId } from './cases.js';
import { addErrors, type ClosedLoopSample, type FixedRateSample } from './measure.js';
import type { WrkResult } from './wrk.js';

/** The smallest and the largest value over the rounds, beside the median. */
export type Spread = readonly [min: number, max: number];

export interface BenchRow {
  readonly id: CaseId;
  readonly case: string;
  /** How clients reach the case: wrk and vegeta over HTTP/1.1, or h2load and vegeta over HTTP/2. */
  readonly protocol: 'http/1.1' | 'h2';
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
  /** KB allocated on the JS heap per request, flat out, for the Node processes (allocations.ts). */
  readonly heapKbPerRequest: Readonly<Record<string, number>>;
  /** Redis round trips the edge made per request, flat out; only for the case whose edge's /metrics is read (secured). */
  readonly redisRoundTripsPerRequest?: number;
  /** Min and max over the rounds of the medians above. */
  readonly spread: {
    readonly rps: Spread; readonly p99ms: Spread; readonly fixedRateP99ms: Spread;
    readonly cpuUsPerRequest: Readonly<Record<string, Spread>>; readonly fixedRateCpuUsPerRequest: Readonly<Record<string, Spread>>;
    readonly heapKbPerRequest: Readonly<Record<string, Spread>>;
  };
  /** NaN (null in the JSON) where the reference case failed or did not run. */
  readonly ratios: {
    readonly rpsVsB1: number; readonly rpsVsB2: number; readonly rpsVsFloor: number; readonly rpsVsExpressGateway: number;
    /** Against the one-hop plain Node floor: a reference for every process. */
    readonly cpuVsFloor: Readonly<Record<string, number>>; readonly cpuVsFloorAtFixedRate: Readonly<Record<string, number>>;
    /** A Gatehouse tier against its own hop of the two-hop floor over the same protocol (edge: the TLS hop, router: the plain hop). */
    readonly cpuVsFloorHop: Readonly<Record<string, number>>; readonly cpuVsFloorHopAtFixedRate: Readonly<Record<string, number>>;
  };
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

/** The hop of the two-hop Node floor each tier is held to: the edge terminates TLS as the first does, the router forwards plain as the second. */
export const FLOOR_HOP = { edge: 'first', router: 'second' } as const;
/** The two-hop floor over the same client protocol as a case. */
const floorChainOf = (id: CaseId): CaseId => (id.startsWith('h2-') ? 'h2-floor2' : 'floor2');

/** Of an even count, the mean of the middle two. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const spreadOf = (xs: readonly number[]): Spread => [Math.min(...xs), Math.max(...xs)];
const round2 = (x: number) => Math.round(x * 100) / 100;
const eachRole = <T>(roles: readonly string[], f: (role: string) => T) => Object.fromEntries(roles.map((r) => [r, f(r)]));

/** warmups: the errors of each case's warm-up load, which count like any other. */
export function medianRows(cases: readonly Case[], closed: ReadonlyMap<CaseId, ClosedLoopSample[]>, open: ReadonlyMap<CaseId, FixedRateSample[]>, warmups: ReadonlyMap<CaseId, readonly WrkResult[]> = new Map()): BenchRow[] {
  const partial = cases.map((c) => {
    const s = closed.get(c.id)!;
    const o = open.get(c.id)!;
    const roles = Object.keys(c.procs);
    const heapRoles = c.heapProbed ?? [];
    const rps = Math.round(median(s.map((x) => x.rps)));
    const { errors, errorKinds } = addErrors(...(warmups.get(c.id) ?? []), ...s, ...o);
    const kinds = Object.entries(errorKinds).map(([kind, n]) => `${kind} ${n}`).join(', ');
    const failure = errors > 0 ? `${errors} errors: ${kinds}` : rps === 0 ? 'no request completed' : '';
    const protocol: BenchRow['protocol'] = c.protocol ?? 'http/1.1';
    const trips = s.map((x) => x.redisRoundTripsPerRequest).filter((x): x is number => x !== undefined);
    return {
      id: c.id, case: c.name, protocol, failed: failure !== '', failure, verified: c.verified ?? [],
      rps,
      p50ms: median(s.map((x) => x.p50ms)), p99ms: median(s.map((x) => x.p99ms)), p999ms: median(s.map((x) => x.p999ms)),
      errors, errorKinds,
      fixedRate: { rate: o[0]?.rate ?? 0, p50ms: median(o.map((x) => x.p50ms)), p99ms: median(o.map((x) => x.p99ms)), p999ms: median(o.map((x) => x.p999ms)), p99msByRound: o.map((x) => round2(x.p99ms)), ...addErrors(...o), cpuUsPerRequest: eachRole(roles, (r) => median(o.map((x) => x.cpuUsPerRequest[r]!))) },
      cpuUsPerRequest: eachRole(roles, (r) => median(s.map((x) => x.cpuUsPerRequest[r]!))),
      rssMb: eachRole(roles, (r) => Math.max(...s.map((x) => x.rssMb[r]!))),
      heapKbPerRequest: eachRole(heapRoles, (r) => median(s.map((x) => x.heapKbPerRequest[r]!))),
      ...(trips.length > 0 && { redisRoundTripsPerRequest: median(trips) }),
      spread: {
        rps: spreadOf(s.map((x) => Math.round(x.rps))), p99ms: spreadOf(s.map((x) => round2(x.p99ms))), fixedRateP99ms: spreadOf(o.map((x) => round2(x.p99ms))),
        cpuUsPerRequest: eachRole(roles, (r) => spreadOf(s.map((x) => x.cpuUsPerRequest[r]!))),
        fixedRateCpuUsPerRequest: eachRole(roles, (r) => spreadOf(o.map((x) => x.cpuUsPerRequest[r]!))),
        heapKbPerRequest: eachRole(heapRoles, (r) => spreadOf(s.map((x) => x.heapKbPerRequest[r]!))),
      },
    };
  });
  // A reference that failed or did not run gives no ratio: NaN, never a number from a broken case.
  const ref = (id: CaseId) => partial.find((r) => r.id === id && !r.failed);
  const floorCpu = ref('floor')?.cpuUsPerRequest.node || NaN;
  const floorCpuAtRate = ref('floor')?.fixedRate.cpuUsPerRequest.node || NaN;
  const rpsVs = (rps: number, id: CaseId) => round2(rps / (ref(id)?.rps ?? NaN));
  const vsHop = (r: (typeof partial)[number], cpu: (x: (typeof partial)[number]) => Readonly<Record<string, number>>) => {
    const chain = ref(floorChainOf(r.id));
    const tiers = Object.keys(r.cpuUsPerRequest).filter((role): role is keyof typeof FLOOR_HOP => role in FLOOR_HOP);
    return eachRole(tiers, (t) => round2(cpu(r)[t]! / ((chain && cpu(chain)[FLOOR_HOP[t as keyof typeof FLOOR_HOP]]) || NaN)));
  };
  return partial.map((r) => ({
    ...r,
    ratios: {
      rpsVsB1: rpsVs(r.rps, 'B1'), rpsVsB2: rpsVs(r.rps, 'B2'), rpsVsFloor: rpsVs(r.rps, 'floor'), rpsVsExpressGateway: rpsVs(r.rps, 'express-gateway'),
      cpuVsFloor: eachRole(Object.keys(r.cpuUsPerRequest), (role) => round2(r.cpuUsPerRequest[role]! / floorCpu)),
      cpuVsFloorAtFixedRate: eachRole(Object.keys(r.fixedRate.cpuUsPerRequest), (role) => round2(r.fixedRate.cpuUsPerRequest[role]! / floorCpuAtRate)),
      cpuVsFloorHop: vsHop(r, (x) => x.cpuUsPerRequest), cpuVsFloorHopAtFixedRate: vsHop(r, (x) => x.fixedRate.cpuUsPerRequest),
    },
  }));
}

/** Issue 19's targets, each read off the medians of this run; one that reads a failed case is not measured. */
export function targets(rows: readonly BenchRow[]): Target[] {
  const of = (id: CaseId) => rows.find((r) => r.id === id)!;
  const [bare, secured, floor2, eg] = [of('bare'), of('secured'), of('floor2'), of('express-gateway')];
  const target = (name: string, reads: readonly BenchRow[], measured: () => number, limit: number, atMost = true): Target => {
    const failed = [...new Set(reads.filter((r) => r.failed).map((r) => r.id))];
    if (failed.length > 0) return { name, measured: NaN, limit, atMost, met: false, unmeasured: `${failed.join(' and ')} failed` };
    const m = measured();
    return { name, measured: round2(m), limit, atMost, met: atMost ? m <= limit : m >= limit };
  };
  const tiers = [[bare, 'edge', 1.15], [bare, 'router', 1.2], [secured, 'edge', 1.4], [secured, 'router', 1.3]] as const;
  const hopName = (tier: keyof typeof FLOOR_HOP) => (tier === 'edge' ? 'TLS hop' : 'plain hop');
  return [
    ...tiers.map(([r, tier, limit]) => target(`${r.id} ${tier} CPU/req, x the floor chain's ${hopName(tier)}, flat out`, [r, floor2], () => r.ratios.cpuVsFloorHop[tier]!, limit)),
    ...tiers.map(([r, tier, limit]) => target(`${r.id} ${tier} CPU/req, x the floor chain's ${hopName(tier)}, at the fixed rate`, [r, floor2], () => r.ratios.cpuVsFloorHopAtFixedRate[tier]!, limit)),
    target('bare req/s, x the floor chain', [bare, floor2], () => bare.rps / floor2.rps, 0.85, false),
    target('secured req/s, x bare', [secured, bare], () => secured.rps / bare.rps, 0.85, false),
    target('secured req/s, x Express Gateway', [secured, eg], () => secured.ratios.rpsVsExpressGateway, 2, false),
    target('secured p99 at the fixed rate, x the floor chain', [secured, floor2], () => secured.fixedRate.p99ms / Math.max(floor2.fixedRate.p99ms, 0.001), 2),
    ...tiers.map(([r, tier]) => target(`${r.id} ${tier} heap KB/req beyond the floor chain's ${hopName(tier)}`, [r, floor2], () => r.heapKbPerRequest[tier]! - floor2.heapKbPerRequest[FLOOR_HOP[tier]]!, 4)),
    ...tiers.map(([r, tier]) => target(`${r.id} ${tier} peak RSS, MB`, [r], () => r.rssMb[tier]!, 150)),
    target('secured Redis round trips per request', [secured], () => secured.redisRoundTripsPerRequest ?? NaN, 0.05),
  ];
}

/** The targets as printed: met, MISSED, or NOT MEASURED and why. */
export const targetLine = (g: Target): string => g.unmeasured !== undefined ? `NOT MEASURED ${g.name}: ${g.unmeasured}` : `${g.met ? 'met   ' : 'MISSED'} ${g.name}: ${g.measured} (target ${g.atMost ? '<=' : '>='} ${g.limit})`;

/** "173 (165-190)": a median and its spread over the rounds; the median alone after one round. */
export const withSpread = (x: number, [min, max]: Spread, d = 0): string => (min === max ? x.toFixed(d) : `${x.toFixed(d)} (${min.toFixed(d)}-${max.toFixed(d)})`);

/** Each process of a row: CPU flat out and at the fixed rate (with the ratio the targets read), heap per request, peak RSS. */
export function processCells(r: BenchRow): { readonly role: string; readonly flatOut: string; readonly atRate: string; readonly heap: string; readonly rss: string }[] {
  const ratio = (hop: number | undefined, floor: number) => (hop !== undefined ? `${fmt(hop)}x hop` : `${fmt(floor)}x floor`);
  return Object.keys(r.cpuUsPerRequest).map((role) => ({
    role,
    flatOut: `${withSpread(r.cpuUsPerRequest[role]!, r.spread.cpuUsPerRequest[role]!)} ${ratio(r.ratios.cpuVsFloorHop[role], r.ratios.cpuVsFloor[role]!)}`,
    atRate: `${withSpread(r.fixedRate.cpuUsPerRequest[role]!, r.spread.fixedRateCpuUsPerRequest[role]!)} ${ratio(r.ratios.cpuVsFloorHopAtFixedRate[role], r.ratios.cpuVsFloorAtFixedRate[role]!)}`,
    heap: role in r.heapKbPerRequest ? withSpread(r.heapKbPerRequest[role]!, r.spread.heapKbPerRequest[role]!, 1) : '-',
    rss: String(r.rssMb[role]),
  }));
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

export function printTable(rows: readonly BenchRow[], goals: readonly Target[], out: (line: string) => void = console.log): void {
  const rate = rows[0]?.fixedRate.rate ?? 0;
  const n = (x: number, w: number) => fmt(x).padStart(w);
  out(`${'case'.padEnd(50)}${'req/s (min-max)'.padStart(22)}${'xB1'.padStart(6)}${'xFloor'.padStart(7)}${'xEG'.padStart(6)}${'p50'.padStart(7)}${'p99 (min-max)'.padStart(22)} |${`@${rate}/s p50`.padStart(13)}${'p99 (min-max)'.padStart(22)} | per process: CPU-us/req flat out (x its floor hop, or x the one-hop floor), at the fixed rate, heap KB/req, peak RSS MB`);
  for (const r of rows) {
    // A failed case's numbers would read as a fast proxy: none are printed.
    if (r.failed) { out(`${r.case.padEnd(50)}  FAILED: ${r.failure}`); continue; }
    const procs = processCells(r).map((p) => `${p.role} ${p.flatOut}, @rate ${p.atRate}, heap ${p.heap}, ${p.rss}MB`).join('; ');
    out(`${r.case.padEnd(50)}${withSpread(r.rps, r.spread.rps).padStart(22)}${n(r.ratios.rpsVsB1, 6)}${n(r.ratios.rpsVsFloor, 7)}${n(r.ratios.rpsVsExpressGateway, 6)}${n(r.p50ms, 7)}${` ${withSpread(r.p99ms, r.spread.p99ms, 2)}`.padStart(22)} |${n(r.fixedRate.p50ms, 13)}${` ${withSpread(r.fixedRate.p99ms, r.spread.fixedRateP99ms, 2)}`.padStart(22)} | ${procs || '-'}`);
  }
  out('latency in ms, medians of the rounds (min-max over them); closed loop: wrk, 50 keep-alive connections (h2: h2load, 10 connections x 10 streams); fixed rate: vegeta, open loop, the same rate for every case; n/a: the reference case failed');
  for (const r of rows.filter((x) => x.verified.length > 0)) out(`checked before timing, ${r.id}: ${r.verified.join('; ')}`);
  for (const r of rows.filter((x) => x.redisRoundTripsPerRequest !== undefined)) out(`${r.id}: ${r.redisRoundTripsPerRequest} Redis round trips per request (the edge's /metrics, flat out)`);
  const failed = rows.filter((r) => r.failed);
  if (failed.length > 0) out(`FAILED (errors count every socket error and every answer not 2xx/3xx; a failed case feeds no ratio and no target): ${failed.map((r) => r.id).join(', ')}`);
  out(`p99 at the fixed rate, round by round (ms): ${rows.map((r) => `${r.id} ${r.fixedRate.p99msByRound.join('/')}`).join(', ')}`);
  out(`targets: ${goals.filter((g) => g.met).length} of ${goals.length} met`);
  for (const g of goals) out(targetLine(g));
}
