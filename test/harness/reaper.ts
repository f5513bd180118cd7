// The reaper: a small process that outlives its parent (a test file or the
// benchmark) just long enough to kill every process group the parent started.
// The parent writes "+PGID" and "-PGID" lines to its stdin; when stdin ends,
// the parent is gone however it died (SIGKILL included), and every group still
// listed gets SIGKILL. It must never kill anything it was not told about.
// Run by test/harness/process.ts as: node reaper.js (stdin a pipe from the parent).
import { createInterface } from 'node:readline';

const groups = new Set<number>();

function killGroup(pgid: number): void {
  try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const pgid = Number(line.slice(1));
  if (!Number.isInteger(pgid) || pgid <= 1) return; // never -1 or 0: those name every process or our own group
  if (line[0] === '+') groups.add(pgid);
  else if (line[0] === '-') groups.delete(pgid);
});
lines.on('close', () => {
  for (const pgid of groups) killGroup(pgid);
  process.exit(0);
});
// The parent's terminal or runner may signal its whole group; the reaper lives in its own and ignores these.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
