// Reads a PROXY protocol header (HAProxy's spec, v1 text and v2 binary) from
// the first bytes of a connection: bytes in, a verdict out, strictly. Whether
// the peer may send one at all is the listener's decision (listener.ts), never this.
import { isIP, SocketAddress } from 'node:net';
import { plainAddress } from '../../shared/http/forwarded.js';

export type HeaderVerdict =
  | { readonly kind: 'incomplete' }
  /** The bytes begin with neither signature (a TLS ClientHello does): there is no header. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly reason: string }
  /** length: bytes the header takes; source undefined: LOCAL, UNKNOWN or UNSPEC, the peer speaks for itself. */
  | { readonly kind: 'header'; readonly length: number; readonly source: string | undefined };

const INCOMPLETE: HeaderVerdict = { kind: 'incomplete' };
const ABSENT: HeaderVerdict = { kind: 'absent' };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's bound: "PROXY TCP6 " + two longest IPv6 addresses + two ports + CRLF. */
export const V1_MAX_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
/**
 * Addresses (at most 216 bytes, for AF_UNIX) plus TLVs, which are skipped. Cloud balancers send a few
 * dozen bytes of TLVs (AWS's VPC endpoint id, GCP's PSC connection id); past this the header is refused
 * rather than buffered.
 */
export const V2_MAX_PAYLOAD_BYTES = 2_048;

export function parseProxyHeader(bytes: Buffer): HeaderVerdict {
  // The first byte decides which signature the rest must match; a mismatch after it is a broken header.
  if (bytes.length === 0) return INCOMPLETE;
  if (bytes[0] === V2_SIGNATURE[0]) return matches(bytes, V2_SIGNATURE) ? parseV2(bytes) : invalid('bytes that are not the v2 signature');
  if (bytes[0] === V1_PREFIX[0]) return matches(bytes, V1_PREFIX) ? parseV1(bytes) : invalid('bytes that are not "PROXY "');
  return ABSENT;
}

/** True while the bytes so far agree with the signature (all of it, or as much as has arrived). */
function matches(bytes: Buffer, signature: Buffer): boolean {
  const n = Math.min(bytes.length, signature.length);
  return bytes.compare(signature, 0, n, 0, n) === 0;
}

function invalid(reason: string): HeaderVerdict {
  return { kind: 'invalid', reason };
}

function header(length: number, source: string | undefined): HeaderVerdict {
  return { kind: 'header', length, source };
}

// v1: "PROXY TCP4 src dst sport dport\r\n", "PROXY TCP6 ...", or "PROXY UNKNOWN[ anything]\r\n".
function parseV1(bytes: Buffer): HeaderVerdict {
  if (bytes.length < V1_PREFIX.length) return INCOMPLETE;
  const lf = bytes.subarray(0, V1_MAX_BYTES).indexOf(0x0a);
  if (lf === -1) return bytes.length >= V1_MAX_BYTES ? invalid(`v1 line longer than ${V1_MAX_BYTES} bytes`) : INCOMPLETE;
  if (bytes[lf - 1] !== 0x0d) return invalid('v1 line not ended by CRLF');
  for (let i = V1_PREFIX.length; i < lf - 1; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e) return invalid('v1 line with a control or non-ASCII byte');
  }
  const fields = bytes.toString('latin1', V1_PREFIX.length, lf - 1).split(' ');
  const length = lf + 1;
  const protocol = fields[0];
  // The spec: after UNKNOWN the receiver ignores the rest of the line and uses the real connection's addresses.
  if (protocol === 'UNKNOWN') return header(length, undefined);
  const family = protocol === 'TCP4' ? 4 : protocol === 'TCP6' ? 6 : 0;
  if (family === 0) return invalid(`v1 protocol ${JSON.stringify(protocol!.slice(0, 16))} (expected TCP4, TCP6 or UNKNOWN)`);
  if (fields.length !== 5) return invalid(`v1 ${protocol} with ${fields.length - 1} fields separated by single spaces (expected 4)`);
  const [, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string];
  // isIP takes an IPv6 zone (fe80::1%eth0), which names an interface of the sender's host, not a client.
  if (isIP(source) !== family || isIP(destination) !== family || source.includes('%') || destination.includes('%')) return invalid(`v1 ${protocol} address that is not IPv${family}`);
  if (!isPort(sourcePort) || !isPort(destinationPort)) return invalid('v1 port that is not 0-65535 in plain decimal');
  return header(length, family === 4 ? source : canonicalIpv6(source));
}

const PORT = /^(0|[1-9][0-9]{0,4})$/;

function isPort(text: string): boolean {
  return PORT.test(text) && Number(text) <= 65_535;
}

// v2: signature, version and command, family and protocol, payload length, then addresses and TLVs.
const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const TCP_OVER_IPV4 = 0x11;
const TCP_OVER_IPV6 = 0x21;
const UNSPEC = 0x00;
/** UDP over IPv4 or IPv6, and AF_UNIX stream or datagram: defined by the spec, but not what reaches a TCP listener. */
const NOT_TCP = new Set([0x12, 0x22, 0x31, 0x32]);

function parseV2(bytes: Buffer): HeaderVerdict {
  if (bytes.length < V2_FIXED_BYTES) return INCOMPLETE;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) return invalid(`v2 version ${versionCommand >> 4} (expected 2)`);
  const command = versionCommand & 0x0f;
  if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) return invalid(`v2 command ${command} (expected LOCAL or PROXY)`);
  const familyProtocol = bytes[13]!;
  const payload = bytes.readUInt16BE(14);
  if (payload > V2_MAX_PAYLOAD_BYTES) return invalid(`v2 header of ${V2_FIXED_BYTES + payload} bytes (at most ${V2_FIXED_BYTES + V2_MAX_PAYLOAD_BYTES} accepted)`);
  if (bytes.length < V2_FIXED_BYTES + payload) return INCOMPLETE;
  const length = V2_FIXED_BYTES + payload;
  // LOCAL: the balancer's own connection (a health check); its address block, if any, means nothing.
  if (command === COMMAND_LOCAL) return header(length, undefined);
  if (familyProtocol === TCP_OVER_IPV4) {
    if (payload < 12) return invalid(`v2 TCP over IPv4 with ${payload} bytes of addresses (expected at least 12)`);
    return header(length, `${bytes[16]}.${bytes[17]}.${bytes[18]}.${bytes[19]}`);
  }
  if (familyProtocol === TCP_OVER_IPV6) {
    if (payload < 36) return invalid(`v2 TCP over IPv6 with ${payload} bytes of addresses (expected at least 36)`);
    return header(length, ipv6At(bytes, 16));
  }
  // The spec: UNSPEC is a connection the sender could not describe; the receiver uses the real addresses.
  if (familyProtocol === UNSPEC) return header(length, undefined);
  const hex = `0x${familyProtocol.toString(16).padStart(2, '0')}`;
  return invalid(NOT_TCP.has(familyProtocol) ? `v2 family/protocol ${hex} is not TCP` : `v2 family/protocol ${hex} (undefined by the spec)`);
}

function ipv6At(bytes: Buffer, offset: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(offset + i).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** One spelling per address (2001:db8::1, never 2001:DB8:0::1), and IPv4-mapped as IPv4, so rate-limit keys agree. */
function canonicalIpv6(text: string): string {
  return plainAddress(new SocketAddress({ address: text, family: 'ipv6' }).address);
}
