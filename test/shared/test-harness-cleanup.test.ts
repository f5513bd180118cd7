// The harness's promise to CI: every process a test starts dies with it, even
// when the test process itself is killed with SIGKILL and no handler runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../harness/ports.js';

const HOLDER = fileURLToPath(new URL('../harness/hold-processes.js', import.meta.url));

/** Alive and not a zombie: a killed child whose parent is gone may wait a moment for init to reap it. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

test('a test process killed with SIGKILL leaves none of its redis-server, Consul agent or their children behind', { timeout: 60_000 }, async (t) => {
  const owner = spawn(process.execPath, [HOLDER], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  owner.stdout.on('data', (b: Buffer) => { out += b; });
  owner.stderr.on('data', (b: Buffer) => { out += b; });
  let pids: Record<string, number> = {};
  t.after(() => { // should the reaper fail, this test still leaves nothing behind
    owner.kill('SIGKILL');
    for (const pid of Object.values(pids)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone, as it should be */ } }
  });
  pids = await waitFor('the holder to print its pids', () => {
    if (owner.exitCode !== null) throw new Error(`holder exited ${owner.exitCode}: ${out}`);
    const line = out.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as Record<string, number>) : undefined;
  }, 45_000);
  assert.deepEqual(Object.keys(pids).sort(), ['consul', 'grandchild', 'redis', 'shell']);
  for (const [name, pid] of Object.entries(pids)) assert.ok(running(pid), `${name} (${pid}) runs while its owner lives`);

  owner.kill('SIGKILL');
  const left = await waitFor('every process of the killed owner to be gone', () => {
    const alive = Object.entries(pids).filter(([, pid]) => running(pid));
    return alive.length === 0 ? [] : undefined;
  }, 5_000).catch(() => Object.entries(pids).filter(([, pid]) => running(pid)).map(([name, pid]) => `${name} ${pid}`));
  assert.deepEqual(left, [], 'processes left behind');
});
