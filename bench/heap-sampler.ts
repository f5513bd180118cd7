// Preloaded into a tier (node --import) by bench/alloc-profile.ts: V8's sampling heap profiler from the
// first line, keeping the samples of objects already collected (the garbage a request leaves is what
// costs; a live-only profile would hide it), written as .heapprofile into GATEHOUSE_HEAP_SAMPLE_DIR
// when the process exits. An in-process inspector session answers synchronously, so 'exit' can write it.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.GATEHOUSE_HEAP_SAMPLE_DIR;
if (dir !== undefined) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  process.once('exit', () => {
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
