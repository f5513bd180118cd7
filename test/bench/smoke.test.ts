// The benchmark harness in a short run, so it never rots: every case runs,
// HTTP/2 ones included, the secured chain's refusals are checked first, and
// every request succeeds; every figure the targets read is there.
// Speed is not asserted here; `npm run bench` measures it. Nothing here builds
// or installs: Caddy, vegeta and Express Gateway come from .ci/run beforehand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { runBench } from '../../bench/run.js';
import { targets } from '../../bench/report.js';

// Two minutes on 2 cores with other tests running beside it (121 s measured at load average 11, with the
// HTTP/2 cases): room for the one repeat below on a busier machine; at the timeout t.signal stops every
// process of the run at once.
const TIMEOUT_MS = 600_000;

function need(binary: string, how: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`]);
  } catch {
    throw new Error(`${binary} not found: ${how}`);
  }
}

test('every benchmark case runs and reports throughput, latency at a fixed rate, CPU per request and memory', { timeout: TIMEOUT_MS }, async (t) => {
  need('nginx', 'apt-get install nginx-light');
  need('haproxy', 'apt-get install haproxy');
  need('wrk', 'apt-get install wrk');
  need('h2load', 'apt-get install nghttp2-client');
  // t.signal aborts at the timeout: every process of the run is stopped then, not when its load ends.
  const run = () => runBench({ rounds: 1, seconds: 1, warmupSeconds: 1, rate: 50, save: false, install: false, signal: t.signal });
  const erred = (rs: Awaited<ReturnType<typeof runBench>>) => rs.filter((r) => r.failed || r.errors > 0).map((r) => `${r.id}: ${r.failure}`);
  let rows = await run();
  // Other test files run beside this one on 2 cores, and a one-second case can be starved into a few errors
  // (seen once in a CI run: 26 non-2xx of about 9,000 on the secured case, none in six runs after). A broken
  // case errs every time: the run is repeated once, and any error in the second run fails the test.
  if (erred(rows).length > 0) {
    t.diagnostic(`first run had errors (${erred(rows).join('; ')}); running once more`);
    rows = await run();
  }
  assert.deepEqual(rows.map((r) => r.id), ['B0', 'B1', 'B2', 'haproxy', 'caddy', 'floor', 'floor2', 'express-gateway', 'bare', 'secured', 'h2-nginx', 'h2-floor', 'h2-floor2', 'h2-bare', 'h2-secured']);
  assert.deepEqual(rows.filter((r) => r.protocol === 'h2').map((r) => r.id), ['h2-nginx', 'h2-floor', 'h2-floor2', 'h2-bare', 'h2-secured']);
  assert.deepEqual(rows.find((r) => r.id === 'secured')!.verified, ['bad token: 401 unauthorized', 'forbidden consumer: 403 forbidden', 'over its rate limit: 429 rate_limited'], 'the secured chain refused what it must before it was timed');
  // Every failed case at once, with its errors by kind: a socket error of any kind or an answer not 2xx/3xx.
  assert.deepEqual(erred(rows), [], 'every request of every case succeeded');
  for (const r of rows) {
    assert.ok(r.rps > 0 && r.p50ms > 0 && r.p99ms >= r.p50ms, `${r.case}: ${JSON.stringify(r)}`);
    assert.ok(r.fixedRate.rate === 50 && r.fixedRate.p50ms > 0 && r.fixedRate.p99ms >= r.fixedRate.p50ms, `${r.case} at the fixed rate: ${JSON.stringify(r.fixedRate)}`);
    assert.deepEqual(r.fixedRate.p99msByRound, [Math.round(r.fixedRate.p99ms * 100) / 100], `${r.case}: one round, its p99 kept`);
    assert.deepEqual(r.spread.rps, [r.rps, r.rps], `${r.case}: one round, no spread`);
    // /proc counts CPU in 10 ms ticks: at the smoke run's fixed rate (about 100 requests) nginx or HAProxy
    // can spend less than one tick, a true 0; the Gatehouse tiers, checked below, never do.
    for (const [proc, cpu] of Object.entries(r.cpuUsPerRequest)) assert.ok(cpu > 0 && r.fixedRate.cpuUsPerRequest[proc]! >= 0 && r.rssMb[proc]! > 0, `${r.case} ${proc}`);
    assert.ok(Number.isFinite(r.ratios.rpsVsB1) && Number.isFinite(r.ratios.rpsVsExpressGateway), `${r.case} ratios`);
  }
  const of = (id: string) => rows.find((r) => r.id === id)!;
  for (const r of ['bare', 'secured', 'h2-bare', 'h2-secured'].map(of)) {
    assert.deepEqual(Object.keys(r.cpuUsPerRequest).sort(), ['edge', 'router']);
    for (const [tier, cpu] of Object.entries(r.fixedRate.cpuUsPerRequest)) assert.ok(cpu > 0, `${r.case} ${tier} at the fixed rate`);
    // Each tier against its own hop of the two-hop floor over the same protocol: the edge the TLS one, the router the plain one.
    const chain = of(r.protocol === 'h2' ? 'h2-floor2' : 'floor2');
    assert.equal(r.ratios.cpuVsFloorHop.edge, Math.round((r.cpuUsPerRequest.edge! / chain.cpuUsPerRequest.first!) * 100) / 100, r.case);
    assert.equal(r.ratios.cpuVsFloorHop.router, Math.round((r.cpuUsPerRequest.router! / chain.cpuUsPerRequest.second!) * 100) / 100, r.case);
  }
  // Every Node process under test reports its heap allocation: a proxy hop allocates something for every request.
  for (const r of rows.filter((x) => ['floor', 'floor2', 'bare', 'secured'].includes(x.id) || x.id.startsWith('h2-') && x.id !== 'h2-nginx')) {
    assert.deepEqual(Object.keys(r.heapKbPerRequest), Object.keys(r.cpuUsPerRequest), r.case);
    for (const [proc, kb] of Object.entries(r.heapKbPerRequest)) assert.ok(kb > 0 && kb < 1000, `${r.case} ${proc}: ${kb} KB per request`);
  }
  // Read off the secured edge's /metrics; its exact number depends on the rate-limit mode.
  assert.ok(Number.isFinite(of('secured').redisRoundTripsPerRequest) && of('secured').redisRoundTripsPerRequest! >= 0, `secured: ${of('secured').redisRoundTripsPerRequest} Redis round trips per request`);
  const goals = targets(rows);
  assert.equal(goals.length, 21, 'four CPU ratios flat out and four at the fixed rate, three throughput ratios, p99, four allocation and four RSS limits, Redis round trips');
  for (const g of goals) assert.ok(Number.isFinite(g.measured), g.name);
});
