// The service's pending-request limit (circuitBreaker.maxConnections and
// maxPending), counted per instance origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionQueue } from '../../shared/resilience/connection-queue.js';

const A = 'http://10.0.0.1:80', B = 'http://10.0.0.2:80';

test('attempts beyond an instance\'s connections wait, up to maxPending across the service; then only an instance with a free connection admits', () => {
  const q = new ConnectionQueue(2, 1);
  q.start(A); q.start(A);
  assert.equal(q.pending, 0);
  assert.ok(q.admits(A), 'room to wait');
  q.start(A);
  assert.equal(q.pending, 1);
  assert.ok(!q.admits(A), 'A is busy and the queue is full');
  assert.ok(q.admits(B), 'B has a free connection: no wait');
  q.start(B);
  assert.equal(q.pending, 1);
  q.finish(A);
  assert.equal(q.pending, 0, 'the waiting attempt got the freed connection');
  assert.ok(q.admits(A));
});

test('maxPending 0 refuses any attempt that would wait, and counts return to zero', () => {
  const q = new ConnectionQueue(1, 0);
  assert.ok(q.admits(A));
  q.start(A);
  assert.ok(!q.admits(A));
  q.finish(A);
  assert.ok(q.admits(A));
  assert.equal(q.pending, 0);
});

test('idle origins are forgotten when the instances change; busy ones keep their count', () => {
  const q = new ConnectionQueue(1, 0);
  q.start(A); q.start(B); q.finish(B);
  q.forgetIdle();
  assert.ok(!q.admits(A), 'A still has its request in flight');
  assert.ok(q.admits(B));
  q.finish(A);
  assert.ok(q.admits(A));
  assert.equal(q.pending, 0);
});

test('an end without a start seen (counters forgotten) undoes nothing', () => {
  const q = new ConnectionQueue(1, 1);
  q.finish(A);
  q.start(A); q.start(A);
  assert.equal(q.pending, 1, 'the second attempt waits for the one connection');
});
