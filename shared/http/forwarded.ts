// X-Forwarded-* for one hop. A peer's forwarding headers are believed only
// when the peer is in the configured trusted-proxy list (CIDRs, never a hop
// count); the client address is then the rightmost untrusted entry.
import { isIP } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { IncomingHttpHeaders } from 'node:http';

/** One entry of a trusted-peer list; config/cross-check.ts compiles each at load to report the ones proxy-addr refuses. */
export { CidrSchema } from './cidr-schema.js';

export type TrustFn = (address: string, hop: number) => boolean;

export function compileTrust(cidrs: readonly string[]): TrustFn {
  if (cidrs.length === 0) return () => false;
  const trust = proxyAddr.compile([...cidrs]);
  // proxy-addr parses the address on every call (about 6 us a request in a profile, called for the
  // request id and X-Forwarded-For alike); a peer's trust depends only on its address, and a tier
  // sees few distinct peers, so answers are remembered, forgetting them all at a bound.
  const known = new Map<string, boolean>();
  return (address) => {
    let trusted = known.get(address);
    if (trusted === undefined) {
      if (known.size >= TRUST_MEMO_LIMIT) known.clear();
      trusted = trust(address, 0);
      known.set(address, trusted);
    }
    return trusted;
  };
}

const TRUST_MEMO_LIMIT = 4096;

export interface Forwarded {
  readonly clientIp: string;
  readonly xForwardedFor: string;
  readonly proto: string;
  readonly host: string;
  /** True when the peer is a trusted proxy, so its X-Request-Id and similar may be kept. */
  readonly trustedPeer: boolean;
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** host or host:port in plain syntax: safe to echo into a header or a Location. */
export function isValidHost(value: string): boolean {
  return HOST.test(value);
}

/** Strips the IPv4-mapped prefix so logs, CIDR checks and rate-limit keys see one form per address. */
export function plainAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export function forwardedFor(peer: string, headers: IncomingHttpHeaders, scheme: string, authority: string, trust: TrustFn): Forwarded {
  const trustedPeer = trust(peer, 0);
  if (!trustedPeer) {
    return { clientIp: peer, xForwardedFor: peer, proto: scheme, host: authority, trustedPeer };
  }
  const chain = parseChain(headers['x-forwarded-for']);
  let clientIp = peer;
  if (chain) {
    // Walk right to left past trusted hops; the first untrusted address is the client.
    for (let i = chain.length - 1, hop = 1; i >= 0; i--, hop++) {
      clientIp = chain[i]!;
      if (!trust(clientIp, hop)) break;
    }
  }
  const proto = headerValue(headers['x-forwarded-proto']);
  const host = headerValue(headers['x-forwarded-host']);
  return {
    clientIp,
    xForwardedFor: chain ? `${chain.join(', ')}, ${peer}` : peer,
    proto: proto === 'https' || proto === 'http' ? proto : scheme,
    host: host !== undefined && isValidHost(host) ? host : authority,
    trustedPeer,
  };
}

/** A garbled chain is dropped whole: one bad entry means the list cannot be believed. */
function parseChain(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text.length > 2048) return undefined;
  const parts = text.split(',');
  for (let i = 0; i < parts.length; i++) {
    const p = plainAddress(parts[i]!.trim());
    if (isIP(p) === 0) return undefined;
    parts[i] = p;
  }
  return parts;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0]! : value).split(',')[0]!.trim();
}
