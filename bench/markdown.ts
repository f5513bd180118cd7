// The last run as Markdown for docs/benchmarks.md: the table and the targets,
// written between its two markers by `npm run bench` (and kept beside the
// JSON as bench/results/latest.md), so the published table is always a run's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { processCells, withSpread, type BenchRow, type Target } from './report.js';

export const BEGIN = '<!-- bench:last-run (written by npm run bench) -->';
export const END = '<!-- /bench:last-run -->';

export interface RunFacts { readonly at: string; readonly machine: string; readonly rounds: number; readonly seconds: number; readonly rate: number; readonly pinning: string }

export function renderMarkdown(rows: readonly BenchRow[], goals: readonly Target[], run: RunFacts): string {
  const n = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const lines = [
    `The last run (${run.at.slice(0, 16).replace('T', ' ')} UTC, ${run.machine}; ${run.rounds} rounds of ${run.seconds} s per load, medians with min-max over the rounds; fixed rate ${run.rate}/s; ${run.pinning}). Latency in ms; CPU in µs per request, against the process's own hop of the two-hop Node floor (a tier) or the one-hop floor (anything else); heap in KB allocated per request:`,
    '',
    `| case | req/s | × B1 | × floor | × EG | p50 | p99 | p50 at ${run.rate}/s | p99 at ${run.rate}/s | CPU flat out | CPU at ${run.rate}/s | heap KB/req | peak RSS MB |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    if (r.failed) { lines.push(`| ${r.case} | **FAILED**: ${r.failure} | | | | | | | | | | | |`); continue; }
    const cells = processCells(r);
    const per = (f: (c: (typeof cells)[number]) => string) => cells.map((c) => `${c.role} ${f(c)}`.replace(/x (hop|floor)/, '× $1')).join(', ') || '–';
    lines.push(`| ${r.case} | ${withSpread(r.rps, r.spread.rps)} | ${n(r.ratios.rpsVsB1)} | ${n(r.ratios.rpsVsFloor)} | ${n(r.ratios.rpsVsExpressGateway)} | ${r.p50ms.toFixed(2)} | ${withSpread(r.p99ms, r.spread.p99ms, 2)} | ${r.fixedRate.p50ms.toFixed(2)} | ${withSpread(r.fixedRate.p99ms, r.spread.fixedRateP99ms, 2)} | ${per((c) => c.flatOut)} | ${per((c) => c.atRate)} | ${cells.some((c) => c.heap !== '-') ? per((c) => c.heap) : '–'} | ${per((c) => c.rss)} |`);
  }
  const trips = rows.find((r) => r.redisRoundTripsPerRequest !== undefined);
  if (trips) lines.push('', `Redis round trips per request of the secured edge, flat out: ${trips.redisRoundTripsPerRequest}.`);
  lines.push('', `Targets: ${goals.filter((g) => g.met).length} of ${goals.length} met.`, '', '| target | measured | met |', '| --- | --- | --- |');
  for (const g of goals) lines.push(`| ${g.name} ${g.atMost ? '≤' : '≥'} ${g.limit} | ${g.unmeasured ?? g.measured} | ${g.unmeasured ? 'not measured' : g.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

/** Replaces what lies between the markers of a Markdown file; false (file untouched) when it has none. */
export function writeBetweenMarkers(file: string, body: string): boolean {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const [from, to] = [text.indexOf(BEGIN), text.indexOf(END)];
  if (from < 0 || to < from) return false;
  writeFileSync(file, `${text.slice(0, from + BEGIN.length)}\n${body}\n${text.slice(to)}`);
  return true;
}
