// Bytes allocated on the JS heap per request by a Node process under test:
// its heap probe (heap-probe.ts, preloaded) asked for its running total
// before and after a load, the difference divided by the requests. Counts
// V8's heap only: Buffers' memory outside it is in the RSS, not here.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const repo = resolve(new URL('../..', import.meta.url).pathname);
let dir: string | undefined;
const probeDir = () => (dir ??= mkdtempSync(join(tmpdir(), 'gatehouse-bench-heap-')));

/** Node flags and environment that start a process with the heap probe. */
export function withHeapProbe(env: NodeJS.ProcessEnv = process.env): { readonly flags: string[]; readonly env: NodeJS.ProcessEnv } {
  return { flags: ['--import', pathToFileURL(join(repo, 'dist/bench/heap-probe.js')).href], env: { ...env, GATEHOUSE_BENCH_HEAP_DIR: probeDir() } };
}

/** The process's allocated bytes so far; waits for its event loop to answer (it is busy under load), up to 10 s. */
export async function allocatedBytes(pid: number): Promise<number> {
  const file = join(probeDir(), `${pid}.json`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(5)) {
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { allocatedBytes: number }).allocatedBytes;
  }
  throw new Error(`bench: process ${pid} did not report its heap allocations within 10 s (is it started with withHeapProbe()?)`);
}
