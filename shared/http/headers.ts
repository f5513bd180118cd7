// Builds the header set a hop sends upstream and the one it returns to the
// client. Hop-by-hop headers, anything named in Connection, HTTP/2 pseudo
// headers, names with an underscore (upstream) and the headers the gateway
// owns are dropped first; the gateway's own values are added after, so a
// client can neither spoof nor strip them.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { util as undiciUtil } from 'undici';
import { GATEWAY_OWNED, IDENTITY_PREFIX } from './gateway-headers-schema.js';

export { GATEWAY_OWNED, IDENTITY_PREFIX };

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer',
  'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'host', 'proxy',
]);

/**
 * The header names a Connection header lists, to be dropped with it; undefined when it lists only
 * names dropped anyway ("keep-alive", "close": nearly every response), so no set is built per request.
 */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  if (value === 'keep-alive' || value === 'close') return undefined; // what Node and undici send
  const text = Array.isArray(value) ? value.join(',') : value;
  let tokens: Set<string> | undefined;
  for (const t of text.split(',')) {
    const name = t.trim().toLowerCase();
    if (name && name !== 'close' && !HOP_BY_HOP.has(name)) (tokens ??= new Set()).add(name);
  }
  return tokens;
}

/** drop: more names to leave out (credentials the edge consumed, a route's removals), skipped as the set is built: a delete afterwards would turn the object into a slow dictionary. */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, drop?: readonly string[]): Record<string, string | string[]> {
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    if (name.charCodeAt(0) === 58 /* : */ || HOP_BY_HOP.has(name) || GATEWAY_OWNED.has(name) || name.startsWith(IDENTITY_PREFIX)) continue;
    // CGI-style backends (PHP, WSGI, Rack, nginx's fastcgi_param) read X_Gatehouse_Consumer and
    // X-Gatehouse-Consumer as one variable: a name with an underscore could pose as a gateway header.
    // Dropped, as nginx does by default.
    if (name.includes('_')) continue;
    if (listed?.has(name) || drop?.includes(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  // Only "trailers" may pass in TE (RFC 9110 7.6.1); gRPC needs it.
  if (incoming.te !== undefined && /(^|,)\s*trailers\s*(;|,|$)/i.test(String(incoming.te))) out.te = 'trailers';
  return out;
}

/**
 * The headers of an upstream response as the client gets them, straight from undici's raw
 * [name, value, ...] pairs in one pass: lower-case names, repeated names as arrays, hop-by-hop
 * headers and those the Connection header lists left out.
 */
export function clientResponseHeaders(raw: readonly Buffer[]): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  let listed: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // undici's lookup of the well-known names gives back one interned lower-case string, none made per response.
    const name = undiciUtil.headerNameToString(raw[i]!);
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'connection') {
      const tokens = connectionTokens(value);
      if (tokens !== undefined) listed = listed === undefined ? tokens : new Set([...listed, ...tokens]);
      continue;
    }
    if (HOP_BY_HOP.has(name)) continue;
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  if (listed !== undefined) for (const name of listed) delete out[name];
  return out;
}
