// Preloaded into a tier (node --import) by bench/alloc-profile.ts: V8's sampling heap profiler,
// keeping the samples of objects already collected (the garbage a request leaves is what
// costs; a live-only profile would hide it), between two SIGUSR2, written as .heapprofile into
// GATEHOUSE_HEAP_SAMPLE_DIR (writing takes seconds: longer than a stop may wait, so not at exit).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';

const dir = process.env.GATEHOUSE_HEAP_SAMPLE_DIR;
if (dir !== undefined && isMainThread) {
  const session = new Session();
  session.connect();
  let state: 'idle' | 'sampling' | 'written' = 'idle';
  // The first SIGUSR2 starts sampling (after the bench's warm-up: start-up's compiling would count otherwise),
  // the second writes the profile.
  process.on('SIGUSR2', () => {
    if (state === 'idle') {
      // One sample per 64 KB on average: unbiased all the same (V8 scales each sample), and small enough to write.
      session.post('HeapProfiler.startSampling', { samplingInterval: 65_536, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      state = 'sampling';
    } else if (state === 'sampling') {
      state = 'written';
      session.post('HeapProfiler.stopSampling', (err, result) => {
        if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
      });
    }
  });
}
