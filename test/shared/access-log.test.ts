// The hand-serialized access line: the same record pino would write for the
// same fields, valid JSON whatever the client sent, and no query string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lines } from '../harness/logs.js';
import type { IncomingMessage } from 'node:http';
import { createLogger } from '../../shared/log.js';
import { logAccess, isoNow } from '../../shared/access-log.js';
import { Exchange } from '../../shared/exchange.js';
import { continueTrace } from '../../shared/trace.js';

const rawRequest = (url: string) => ({ method: 'GET', url, socket: { remoteAddress: '::ffff:192.0.2.7' } }) as unknown as IncomingMessage;

test('isoNow formats exactly like Date#toISOString, across minutes and around a clock step back', () => {
  const start = Date.UTC(2026, 11, 31, 23, 58, 59, 995);
  for (let t = start; t < start + 70_000; t += 997) assert.equal(isoNow(t), new Date(t).toISOString());
  for (const t of [start + 5, start - 3_600_000, Date.UTC(2027, 0, 1, 0, 0, 0, 0), Date.UTC(2026, 0, 1, 0, 0, 9, 9)]) assert.equal(isoNow(t), new Date(t).toISOString());
});

test('the access line has the fields and order pino gives the same object, and survives hostile values', () => {
  const out = new Lines();
  const log = createLogger('edge', 'info', out);
  const ex = new Exchange('req-1');
  ex.trace = continueTrace('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', undefined);
  ex.path = '/orders/"quoted"\n\u0000';
  ex.service = 'orders';
  ex.upstream = 'http://127.0.0.1:1';
  ex.identity = { consumer: 'acme "the" \\ consumer', method: 'jwt', scopes: [], roles: [], claims: {} };
  ex.authDetail = { issuer: 'https://idp/' };
  ex.retries = 1;
  ex.reason = 'upstream said \u2028 no';
  logAccess(log, ex, rawRequest('/orders?token=secret'), 502, 0, 'completed');
  log.info({ event: 'access', requestId: 'req-1', traceId: ex.trace.traceId, spanId: ex.trace.spanId, parentSpanId: ex.trace.parentSpanId, method: 'GET', path: ex.path, route: undefined, service: 'orders', upstream: ex.upstream, status: 502, outcome: 'completed', bytesOut: 0, durationMs: 0, client: '192.0.2.7', consumer: ex.identity.consumer, authMethod: 'jwt', auth: ex.authDetail, retries: 1, reason: ex.reason });
  log.flush();
  assert.equal(out.lines.length, 2);
  const ours = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  const pinos = JSON.parse(out.lines[1]!) as Record<string, unknown>;
  assert.ok(typeof ours.durationMs === 'number' && ours.durationMs >= 0);
  assert.match(String(ours.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(Object.keys(ours), Object.keys(pinos));
  assert.deepEqual({ ...ours, time: 0, durationMs: 0 }, { ...pinos, time: 0, durationMs: 0 });
});

test('a request refused before its path was normalised is logged without its query', () => {
  const out = new Lines();
  const log = createLogger('router', 'info', out);
  logAccess(log, new Exchange('req-2'), rawRequest('/login?password=hunter2'), 404, 10, 'completed');
  log.flush();
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  assert.equal(line.path, '/login');
  assert.equal(line.bytesOut, 10);
  assert.equal(line.client, '192.0.2.7');
  assert.equal(line.tier, 'router');
  assert.doesNotMatch(out.lines[0]!, /hunter2/);
});

test('no access line below the configured level', () => {
  const out = new Lines();
  logAccess(createLogger('edge', 'warn', out), new Exchange('req-3'), rawRequest('/'), 200, 0, 'completed');
  assert.equal(out.lines.length, 0);
});

test('a line for an exchange that broke off: no status when none was sent, the outcome, and why it broke off before any earlier reason', () => {
  const out = new Lines();
  const log = createLogger('edge', 'info', out);
  const ex = new Exchange('req-4');
  ex.reason = 'upstream_timeout';
  ex.breakOff('client-aborted', 'client closed the stream (RST_STREAM CANCEL)');
  ex.breakOff('upstream-aborted', 'upstream reset'); // the first cause wins
  logAccess(log, ex, rawRequest('/'), 0, 0, ex.aborted!);
  log.flush();
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  assert.equal('status' in line, false);
  assert.equal(line.outcome, 'client-aborted');
  assert.equal(line.reason, 'client closed the stream (RST_STREAM CANCEL)');
  assert.equal(line.bytesOut, 0);
});
