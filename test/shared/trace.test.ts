// W3C trace context: continue what is valid, restart what is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { continueTrace, traceparentOf } from '../../shared/trace.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

test('a valid traceparent is continued with a new span id and tracestate kept', () => {
  const ctx = continueTrace(`00-${TRACE}-00f067aa0ba902b7-01`, 'a=1,b=2');
  assert.equal(ctx.traceId, TRACE);
  assert.equal(ctx.parentSpanId, '00f067aa0ba902b7');
  assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(ctx.spanId, '00f067aa0ba902b7');
  assert.equal(ctx.tracestate, 'a=1,b=2');
  assert.equal(traceparentOf(ctx), `00-${TRACE}-${ctx.spanId}-01`);
});

test('an invalid traceparent starts a new trace and drops tracestate', () => {
  for (const bad of [undefined, 'garbage', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `ff-${TRACE}-00f067aa0ba902b7-01`, `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`, `00-${TRACE}-00f067aa0ba902b7-01-extra`]) {
    const ctx = continueTrace(bad, 'a=1');
    assert.notEqual(ctx.traceId, TRACE, String(bad));
    assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
    assert.equal(ctx.parentSpanId, undefined);
    assert.equal(ctx.tracestate, undefined);
  }
});

test('a future version with extra fields is accepted; oversized tracestate is dropped', () => {
  assert.equal(continueTrace(`01-${TRACE}-00f067aa0ba902b7-01-future`, undefined).traceId, TRACE);
  const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
  assert.equal(continueTrace(`00-${TRACE}-00f067aa0ba902b7-01`, members).tracestate, undefined);
  assert.equal(continueTrace(`00-${TRACE}-00f067aa0ba902b7-01`, `a=${'x'.repeat(600)}`).tracestate, undefined);
});

test('ids are unique across many requests', () => {
  const ids = new Set(Array.from({ length: 5000 }, () => continueTrace(undefined, undefined).traceId));
  assert.equal(ids.size, 5000);
});
