// Every process the benchmark starts (the cases, wrk, vegeta, an installer)
// goes through the test harness's process groups, so it dies with the bench
// however the bench ends, SIGKILL included. None inherits the bench's stdout
// or stderr: a straggler holding a test runner's pipe keeps the runner waiting.
import type { ChildProcess } from 'node:child_process';
import { spawnGroup, stopGroup } from '../test/harness/process.js';
import { onCore, type CpuSide } from './cpu-pinning.js';

/** How much of a child's stderr is kept for the error that names it. */
const TAIL_CHARS = 4096;
const tails = new WeakMap<ChildProcess, () => string>();

/** A long-running child (a case's server): stdout discarded, the tail of stderr kept for stderrTail(). */
export function startChild(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawnGroup(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(env && { env }) });
  let tail = '';
  const keep = (text: string) => { tail = (tail + text).slice(-TAIL_CHARS); };
  child.stderr?.on('data', (b: Buffer) => keep(b.toString()));
  child.on('error', (err) => keep(`${cmd}: ${err.message}\n`)); // not found, not executable: never thrown at the bench
  tails.set(child, () => tail);
  return child;
}

/** The last few KB a startChild() child wrote to stderr, trimmed. */
export function stderrTail(child: ChildProcess): string {
  return tails.get(child)?.().trim() ?? '';
}

/** The command a child runs, as started (without the taskset in front of it). */
export const commandOf = (child: ChildProcess): string[] => (child.spawnargs[0] === 'taskset' ? child.spawnargs.slice(3) : child.spawnargs);

/** Whether a child is gone, or never started. */
export const exited = (child: ChildProcess): boolean => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

export interface RunOptions {
  /** Written to the child's stdin, then closed. */
  readonly input?: string;
  /** Copy stderr through to the bench's own stderr as it comes (an installer's progress), besides keeping its tail. */
  readonly showStderr?: boolean;
  /** Kills the child's group when aborted (the smoke test's timeout). */
  readonly signal?: AbortSignal | undefined;
  /** Sends SIGINT to the child when aborted, and resolves as usual: for a command that ends cleanly on it (vegeta attack without a duration). */
  readonly interrupt?: AbortSignal | undefined;
  /** The core to run on (cpu-pinning.ts): a load generator gives 'load'; unset, the child is not pinned (an installer). */
  readonly cpu?: CpuSide;
}

export interface Ended {
  readonly code: number | null;
  readonly stdout: string;
  /** The last few KB of stderr, trimmed. */
  readonly stderr: string;
}

/** A command that ends by itself (wrk, vegeta, an installer): resolves with its whole stdout if it exits 0. */
export async function runToEnd(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code === 0) return r.stdout;
  throw new Error(`${[cmd, ...args.slice(0, 2)].join(' ')} exited with ${r.code ?? 'a signal'}${r.stderr ? `: ${r.stderr}` : ''}`);
}

/** The same, resolving however the command exits, for a caller that reads its exit code (wrk). */
export function run(cmd: string, args: readonly string[], o: RunOptions = {}): Promise<Ended> {
  o.signal?.throwIfAborted();
  const child = spawnGroup(...(o.cpu ? onCore(o.cpu, cmd, args) : [cmd, [...args]] as const), { stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let tail = '';
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-TAIL_CHARS);
    if (o.showStderr) process.stderr.write(b);
  });
  if (o.input !== undefined) {
    child.stdin!.on('error', () => { /* it exited without reading: its exit code tells why */ });
    child.stdin!.end(o.input);
  }
  const abort = () => void stopGroup(child, 'SIGKILL');
  const interrupt = () => { child.kill('SIGINT'); };
  o.signal?.addEventListener('abort', abort, { once: true });
  if (o.interrupt?.aborted) interrupt(); else o.interrupt?.addEventListener('abort', interrupt, { once: true });
  return new Promise<Ended>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    // 'close', not 'exit': all of stdout has been read by then.
    child.once('close', (code) => {
      o.signal?.removeEventListener('abort', abort);
      o.interrupt?.removeEventListener('abort', interrupt);
      if (o.signal?.aborted) reject(new Error(`${cmd} stopped: the run was aborted`));
      else resolve({ code, stdout: Buffer.concat(out).toString(), stderr: tail.trim() });
    });
  });
}
