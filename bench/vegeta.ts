// Open-loop load with vegeta at a fixed request rate: requests leave on
// schedule whether or not earlier ones were answered, so a slow server shows
// its queueing in the percentiles instead of slowing its own load down
// (wrk's closed loop hides that), and every case is compared at equal load.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertLoopback } from './loopback.js';

const run = promisify(execFile);
export const RAMP_SECONDS = 1;
const MAX_CONNECTIONS = 50;

export interface OpenLoopResult {
  readonly rate: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
}

export async function openLoop(bin: string, url: string, rate: number, seconds: number, headers: readonly string[] = []): Promise<OpenLoopResult> {
  assertLoopback(url);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-vegeta-'));
  const out = join(dir, 'results.bin');
  try {
    // HTTP/1.1 keep-alive like wrk (Go would otherwise negotiate HTTP/2 with the TLS edge), and at most
    // wrk's 50 connections: an unbounded client opens a connection per stalled request, and against a
    // TLS listener the handshakes of that burst swamp what is measured. The first second opens the
    // connections and is left out of the percentiles.
    const attack = execFile(bin, ['attack', `-rate=${rate}/1s`, `-duration=${seconds + RAMP_SECONDS}s`, '-insecure', '-http2=false', '-keepalive=true',
      '-workers=10', `-max-workers=${MAX_CONNECTIONS}`, `-connections=${MAX_CONNECTIONS}`, `-max-connections=${MAX_CONNECTIONS}`,
      ...headers.flatMap((h) => ['-header', h]), `-output=${out}`]);
    attack.stdin!.end(`GET ${url}\n`);
    await new Promise<void>((resolve, reject) => attack.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vegeta attack exited with ${code}`)))));
    const { stdout } = await run(bin, ['encode', '-to', 'csv', out], { maxBuffer: 256 << 20 });
    return summarize(stdout, rate);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CSV rows: unix-ns timestamp, status, latency-ns, ...; rows of the ramp-up second are left out. */
function summarize(csv: string, rate: number): OpenLoopResult {
  const latencies: number[] = [];
  let errors = 0;
  let from: number | undefined;
  for (const line of csv.split('\n')) {
    if (line === '') continue;
    const [at, status, latency] = line.split(',', 3);
    from ??= Number(at) + RAMP_SECONDS * 1e9;
    if (Number(at) < from) continue;
    const code = Number(status);
    if (code < 200 || code >= 400) errors++;
    latencies.push(Number(latency) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rate, p50ms: at(0.5), p99ms: at(0.99), p999ms: at(0.999), errors };
}
