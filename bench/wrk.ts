// Closed-loop keep-alive load with wrk against loopback, and its numbers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertLoopback } from './loopback.js';

const run = promisify(execFile);

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
}

export async function wrk(url: string, seconds: number, headers: readonly string[] = [], connections = 50): Promise<WrkResult> {
  assertLoopback(url);
  const { stdout } = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), '-s', new URL('../../bench/wrk-percentiles.lua', import.meta.url).pathname, url], { maxBuffer: 1 << 20 });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50ms: num(/P50 ([\d.]+)/) / 1000,
    p99ms: num(/P99 ([\d.]+)/) / 1000,
    p999ms: num(/P999 ([\d.]+)/) / 1000,
    errors: num(/Non-2xx or 3xx responses: (\d+)/) + num(/Socket errors: connect (\d+)/),
  };
}
