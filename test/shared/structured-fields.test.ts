// The structured-field serializer (RFC 9651) on its own: the RFC's own examples, every character that
// once made an identity header ambiguous, and a property test that any string comes back exactly
// through a strict parser written from the RFC (test/harness/structured-fields.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serializeDisplayString, serializeString, serializeStringList } from '../../shared/http/structured-fields.js';
import { parseSfItem, parseSfList } from '../harness/structured-fields.js';

const ALL_PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';

test('RFC 9651 examples: a String and a Display String serialize as the RFC writes them', () => {
  assert.equal(serializeString('hello world'), '"hello world"'); // section 3.3.3
  assert.equal(serializeString('This is intended for display to \u00fcsers.'), '%"This is intended for display to %c3%bcsers."'); // section 3.3.8
  assert.equal(serializeString('f\u00fc\u00fc'), '%"f%c3%bc%c3%bc"', 'hex digits in lower case');
});

test('a String escapes only backslash and double quote; a Display String percent-encodes only %, " and non-printable bytes', () => {
  assert.equal(serializeString(ALL_PRINTABLE), `"${ALL_PRINTABLE.replace(/[\\"]/g, '\\$&')}"`);
  assert.equal(serializeString('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
  // The HTTP WG test suite's "all printable ascii" Display String.
  assert.equal(serializeDisplayString(ALL_PRINTABLE), `%" !%22#$%25&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_\`abcdefghijklmnopqrstuvwxyz{|}~"`);
  assert.equal(serializeString(''), '""');
});

test('values that were ambiguous as raw header text each have one reading', () => {
  assert.equal(serializeString('%61dmin'), '"%61dmin"', 'a literal % stays literal: no decoder turns it into admin');
  assert.deepEqual(parseSfItem(serializeString('%61dmin')), { type: 'string', value: '%61dmin' });
  assert.equal(serializeString('alice\r\nx-admin: 1'), '%"alice%0d%0ax-admin: 1"', 'CR and LF never reach the header line');
  assert.equal(serializeString('a\x7fb\x00'), '%"a%7fb%00"');
  assert.equal(serializeString('Jos\u00e9 \u65e5\u672c'), '%"Jos%c3%a9 %e6%97%a5%e6%9c%ac"');
  assert.equal(serializeStringList(['read admin', 'a,b', '"q"']), '"read admin", "a,b", "\\"q\\""');
  assert.deepEqual(parseSfList('"read admin", "a,b", "\\"q\\""').map((m) => m.value), ['read admin', 'a,b', '"q"'], 'one role with a space is one role');
});

test('an empty list is not serialized at all (RFC 9651 section 4.1): the field is left out', () => {
  assert.equal(serializeStringList([]), undefined);
  assert.equal(serializeStringList(['']), '""', 'a list holding one empty string is not an empty list');
});

test('a string that is not Unicode text (a lone surrogate) fails instead of becoming U+FFFD', () => {
  assert.throws(() => serializeString('a\ud800'), TypeError);
  assert.throws(() => serializeString('\udc00b'), TypeError);
  assert.equal(serializeString('\ud83d\ude00'), '%"%f0%9f%98%80"', 'a surrogate pair is one code point');
});

test('any string and any list of strings come back exactly through a strict RFC 9651 parser, in printable ASCII', () => {
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  fc.assert(fc.property(text, (s) => {
    const field = serializeString(s);
    assert.match(field, /^[\x20-\x7e]*$/);
    assert.equal(parseSfItem(field).value, s);
  }), { numRuns: 2_000 });
  fc.assert(fc.property(fc.array(text, { minLength: 1, maxLength: 6 }), (list) => {
    assert.deepEqual(parseSfList(serializeStringList(list)!).map((m) => m.value), list);
  }), { numRuns: 1_000 });
});
