// Preloaded (node --import) into the Node processes the bench measures, only
// when GATEHOUSE_BENCH_HEAP_DIR is set: on SIGUSR2 it writes how many bytes
// the process has allocated on V8's heap so far, to DIR/PID.json. Never
// changes what the process does otherwise; allocations.ts reads the file.
//
// V8 counts no cumulative allocation, so it is rebuilt from the collector:
// every byte a collection freed was allocated before it, and every byte in
// use now too. allocated = used now + sum over collections of (used before -
// used after), from v8.GCProfiler's per-collection heap statistics.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.GATEHOUSE_BENCH_HEAP_DIR;
if (dir !== undefined && dir !== '') {
  let profiler = new GCProfiler();
  profiler.start();
  let freed = 0;
  process.on('SIGUSR2', () => {
    // stop() is the only way to read the collections so far; a new profiler goes on at once.
    const stats = profiler.stop();
    profiler = new GCProfiler();
    profiler.start();
    for (const gc of stats?.statistics ?? []) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    const file = join(dir, `${process.pid}.json`);
    // Written aside and renamed: the reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify({ allocatedBytes: freed + getHeapStatistics().used_heap_size }));
    renameSync(`${file}.tmp`, file);
  });
}
