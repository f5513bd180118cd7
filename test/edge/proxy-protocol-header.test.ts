// The PROXY header reader on its own (the socket side is test/e2e/proxy-protocol.test.ts): the verdict
// for each form the spec defines and for the ways a header can be wrong, the same verdict however the
// bytes are split (fast-check), and no exception on any input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseProxyHeader, V1_MAX_BYTES, V2_MAX_PAYLOAD_BYTES } from '../../edge/proxy-protocol/header.js';
import { proxyV1, proxyV2, V2_SIGNATURE } from '../harness/proxy-protocol.js';

const TLS_CLIENT_HELLO = Buffer.from('160301020001', 'hex');

test('v1 and v2 headers give the client address and the header length; the bytes after it are not taken', () => {
  const cases: [Buffer, string | undefined][] = [
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 51234 443'), '203.0.113.7'],
    [proxyV1('TCP6 2001:DB8:0:0::7 2001:db8::1 51234 443'), '2001:db8::7'],
    [proxyV1('TCP6 ::ffff:203.0.113.7 ::1 0 65535'), '203.0.113.7'],
    [proxyV1('UNKNOWN'), undefined],
    [proxyV1('UNKNOWN whatever follows is ignored'), undefined],
    [proxyV2({ source: '198.51.100.20' }), '198.51.100.20'],
    [proxyV2({ source: '2001:db8::42' }), '2001:db8::42'],
    [proxyV2({ source: '198.51.100.20', tlvs: [{ type: 0x04, value: Buffer.alloc(0) }, { type: 0xee, value: Buffer.alloc(300, 1) }] }), '198.51.100.20'],
    [proxyV2({ command: 'LOCAL', source: '198.51.100.20' }), undefined],
    [proxyV2({ source: '198.51.100.20', familyProtocol: 0x00 }), undefined],
  ];
  for (const [header, source] of cases) {
    const verdict = parseProxyHeader(Buffer.concat([header, TLS_CLIENT_HELLO]));
    assert.deepEqual(verdict, { kind: 'header', length: header.length, source }, header.toString('latin1'));
  }
});

test('bytes that start like neither signature are no header; a strict prefix of one is incomplete', () => {
  assert.deepEqual(parseProxyHeader(TLS_CLIENT_HELLO), { kind: 'absent' });
  assert.deepEqual(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'absent' });
  assert.deepEqual(parseProxyHeader(Buffer.alloc(0)), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(V2_SIGNATURE.subarray(0, 7)), { kind: 'incomplete' });
});

