// The telemetry section: absent by default (no trace export), defaults filled
// when present, and its mistakes reported like any other field's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, ConfigError } from '../../config/load.js';

const BASE = `
router:
  listen: { port: 9080 }
  admin: { port: 9081 }
routes: []
identity:
  keys: [{ id: k1, secret: 0123456789abcdef0123456789abcdef }]
`;

test('without a telemetry section nothing is exported; a bare otlp endpoint gets the documented defaults', () => {
  assert.equal(parseConfig(BASE, 'x.yaml').telemetry, undefined);
  const c = parseConfig(`${BASE}telemetry:\n  otlp: { endpoint: "http://127.0.0.1:4318/v1/traces" }\n`, 'x.yaml');
  assert.deepEqual(c.telemetry, { otlp: { endpoint: 'http://127.0.0.1:4318/v1/traces', headers: {}, timeoutMs: 10_000, sampleRatio: 1, maxQueueSize: 2048 } });
});

test('a telemetry section without an endpoint or with a ratio above 1 is refused, naming both fields', () => {
  try {
    parseConfig(`${BASE}telemetry:\n  otlp: { sampleRatio: 2 }\n`, 'gatehouse.yaml');
    assert.fail('expected the config to be refused');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    const all = err.problems.join('\n');
    assert.match(all, /line 9:9: telemetry\.otlp\.endpoint: is required but missing/);
    assert.match(all, /line 9:24: telemetry\.otlp\.sampleRatio: expected .*must be <= 1.*, found 2/);
  }
});
