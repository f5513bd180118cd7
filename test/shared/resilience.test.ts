// The router's resilience blocks against a fake clock: outlier ejection and
// its back-off, the circuit breaker's states (one circuit per instance), the
// retry budget and the rule for which failures may be retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../../shared/discovery/instance.js';
import { OutlierDetector } from '../../shared/resilience/outlier-detection.js';
import { CircuitBreaker, InstanceBreakers } from '../../shared/resilience/circuit-breaker.js';
import { RetryBudget, isRetryable, type RetryFailure } from '../../shared/resilience/retry-budget.js';

type Clock = { t: number; now: () => number };
function clock(): Clock { const c: Clock = { t: 1_000_000, now: () => c.t }; return c; }

const instance = (id: string): Instance => ({ id, origin: `http://${id}:80`, authority: `${id}:80`, weight: 1, meta: {} });
const list = (...ids: string[]): readonly Instance[] => Object.freeze(ids.map(instance));
const ids = (xs: readonly Instance[]) => xs.map((i) => i.id);

const outlier = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 8_000, maxEjectedPercent: 50 };
const fail = (d: OutlierDetector, id: string, n: number) => { for (let i = 0; i < n; i++) d.onResult(id, false); };

test('an instance is ejected after the configured failures in a row, not before', () => {
  const d = new OutlierDetector(outlier, clock().now);
  fail(d, 'a', 2);
  assert.equal(d.isEjected('a'), false);
  fail(d, 'a', 1);
  assert.equal(d.isEjected('a'), true);
  assert.deepEqual(ids(d.filter(list('a', 'b', 'c'))), ['b', 'c']);
});

test('a success resets the consecutive failure count', () => {
  const d = new OutlierDetector(outlier, clock().now);
  fail(d, 'a', 2);
  d.onResult('a', true);
  fail(d, 'a', 2);
  assert.equal(d.isEjected('a'), false);
});

test('an ejected instance is back once its ejection time has passed', () => {
  const c = clock();
  const d = new OutlierDetector(outlier, c.now);
  const all = list('a', 'b');
  fail(d, 'a', 3);
  c.t += 999;
  assert.deepEqual(ids(d.filter(all)), ['b']);
  c.t += 1;
  assert.equal(d.isEjected('a'), false);
  assert.equal(d.filter(all), all);
});

test('each repeat ejection lasts twice as long, up to the maximum', () => {
  const c = clock();
  const d = new OutlierDetector(outlier, c.now);
  const seen = [];
  for (let i = 0; i < 6; i++) {
    fail(d, 'a', 3);
    const [e] = d.status().ejected;
    seen.push([e!.untilMs - c.t, e!.times]);
    c.t = e!.untilMs;
  }
  assert.deepEqual(seen, [[1_000, 1], [2_000, 2], [4_000, 3], [8_000, 4], [8_000, 5], [8_000, 6]]);
});

test('the back-off starts over once an instance has stayed healthy for the maximum ejection time', () => {
  const c = clock();
  const d = new OutlierDetector(outlier, c.now);
  fail(d, 'a', 3);
  c.t += 1_000;
  fail(d, 'a', 3);
  assert.equal(d.status().ejected[0]!.untilMs - c.t, 2_000);
  c.t += 2_000 + 8_000;
  fail(d, 'a', 3);
  assert.deepEqual(d.status().ejected, [{ id: 'a', untilMs: c.t + 1_000, times: 1 }]);
});

test('when more than maxEjectedPercent are ejected, every instance is tried (panic mode)', () => {
  const d = new OutlierDetector(outlier, clock().now);
  const all = list('a', 'b', 'c', 'd');
  fail(d, 'a', 3); fail(d, 'b', 3);
  assert.deepEqual(ids(d.filter(all)), ['c', 'd']);
  fail(d, 'c', 3);
  assert.equal(d.filter(all), all);
});

test('filter hands back the same array when nothing is ejected, and caches the filtered one', () => {
  const d = new OutlierDetector(outlier, clock().now);
  const all = list('a', 'b', 'c');
  assert.equal(d.filter(all), all);
  fail(d, 'a', 2);
  assert.equal(d.filter(all), all);
  fail(d, 'a', 1);
  const filtered = d.filter(all);
  assert.deepEqual(ids(filtered), ['b', 'c']);
  assert.equal(d.filter(all), filtered);
});

const breaker = { maxConcurrent: 1024, maxConnections: 256, maxPending: 1024, failureThreshold: 50, minimumRequests: 10, windowMs: 10_000, openMs: 5_000, halfOpenRequests: 2 };
function outcomes(b: CircuitBreaker, ok: number, failed: number) {
  for (let i = 0; i < ok + failed; i++) { assert.equal(b.tryAcquire(), 'ok'); b.release(i < ok); }
}

test('the circuit stays closed below minimumRequests however many fail', () => {
  const b = new CircuitBreaker(breaker, clock().now);
  outcomes(b, 0, 9);
  assert.equal(b.state(), 'closed');
});

test('the circuit opens once the failure percentage is reached over minimumRequests, and then refuses', () => {
  const below = new CircuitBreaker(breaker, clock().now);
  outcomes(below, 6, 4);
  assert.equal(below.state(), 'closed', '4 failures in 10 is below 50%');
  const b = new CircuitBreaker(breaker, clock().now);
  outcomes(b, 5, 4);
  assert.equal(b.state(), 'closed', 'only 9 requests so far');
  outcomes(b, 0, 1);
  assert.equal(b.state(), 'open', '5 failures in 10 is 50%');
  assert.equal(b.tryAcquire(), 'open');
});

