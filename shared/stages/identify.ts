// Stage: who is asking and in which trace. Continues or starts the W3C trace
// and works out X-Forwarded-* for this hop, believing a peer's values only
// when the peer is a trusted proxy.
import type { Stage } from '../exchange.js';
import { continueTrace } from '../trace.js';
import { forwardedFor, type TrustFn } from '../http/forwarded.js';
import { peerAddress } from '../http/peer-address.js';

export function identify(trust: TrustFn, scheme: 'http' | 'https'): Stage {
  return (ex, request) => {
    const headers = request.headers;
    ex.authority = (headers[':authority'] as string | undefined) ?? headers.host ?? '';
    ex.forwarded = forwardedFor(peerAddress(request.raw.socket), headers, scheme, ex.authority, trust);
    ex.trace = continueTrace(
      one(headers.traceparent),
      one(headers.tracestate),
    );
  };
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}
