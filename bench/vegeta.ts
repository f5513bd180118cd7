// Open-loop load with vegeta at a fixed request rate: requests leave on
// schedule whether or not earlier ones were answered, so a slow server shows
// its queueing in the percentiles instead of slowing its own load down
// (wrk's closed loop hides that), and every case is compared at equal load.
// Every request that failed (no answer, or not 2xx/3xx) counts as an error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopback } from './loopback.js';
import { runToEnd } from './children.js';
import type { CpuSide } from './cpu-pinning.js';

export const RAMP_SECONDS = 1;
const MAX_CONNECTIONS = 50;

export interface OpenLoopResult {
  readonly rate: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
  /** The errors by kind ("vegeta 502", "vegeta connection refused", ...), only those that occurred. */
  readonly errorKinds: Readonly<Record<string, number>>;
}

export interface CountedLoad extends OpenLoopResult {
  /** Requests sent, and the seconds from the first to the last: the rate achieved is their ratio. */
  readonly requests: number;
  readonly seconds: number;
}

/** http2: over HTTP/2 (TLS with ALPN), its streams multiplexed on the same at most 50 connections. */
export async function openLoop(bin: string, url: string, rate: number, seconds: number, headers: readonly string[] = [], signal?: AbortSignal, http2 = false): Promise<OpenLoopResult> {
  return attack(bin, [url], rate, [`-duration=${seconds + RAMP_SECONDS}s`], headers, { signal, cpu: 'load', http2 });
}

/**
 * The same load spread round-robin over several URLs (both edges of a cluster), for as long as `until`
 * is not aborted: vegeta stops on SIGINT and keeps every result sent so far.
 */
export async function openLoopUntil(bin: string, urls: readonly string[], rate: number, until: AbortSignal, signal?: AbortSignal): Promise<CountedLoad> {
  return attack(bin, urls, rate, ['-duration=0'], [], { signal, interrupt: until });
}

async function attack(bin: string, urls: readonly string[], rate: number, duration: readonly string[], headers: readonly string[], o: { signal?: AbortSignal | undefined; interrupt?: AbortSignal; cpu?: CpuSide; http2?: boolean }): Promise<CountedLoad> {
  for (const url of urls) assertLoopback(url);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-vegeta-'));
  const out = join(dir, 'results.bin');
  try {
    // HTTP/1.1 keep-alive like wrk unless the case is an HTTP/2 one (Go would otherwise negotiate HTTP/2 with the TLS edge), and at most
    // wrk's 50 connections: an unbounded client opens a connection per stalled request, and against a
    // TLS listener the handshakes of that burst swamp what is measured. The first second opens the
    // connections and is left out of the percentiles (not of the errors).
    await runToEnd(bin, ['attack', `-rate=${rate}/1s`, ...duration, '-insecure', `-http2=${o.http2 ?? false}`, '-keepalive=true',
      '-workers=10', `-max-workers=${MAX_CONNECTIONS}`, `-connections=${MAX_CONNECTIONS}`, `-max-connections=${MAX_CONNECTIONS}`,
      ...headers.flatMap((h) => ['-header', h]), `-output=${out}`], { input: urls.map((u) => `GET ${u}\n`).join(''), ...o });
    return summarize(await runToEnd(bin, ['encode', '-to', 'json', out], { signal: o.signal }), rate);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface VegetaResult { readonly timestamp: string; readonly code: number; readonly latency: number; readonly error: string }

/** One JSON result a line, in the order sent; latencies of the ramp-up second are left out, its errors are not. */
function summarize(lines: string, rate: number): CountedLoad {
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let from: number | undefined;
  let first: number | undefined;
  let last = 0;
  let requests = 0;
  for (const line of lines.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as VegetaResult;
    const failed = r.error !== '' || r.code < 200 || r.code >= 400;
    if (failed) {
      // An answer is counted by its status; no answer (code 0) by the last part of its error,
      // as in "Get ...: dial tcp ...->127.0.0.1:1: connect: connection refused".
      const kind = `vegeta ${r.code !== 0 ? r.code : r.error.split(': ').at(-1)}`;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
    const at = Date.parse(r.timestamp);
    requests++;
    first ??= at;
    last = Math.max(last, at);
    from ??= at + RAMP_SECONDS * 1000;
    if (at >= from && !failed) latencies.push(r.latency / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  return { rate, p50ms: q(0.5), p99ms: q(0.99), p999ms: q(0.999), errors, errorKinds, requests, seconds: first === undefined ? 0 : (last - first) / 1000 };
}