test('failures that slid out of the window no longer count', () => {
  const c = clock();
  const b = new CircuitBreaker(breaker, c.now);
  outcomes(b, 0, 9);
  c.t += 10_000;
  outcomes(b, 1, 0);
  assert.equal(b.state(), 'closed');
  assert.equal(b.status().windowRequests, 1);
});

function tripped(c: Clock) {
  const b = new CircuitBreaker(breaker, c.now);
  outcomes(b, 0, 10);
  assert.equal(b.state(), 'open');
  return b;
}

test('after openMs the circuit is half-open and admits only halfOpenRequests probes at once', () => {
  const c = clock();
  const b = tripped(c);
  c.t += 4_999;
  assert.equal(b.tryAcquire(), 'open');
  c.t += 1;
  assert.equal(b.state(), 'half-open');
  assert.deepEqual([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()], ['ok', 'ok', 'open']);
});

test('halfOpenRequests successful probes close the circuit', () => {
  const c = clock();
  const b = tripped(c);
  c.t += 5_000;
  b.tryAcquire(); b.tryAcquire();
  b.release(true);
  assert.equal(b.state(), 'half-open');
  b.release(true);
  assert.equal(b.state(), 'closed');
  assert.equal(b.tryAcquire(), 'ok');
});

test('a failed probe opens the circuit again for openMs', () => {
  const c = clock();
  const b = tripped(c);
  c.t += 5_000;
  b.tryAcquire();
  b.release(false);
  assert.equal(b.state(), 'open');
  c.t += 4_999;
  assert.equal(b.tryAcquire(), 'open');
  c.t += 1;
  assert.equal(b.tryAcquire(), 'ok');
});

test('requests beyond maxConcurrent in flight are refused as overloaded until one ends', () => {
  const b = new CircuitBreaker({ ...breaker, maxConcurrent: 2 }, clock().now);
  assert.deepEqual([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()], ['ok', 'ok', 'overloaded']);
  b.release(true);
  assert.equal(b.tryAcquire(), 'ok');
  assert.equal(b.status().inFlight, 2);
});

test('an outcome that says nothing about the instance frees its slot, and a probe\'s, without counting', () => {
  const one = new CircuitBreaker({ ...breaker, maxConcurrent: 1 }, clock().now);
  for (let i = 0; i < 20; i++) { assert.equal(one.tryAcquire(), 'ok'); one.release(undefined); }
  assert.deepEqual([one.state(), one.status().windowRequests], ['closed', 0]);
  const c = clock();
  const b = tripped(c);
  c.t += 5_000;
  assert.deepEqual([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()], ['ok', 'ok', 'open']);
  b.release(undefined);
  assert.deepEqual([b.state(), b.status().probeSuccesses, b.tryAcquire()], ['half-open', 0, 'ok'], 'the probe\'s slot went to another probe');
});

test('each instance has its own circuit; maxConcurrent holds for the service as a whole', () => {
  const c = clock();
  const b = new InstanceBreakers({ ...breaker, maxConcurrent: 3 }, c.now);
  for (let i = 0; i < 10; i++) { assert.equal(b.tryAcquire('a'), 'ok'); b.release('a', false); }
  assert.deepEqual([b.tryAcquire('a'), b.notClosed()], ['open', ['a']]);
  assert.deepEqual([b.tryAcquire('b'), b.tryAcquire('b'), b.tryAcquire('c'), b.tryAcquire('c')], ['ok', 'ok', 'ok', 'overloaded']);
  b.release('b', true);
  assert.equal(b.tryAcquire('c'), 'ok');
  b.forgetAbsent(list('b', 'c'));
  assert.deepEqual([b.notClosed(), b.tryAcquire('a')], [[], 'overloaded'], 'a forgotten, the service still full');
});

const retry = { attempts: 2, budgetPercent: 20, minRetriesPerSecond: 3, retryOn: ['connect-failure', 'reset', 'status-503'] as RetryFailure[] };
function retriesAllowed(r: RetryBudget): number {
  let n = 0;
  while (n < 1_000 && r.tryRetry()) n++;
  return n;
}

test('with little traffic the budget still allows minRetriesPerSecond', () => {
  const r = new RetryBudget(retry, clock().now);
  for (let i = 0; i < 5; i++) r.onRequest();
  assert.equal(retriesAllowed(r), 3);
});

test('with heavy traffic retries are held to budgetPercent of requests', () => {
  const r = new RetryBudget(retry, clock().now);
  for (let i = 0; i < 100; i++) r.onRequest();
  assert.equal(retriesAllowed(r), 20);
});

test('the budget refills as the last second slides on', () => {
  const c = clock();
  const r = new RetryBudget(retry, c.now);
  assert.equal(retriesAllowed(r), 3);
  c.t += 500;
  assert.equal(r.tryRetry(), false);
  c.t += 500;
  assert.equal(retriesAllowed(r), 3);
});

test('which failures may be retried', () => {
  const listed = retry.retryOn;
  assert.equal(isRetryable('POST', 'connect-failure', listed, false), true, 'nothing reached the backend');
  assert.equal(isRetryable('POST', 'status-503', listed, false), false, 'POST is not idempotent');
  assert.equal(isRetryable('GET', 'status-503', listed, false), true);
  assert.equal(isRetryable('PUT', 'reset', listed, false), true);
  assert.equal(isRetryable('GET', 'reset', listed, true), false, 'a streamed body cannot be replayed');
  assert.equal(isRetryable('GET', 'status-504', listed, false), false, '504 is not listed');
  assert.equal(isRetryable('GET', 'status-504', [...listed, 'status-504'], false), true);
  assert.equal(isRetryable('POST', 'connect-failure', ['status-503'], false), false, 'connect-failure not listed');
});
