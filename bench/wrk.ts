// Closed-loop keep-alive load with wrk against loopback, and its numbers.
// Every failed request counts as an error: each kind of socket error wrk
// reports (connect, read, write, timeout) and every non-2xx/3xx answer.
import { assertLoopback } from './loopback.js';
import { run } from './children.js';

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly p999ms: number;
  readonly errors: number;
  /** The errors by kind ("wrk connect", "wrk non-2xx/3xx", ...), only those that occurred. */
  readonly errorKinds: Readonly<Record<string, number>>;
}

export async function wrk(url: string, seconds: number, headers: readonly string[] = [], connections = 50, signal?: AbortSignal): Promise<WrkResult> {
  assertLoopback(url);
  // wrk's default 2 s timeout measures wrk's own scheduling as much as the server on a loaded 2-core machine
  // (a stalled wrk thread once found all 50 requests "timed out" in a 1 s run): a slow answer counts in the
  // latency figures, and only one over 10 s is an error.
  const r = await run('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', ...headers.flatMap((h) => ['-H', h]), '-s', new URL('../../bench/wrk-percentiles.lua', import.meta.url).pathname, url], { signal, cpu: 'load' });
  if (r.code === 0) return parseWrk(r.stdout);
  // wrk tries one connection first and exits 1 when it is refused: the case failed, not the bench.
  if (/unable to connect/.test(r.stderr)) return { ...parseWrk(''), errors: 1, errorKinds: { 'wrk unable to connect': 1 } };
  throw new Error(`wrk exited with ${r.code ?? 'a signal'}: ${r.stderr}`);
}

function parseWrk(stdout: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? 0);
  // "Socket errors: connect 0, read 3, write 0, timeout 12"; the line is left out when there are none.
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const counts: [string, number][] = [
    ...['connect', 'read', 'write', 'timeout'].map((kind, i): [string, number] => [`wrk ${kind}`, Number(socket?.[i + 1] ?? 0)]),
    ['wrk non-2xx/3xx', num(/Non-2xx or 3xx responses: (\d+)/)],
  ];
  const errorKinds = Object.fromEntries(counts.filter(([, n]) => n > 0));
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50ms: num(/P50 ([\d.]+)/) / 1000,
    p99ms: num(/P99 ([\d.]+)/) / 1000,
    p999ms: num(/P999 ([\d.]+)/) / 1000,
    errors: counts.reduce((sum, [, n]) => sum + n, 0),
    errorKinds,
  };
}
