// The README's benchmark chart: throughput and CPU per request per case, as
// a static SVG. Written by hand: two bar panels are a few lines of markup,
// and a charting library would need a browser or a canvas to render them.
// A failed case gets no bars, only the word, so it never reads as fast.
// A thin line across each throughput bar spans its rounds' min to max.
import type { BenchRow } from './report.js';

const ROW = 26, LABEL = 350, PANEL = 300, GAP = 40, TOP = 48;
const COLORS = ['#3b6ea5', '#e08a2e', '#5a9e5a'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(rows: readonly BenchRow[], subtitle: string): string {
  const width = LABEL + 2 * PANEL + GAP + 200; // room for the CPU labels right of the bars
  const height = TOP + rows.length * ROW + 24;
  const measured = rows.filter((r) => !r.failed);
  const maxRps = Math.max(...measured.map((r) => r.spread.rps[1]), 1);
  const cpuTotal = (r: BenchRow) => Object.values(r.cpuUsPerRequest).reduce((a, b) => a + b, 0);
  const maxCpu = Math.max(...measured.map(cpuTotal), 1);
  const cpuX = LABEL + PANEL + GAP;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LABEL}" y="18" font-weight="bold">requests/s (median; line: min-max)</text>`,
    `<text x="${cpuX}" y="18" font-weight="bold">CPU-us per request, by process (wrk, flat out)</text>`,
    `<text x="8" y="36" fill="#555">${esc(subtitle)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = TOP + i * ROW;
    parts.push(`<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end">${esc(r.case)}</text>`);
    if (r.failed) {
      parts.push(`<text x="${LABEL}" y="${y + 15}" fill="#b00" font-weight="bold">FAILED: ${esc(r.failure)}</text>`);
      return;
    }
    const w = (r.rps / maxRps) * PANEL;
    const [min, max] = r.spread.rps.map((x) => LABEL + (x / maxRps) * PANEL);
    parts.push(`<rect x="${LABEL}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${COLORS[0]}"/>`, `<text x="${(Math.max(LABEL + w, max!) + 4).toFixed(1)}" y="${y + 15}">${r.rps}</text>`);
    if (max! > min!) parts.push(`<line x1="${min!.toFixed(1)}" x2="${max!.toFixed(1)}" y1="${y + ROW / 2 - 1}" y2="${y + ROW / 2 - 1}" stroke="#222" stroke-width="2"/>`);
    let x = cpuX;
    Object.entries(r.cpuUsPerRequest).forEach(([role, us], k) => {
      const seg = (us / maxCpu) * PANEL;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y + 3}" width="${seg.toFixed(1)}" height="${ROW - 8}" fill="${COLORS[k % COLORS.length]}"><title>${esc(role)} ${us}</title></rect>`);
      x += seg;
    });
    const label = Object.entries(r.cpuUsPerRequest).map(([role, us]) => `${role} ${us}`).join(' + ');
    if (label) parts.push(`<text x="${(x + 4).toFixed(1)}" y="${y + 15}">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
