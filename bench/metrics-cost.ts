// Micro-benchmark of what /metrics costs a request on the hot path, through the
// classes the tiers record into: nanoseconds per request on each tier, and
// what the same counts would cost as prom-client children (the reason the new
// counters are plain numbers). Also the cost of one scrape. CPU time of this
// process (other load on the machine inflates it less than wall time), median
// of rounds; a tier spends about 130-250 CPU-us per request flat out
// (docs/benchmarks.md), so the figures here are read against that.
// Run: npm run bench:metrics
import { Counter, type Registry } from 'prom-client';
import { createTierMetrics } from '../shared/metrics/registry.js';
import { Attempt } from '../shared/metrics/upstream.js';
import { RateLimitMetrics, countDecisions, countRoundTrip } from '../edge/ratelimit/metrics.js';
import type { Decision } from '../edge/ratelimit/store.js';

const N = Number(process.env.BENCH_METRICS_N ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 5);

/** Median CPU ns (user + system) per call of op over ROUNDS rounds of N calls, after one round of warm-up. */
function nsPerOp(op: (i: number) => void): number {
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < N; i++) op(i);
    const used = process.cpuUsage(start);
    if (r > 0) rounds.push(((used.user + used.system) * 1000) / N);
  }
  rounds.sort((a, b) => a - b);
  return rounds[rounds.length >> 1]!;
}

function report(label: string, ns: number): void {
  console.log(`${label.padEnd(72)} ${ns.toFixed(0).padStart(5)} ns`);
}

const edge = createTierMetrics('edge');
const router = createTierMetrics('router');
// Two instances discovery lists, as the directory would report them (the scrape keeps their series).
const routers = [{ id: 'http://10.0.0.1:8081' }, { id: 'http://10.0.0.2:8081' }];
const backends = [{ id: 'orders-1' }, { id: 'orders-2' }, { id: 'orders-3' }];
edge.upstream.listInstancesWith((name) => (name === 'gatehouse-router' ? { current: routers as never } : undefined));
router.upstream.listInstancesWith((name) => (name === 'orders' ? { current: backends as never } : undefined));
const edgeAttempts = edge.upstream.service('gatehouse-router');
const routerAttempts = router.upstream.service('orders');
const limits = new RateLimitMetrics(edge.registry);
const policyRows = [limits.policy('global'), limits.policy('per-route')];
const admitted: Decision[] = [{ allowed: true, retryAfterMs: 0, remaining: [9], resetMs: [100] }, { allowed: true, retryAfterMs: 0, remaining: [3], resetMs: [100] }];

// What each tier records per request, in the order the request does it.
const edgeRequest = (i: number) => {
  countRoundTrip(policyRows);
  countDecisions(policyRows, admitted, false);
  edgeAttempts.attempt(routers[i & 1]!.id, Attempt.ok, 0.0004);
  edge.requests.record('orders', 'GET', 200, 0.0009, undefined);
};
const routerRequest = (i: number) => {
  routerAttempts.attempt(backends[i % 3]!.id, Attempt.ok, 0.0002);
  router.requests.record('orders', 'GET', 200, 0.0005, undefined);
};

console.log(`metrics recording, CPU ns per call (median of ${ROUNDS} rounds of ${N.toLocaleString('en')}), Node ${process.version}`);
const edgeNs = nsPerOp(edgeRequest);
const routerNs = nsPerOp(routerRequest);
report('edge: one request (2 rate-limit policies, 1 attempt, request count + duration)', edgeNs);
report('router: one request (1 attempt, request count + duration)', routerNs);
report('  of which the request count + duration (plain-number rows)', nsPerOp(() => router.requests.record('orders', 'GET', 200, 0.0005, undefined)));
report('  of which an attempt (plain-number count + duration rows)', nsPerOp((i) => routerAttempts.attempt(backends[i % 3]!.id, Attempt.ok, 0.0002)));
report('  of which 2 rate-limit decisions + a round trip (plain numbers)', nsPerOp(() => { countRoundTrip(policyRows); countDecisions(policyRows, admitted, false); }));

// The same three counts of a request as cached prom-client children: what plain numbers save.
const scratch = createTierMetrics('router').registry;
const child = (registry: Registry, name: string) => new Counter({ name, help: name, labelNames: ['a', 'b'], registers: [registry] }).labels('x', 'y');
const [c1, c2, c3] = ['x_total', 'y_total', 'z_total'].map((n) => child(scratch, n));
report('for comparison: 3 cached prom-client counter children inc()', nsPerOp(() => { c1!.inc(); c2!.inc(); c3!.inc(); }));

const scrapes = Math.max(1, Math.floor(N / 5_000));
const start = process.cpuUsage();
for (let i = 0; i < scrapes; i++) await edge.registry.metrics();
const used = process.cpuUsage(start);
console.log(`${'edge: one scrape of /metrics (registry.metrics(), default metrics included)'.padEnd(72)} ${((used.user + used.system) / scrapes).toFixed(0).padStart(5)} us`);
