// The bench's measurement rules on real processes: the load side and the
// processes under test land on their own cores, every thread included, and
// the heap probe reports what a process allocated, collections included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { run, startChild } from '../../bench/children.js';
import { pinProcess } from '../../bench/cpu-pinning.js';
import { allocatedBytes, withHeapProbe } from '../../bench/allocations.js';
import { spawnGroup, stopGroup } from '../harness/process.js';

const allowedCpus = (pid: number | string, task?: string) =>
  /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(task ? `/proc/${pid}/task/${task}/status` : `/proc/${pid}/status`, 'utf8'))?.[1];

test('a load generator runs on the load core; a process under test, every thread of it, on the other', { skip: availableParallelism() < 2 || process.env.BENCH_PIN === 'off' }, async () => {
  const load = await run('sh', ['-c', 'grep Cpus_allowed_list /proc/self/status'], { cpu: 'load' });
  assert.match(load.stdout, /Cpus_allowed_list:\s*0\n/);
  // A Node process has its threads (libuv's pool, V8's platform workers) before it is pinned: all of them move.
  const tested = startChild(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    pinProcess(tested.pid, 'tested');
    const tasks = readdirSync(`/proc/${tested.pid}/task`);
    assert.ok(tasks.length > 1, `threads: ${tasks.length}`);
    assert.deepEqual(tasks.map((t) => allowedCpus(tested.pid!, t)), tasks.map(() => '1'));
  } finally {
    await stopGroup(tested);
  }
});

test('the heap probe counts what a process allocated, what collections freed included', { timeout: 60_000 }, async () => {
  // 100 arrays of 100,000 doubles, one kept at a time: the heap in use stays small while the collector frees
  // the rest, so only the collections' share shows the allocation. Each array's doubles take 800 KB, and V8 may
  // first give it a backing store of small integers as large: 80 to 160 MB, and a few MB without the collections.
  // The count can fall short when the old generation is swept concurrently (space freed between collections is
  // not seen): 76 MB was measured once on a busy machine, hence the lower bound of 60.
  // It says "ready" once running: the preloaded probe has its SIGUSR2 handler by then (before it, the signal would kill it).
  const script = `process.stdin.once('data', () => { let keep; for (let i = 0; i < 100; i++) keep = new Array(1e5).fill(i + 0.5); process.stdout.write('done ' + keep.length); }); process.stdout.write('ready');`;
  const probe = withHeapProbe();
  const child = spawnGroup(process.execPath, [...probe.flags, '-e', script], { stdio: ['pipe', 'pipe', 'ignore'], env: probe.env });
  try {
    await once(child.stdout!, 'data');
    const before = await allocatedBytes(child.pid!);
    child.stdin!.write('go\n');
    await once(child.stdout!, 'data');
    const mb = (await allocatedBytes(child.pid!) - before) / 1e6;
    assert.ok(mb >= 60 && mb < 170, `allocated ${mb.toFixed(1)} MB, expected 80 to 160`);
  } finally {
    await stopGroup(child);
  }
});
