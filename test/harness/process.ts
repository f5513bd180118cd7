// Child processes a test or the benchmark owns: each in its own process group,
// so that stopping it also stops whatever it forked (nginx's workers), and each
// group killed however its owner ends. A normal exit kills them in the 'exit'
// handler; a SIGKILL'd or crashed owner is covered by the reaper
// (reaper.ts), which notices its owner is gone and kills the groups itself.
// Children never inherit the owner's stdout or stderr: a straggler holding the
// test runner's pipe keeps the runner from exiting.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Owned {
  readonly child: ChildProcess;
  output(): string;
  /** Every JSON log line the child wrote with this event, however much output followed it (access lines excepted). */
  logged(event: string): Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const live = new Set<number>();
let reaper: ChildProcess | undefined;

function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [fileURLToPath(new URL('./reaper.js', import.meta.url))], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.unref();
    (reaper.stdin as unknown as { unref(): void }).unref(); // the pipe must not keep the owner's event loop alive
    reaper.stdin!.on('error', () => { /* the reaper died first: the exit handler still covers a normal exit */ });
    process.once('exit', () => {
      for (const pgid of live) killGroup(pgid, 'SIGKILL');
    });
  }
  reaper.stdin!.write(`${line}\n`);
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pgid, signal); } catch { /* already gone */ }
}

/**
 * Tracks a process group some child of ours made on its own (a tier started detached by a wrapper), so it is
 * killed however the owner ends, like spawnGroup's; unlike them, not when the process that made it exits.
 */
export function adoptGroup(pgid: number): void {
  live.add(pgid);
  tellReaper(`+${pgid}`);
}

/** Starts cmd as the leader of a new process group the owner tracks; stdout and stderr default to ignored. */
export function spawnGroup(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], ...options, detached: true });
  const pgid = child.pid;
  if (pgid === undefined) return child; // spawn failed: 'error' is emitted, nothing to track
  live.add(pgid);
  tellReaper(`+${pgid}`);
  child.once('exit', () => {
    killGroup(pgid, 'SIGKILL'); // whatever the leader forked goes with it
    live.delete(pgid);
    tellReaper(`-${pgid}`);
  });
  return child;
}

/** Signals a spawnGroup child's whole group, and waits for its leader to exit (SIGKILL after 5 s). */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child.pid, signal);
  const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const EVENT_LINES_KEPT = 5_000;

/** Collects a stream's event lines other than access lines: a test waiting for one must not lose it to the
 *  access lines of its own load, which push it out of the kept output on a slow machine. */
function eventLines(): { feed(text: string): void; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  return {
    lines,
    feed(text) {
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        if (line.includes('"event":"') && !line.includes('"event":"access"') && lines.length < EVENT_LINES_KEPT) lines.push(line);
      }
    },
  };
}

/** spawnGroup with its output kept (the last 20,000 characters) for a failure message, and its event lines. */
export function spawnOwned(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Owned {
  const child = spawnGroup(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const stdoutEvents = eventLines();
  child.stdout!.on('data', (b: Buffer) => {
    const text = b.toString();
    out = (out + text).slice(-20_000);
    stdoutEvents.feed(text);
  });
  child.stderr!.on('data', (b: Buffer) => { out = (out + b.toString()).slice(-20_000); });
  return {
    child,
    output: () => out,
    logged: (event) => stdoutEvents.lines.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: (signal = 'SIGTERM') => stopGroup(child, signal),
  };
}
