// Request ids: UUID version 4 text, as randomUUID makes, each new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId, isValidRequestId } from '../../shared/ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('new request ids are version-4 UUIDs, distinct across several pool refills, and valid to forward', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const id = newRequestId();
    assert.match(id, UUID_V4);
    assert.ok(isValidRequestId(id));
    seen.add(id);
  }
  assert.equal(seen.size, 2_000);
});

test('every hex digit of a request id varies (no byte is stuck)', () => {
  const ids = Array.from({ length: 500 }, () => newRequestId());
  for (let at = 0; at < 36; at++) {
    if (at === 8 || at === 13 || at === 18 || at === 23 || at === 14) continue; // dashes and the version digit
    assert.ok(new Set(ids.map((id) => id[at])).size > 2, `position ${at} varies`);
  }
});
