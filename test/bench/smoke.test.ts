// The benchmark harness in a few seconds, so it never rots: every case runs
// and produces numbers. Speed is not asserted here; `npm run bench` measures it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runBench } from '../../bench/run.js';

function need(binary: string, how: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`]);
  } catch {
    throw new Error(`${binary} not found: ${how}`);
  }
}

test('every benchmark case runs and reports throughput, latency, CPU per request and memory', { timeout: 120_000 }, async () => {
  need('nginx', 'apt-get install nginx-light');
  need('haproxy', 'apt-get install haproxy');
  need('wrk', 'apt-get install wrk');
  const rows = await runBench({ rounds: 1, seconds: 1, save: false });
  assert.deepEqual(rows.map((r) => r.case.split(' (')[0]), ['B0 backend', 'B1 nginx 1 hop', 'B2 nginx 2 hops', 'HAProxy 1 hop', 'Node floor', 'Gatehouse bare', 'Gatehouse secured']);
  for (const r of rows) {
    assert.ok(r.rps > 0 && r.p50ms > 0 && r.p99ms >= r.p50ms, `${r.case}: ${JSON.stringify(r)}`);
    assert.equal(r.errors, 0, `${r.case} answered every request with 2xx`);
    for (const [proc, cpu] of Object.entries(r.cpuUsPerRequest)) assert.ok(cpu > 0 && r.rssMb[proc]! > 0, `${r.case} ${proc}`);
  }
  for (const r of rows.slice(-2)) assert.deepEqual(Object.keys(r.cpuUsPerRequest).sort(), ['edge', 'router']);
});
