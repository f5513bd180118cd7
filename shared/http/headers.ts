// Builds the header set a hop sends upstream and the one it returns to the
// client. Hop-by-hop headers, anything named in Connection, HTTP/2 pseudo
// headers and the headers the gateway owns are dropped first; the gateway's
// own values are added after, so a client can neither spoof nor strip them.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'host', 'proxy',
]);

/** The identity namespace: only the gateway writes these, every hop drops what it received. */
export const IDENTITY_PREFIX = 'x-gatehouse-';

/** Set by the gateway on every hop; a client's copy is never passed on as-is. */
const GATEWAY_OWNED = new Set([
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-prefix',
  'forwarded', 'x-real-ip', 'x-request-id', 'traceparent', 'tracestate',
]);

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) tokens.add(name);
  }
  return tokens;
}

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    if (name.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || name.startsWith(IDENTITY_PREFIX)) continue;
    if (listed?.has(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  // Only "trailers" may pass in TE (RFC 9110 7.6.1); gRPC needs it.
  if (incoming.te !== undefined && /(^|,)\s*trailers\s*(;|,|$)/i.test(String(incoming.te))) out.te = 'trailers';
  return out;
}

export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>): OutgoingHttpHeaders {
  const listed = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

