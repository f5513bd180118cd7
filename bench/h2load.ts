// Closed-loop HTTP/2 load with h2load (Debian's nghttp2-client) against
// loopback: a few TLS connections, many concurrent streams on each, the way
// browsers and gRPC-style clients reach an edge. Its numbers, in wrk's shape;
// latency percentiles from its per-request log (h2load prints none itself).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopback } from './loopback.js';
import { run } from './children.js';
import type { WrkResult } from './wrk.js';

/** 10 connections of 10 streams each: 100 requests in flight, against wrk's 50 connections of one. */
export const H2_CONNECTIONS = 10;
export const H2_STREAMS = 10;
/** How long past its duration h2load may take to collect its last answers. */
const WATCHDOG_SECONDS = 30;

export async function h2load(url: string, seconds: number, headers: readonly string[] = [], signal?: AbortSignal): Promise<WrkResult> {
  assertLoopback(url);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-h2load-'));
  const log = join(dir, 'requests.log');
  try {
    // h2load waits for every stream it started: a server that stops answering (seen once: the node:http2 floor
    // spinning on its core after a 1 s load) would hold the bench forever. Past the watchdog it is interrupted,
    // and the case fails, naming why, instead.
    const watchdog = new AbortController();
    const timer = setTimeout(() => watchdog.abort(), (seconds + WATCHDOG_SECONDS) * 1000);
    const r = await run('h2load', ['-t1', `-c${H2_CONNECTIONS}`, `-m${H2_STREAMS}`, `-D${seconds}`, `--log-file=${log}`, ...headers.flatMap((h) => ['-H', h]), url], { signal, interrupt: watchdog.signal, cpu: 'load' })
      .finally(() => clearTimeout(timer));
    if (watchdog.signal.aborted) return { ...parseH2load('', ''), errors: 1, errorKinds: { [`h2load unfinished ${WATCHDOG_SECONDS} s after its end`]: 1 } };
    if (r.code !== 0) throw new Error(`h2load exited with ${r.code ?? 'a signal'}: ${r.stderr || r.stdout.slice(-2000)}`);
    let latencies: string;
    try { latencies = readFileSync(log, 'utf8'); } catch { latencies = ''; } // no request completed: no log
    return parseH2load(r.stdout, latencies);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** stdout's summary for the counts; the log ("start-µs<TAB>status<TAB>duration-µs" a line) for the latencies of answers 2xx/3xx. */
export function parseH2load(stdout: string, log: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  const counts: [string, number][] = [
    ['h2load non-2xx/3xx', num(/(\d+) 4xx/) + num(/(\d+) 5xx/)],
    ['h2load errored', num(/(\d+) errored/)],
    ['h2load timeout', num(/(\d+) timeout/)],
  ]; // a refused connection completes nothing: the case fails as "no request completed" (report.ts)
  const latencies: number[] = [];
  for (const line of log.split('\n')) {
    const [, status, us] = line.split('\t');
    if (status !== undefined && Number(status) >= 200 && Number(status) < 400) latencies.push(Number(us) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return {
    requests: num(/(\d+) done/),
    rps: num(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    p50ms: q(0.5), p99ms: q(0.99), p999ms: q(0.999),
    errors: counts.reduce((sum, [, n]) => sum + n, 0),
    errorKinds: Object.fromEntries(counts.filter(([, n]) => n > 0)),
  };
}
