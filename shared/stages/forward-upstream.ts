// Stage: pick an instance of the service and stream the request to it and
// the response back. Gateway-owned headers (X-Forwarded-*, X-Request-Id,
// traceparent) are set here, after the client's copies were dropped.
import type { Stage, Exchange } from '../exchange.js';
import { GatewayError } from '../errors.js';
import { traceparentOf } from '../trace.js';
import { upstreamRequestHeaders, clientResponseHeaders, withoutCookies } from '../http/headers.js';
import { forward, requestBody } from '../proxy/forward.js';
import type { UpstreamPools } from '../proxy/pools.js';
import type { ServiceDirectory } from '../discovery/directory.js';

export interface ForwardSettings {
  readonly directory: ServiceDirectory;
  readonly pools: UpstreamPools;
  /** The service this request goes to (the route's, or the router tier's). */
  readonly serviceOf: (ex: Exchange) => string;
  readonly timeoutOf: (ex: Exchange) => number;
  /** The edge keeps the client's Host so the router can match on it; the router sends the instance's. */
  readonly preserveHost: boolean;
}

export function forwardUpstream(s: ForwardSettings): Stage {
  return async (ex, request, reply) => {
    const service = s.serviceOf(ex);
    ex.service = service;
    const instance = s.directory.pick(service);
    if (instance === undefined) throw new GatewayError('no_healthy_upstream', `service ${service} has no passing instance`);
    ex.upstream = instance.origin;
    const fwd = ex.forwarded!;
    const trace = ex.trace!;
    const headers = upstreamRequestHeaders(request.headers);
    headers.host = s.preserveHost ? ex.authority : instance.authority;
    headers['x-forwarded-for'] = fwd.xForwardedFor;
    headers['x-forwarded-proto'] = fwd.proto;
    headers['x-forwarded-host'] = fwd.host;
    headers['x-request-id'] = ex.requestId;
    headers.traceparent = traceparentOf(trace);
    if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
    if (ex.dropHeaders !== undefined) for (const name of ex.dropHeaders) delete headers[name];
    if (ex.dropCookies !== undefined && headers.cookie !== undefined) {
      const kept = withoutCookies(headers.cookie, ex.dropCookies);
      if (kept === '') delete headers.cookie;
      else headers.cookie = kept;
    }
    if (ex.upstreamHeaders !== undefined) Object.assign(headers, ex.upstreamHeaders);
    const res = await forward(s.pools, {
      origin: instance.origin,
      method: request.method,
      pathAndQuery: ex.path + ex.search,
      headers,
      body: ex.body ?? requestBody(request.method, request.headers, request.raw),
      timeoutMs: s.timeoutOf(ex),
    });
    const length = res.headers['content-length'];
    if (length !== undefined) ex.bytesOut = Number(length);
    else res.body.on('data', (chunk: Buffer) => { ex.bytesOut += chunk.length; });
    reply.code(res.statusCode).headers(clientResponseHeaders(res.headers));
    return reply.send(res.body) as unknown as void;
  };
}