test('each way a header can be wrong is refused, with a reason naming it', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 1 2\n'), /not ended by CRLF/],
    [Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 1 2\r\r\n'), /control or non-ASCII/],
    [Buffer.from('PROXY TCP4 203.0.113.7\t10.0.0.1 1 2\r\n'), /control or non-ASCII/],
    [Buffer.from('PROXY TCP4 203.0.113.\xe9 10.0.0.1 1 2\r\n', 'latin1'), /control or non-ASCII/],
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 1'), /3 fields/],
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 1 2 '), /5 fields/],
    [proxyV1('TCP4 2001:db8::1 10.0.0.1 1 2'), /not IPv4/],
    [proxyV1('TCP6 203.0.113.7 ::1 1 2'), /not IPv6/],
    [proxyV1('TCP6 fe80::1%eth0 ::1 1 2'), /not IPv6/],
    [proxyV1('TCP4 203.0.113.07 10.0.0.1 1 2'), /not IPv4/],
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 01 2'), /port/],
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 1 70000'), /port/],
    [proxyV1('TCP4 203.0.113.7 10.0.0.1 -1 2'), /port/],
    [proxyV1('tcp4 203.0.113.7 10.0.0.1 1 2'), /v1 protocol "tcp4"/],
    [Buffer.from('PROXY_TCP4'), /not "PROXY "/],
    [Buffer.from(`PROXY UNKNOWN ${'a'.repeat(V1_MAX_BYTES)}`), /longer than 107 bytes/],
    [Buffer.from(`PROXY UNKNOWN ${'a'.repeat(V1_MAX_BYTES - 15)}\r\n`), /longer than 107 bytes/],
    [proxyV2({ source: '203.0.113.7', versionCommand: 0x11 }), /version 1/],
    [proxyV2({ source: '203.0.113.7', versionCommand: 0x2f }), /command 15/],
    [proxyV2({ source: '203.0.113.7', familyProtocol: 0x12 }), /0x12 is not TCP/],
    [proxyV2({ source: '203.0.113.7', familyProtocol: 0x31 }), /0x31 is not TCP/],
    [proxyV2({ source: '203.0.113.7', familyProtocol: 0x13 }), /0x13 \(undefined/],
    [proxyV2({ source: '203.0.113.7', length: 11 }), /11 bytes of addresses/],
    [proxyV2({ source: '2001:db8::1', length: 35 }), /35 bytes of addresses/],
    [proxyV2({ source: '203.0.113.7', length: V2_MAX_PAYLOAD_BYTES + 1 }), /at most 2064 accepted/],
    [Buffer.concat([V2_SIGNATURE.subarray(0, 11), Buffer.from([0x0b])]), /not the v2 signature/],
  ];
  for (const [bytes, reason] of cases) {
    const verdict = parseProxyHeader(bytes);
    assert.equal(verdict.kind, 'invalid', `${bytes.toString('latin1')}: ${JSON.stringify(verdict)}`);
    assert.match((verdict as { reason: string }).reason, reason);
  }
  // The largest v1 line the spec allows (107 bytes with CRLF) is read; the bound is not off by one.
  const longest = Buffer.from(`PROXY UNKNOWN ${'a'.repeat(V1_MAX_BYTES - 16)}\r\n`);
  assert.equal(longest.length, V1_MAX_BYTES);
  assert.deepEqual(parseProxyHeader(longest), { kind: 'header', length: V1_MAX_BYTES, source: undefined });
});

const header = fc.oneof(
  fc.tuple(fc.ipV4(), fc.ipV4(), fc.nat(65_535), fc.nat(65_535)).map(([s, d, sp, dp]) => ({ bytes: proxyV1(`TCP4 ${s} ${d} ${sp} ${dp}`), source: s })),
  fc.tuple(fc.ipV4(), fc.uint8Array({ maxLength: 64 })).map(([s, tlv]) => ({ bytes: proxyV2({ source: s, tlvs: [{ type: 0xe0, value: Buffer.from(tlv) }] }), source: s })),
  fc.constant({ bytes: proxyV2({ command: 'LOCAL' }), source: undefined }),
);

test('property: however the header is split, every strict prefix is incomplete and the whole gives one verdict', () => {
  fc.assert(fc.property(header, ({ bytes, source }) => {
    for (let i = 1; i < bytes.length; i++) assert.equal(parseProxyHeader(bytes.subarray(0, i)).kind, 'incomplete', `prefix of ${i}`);
    assert.deepEqual(parseProxyHeader(Buffer.concat([bytes, TLS_CLIENT_HELLO])), { kind: 'header', length: bytes.length, source });
  }), { numRuns: 300 });
});

test('property: any bytes, after either signature or none, give a verdict and never throw', () => {
  const start = fc.constantFrom(Buffer.alloc(0), Buffer.from('PROXY '), Buffer.from('PROXY TCP4 '), Buffer.from('PROXY TCP6 '), V2_SIGNATURE, Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11])]));
  fc.assert(fc.property(start, fc.uint8Array({ maxLength: 300 }), (prefix, rest) => {
    const verdict = parseProxyHeader(Buffer.concat([prefix, Buffer.from(rest)]));
    assert.ok(['incomplete', 'absent', 'invalid', 'header'].includes(verdict.kind));
    if (verdict.kind === 'header') assert.ok(verdict.length <= prefix.length + rest.length);
  }), { numRuns: 2_000 });
});
