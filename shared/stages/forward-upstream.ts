// Stage: pick an instance of the service and stream the request to it and
// the response back. Gateway-owned headers (X-Forwarded-*, X-Request-Id,
// traceparent) are set here, after the client's copies were dropped.
import type { Stage, Exchange } from '../exchange.js';
import { GatewayError } from '../errors.js';
import { traceparentOf } from '../trace.js';
import { upstreamRequestHeaders } from '../http/headers.js';
import { withoutCookies } from '../http/cookies.js';
import { forward, requestBody } from '../proxy/forward.js';
import type { UpstreamPools } from '../proxy/pools.js';
import type { ServiceLookup } from '../discovery/directory.js';
import type { UpstreamService } from '../discovery/upstream-service.js';
import type { Instance } from '../discovery/instance.js';
import { isRetryable, type RetryFailure } from '../resilience/retry-budget.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamCall } from '../proxy/upstream-call.js';

export interface ForwardSettings {
  readonly directory: ServiceLookup;
  readonly pools: UpstreamPools;
  /** The service this request goes to (the route's, or the router tier's). */
  readonly serviceOf: (ex: Exchange) => string;
  readonly timeoutOf: (ex: Exchange) => number;
  /** The edge keeps the client's Host so the router can match on it; the router sends the instance's. */
  readonly preserveHost: boolean;
  /**
   * Whether a 5xx answer counts against the instance's health (outlier detection, balancing). A backend's
   * 5xx is its own failure; a router's relays a backend's or reports one, so at the edge any answer shows the router up.
   */
  readonly errorAnswersFail: boolean;
}

export function forwardUpstream(s: ForwardSettings): Stage {
  return async (ex, request, reply) => {
    const serviceName = s.serviceOf(ex);
    ex.service = serviceName;
    const service = s.directory.service(serviceName)!;
    const headers = upstreamHeadersOf(ex, request.headers);
    const body = ex.body ?? requestBody(request.method, request.headers, request.raw);
    const hashKey = service.hashKey?.(ex, request);
    const total = ex.route?.config.totalTimeoutMs;
    // One deadline for every attempt and the body; allocated only on routes that set one.
    const signal = total === undefined ? undefined : AbortSignal.timeout(total);
    service.budget.onRequest();
    let exclude: Set<string> | undefined; // allocated only when a retry needs it
    const first = service.choose({ hashKey });
    if (first === undefined) throw new GatewayError('no_healthy_upstream', `service ${serviceName} has no passing instance`);
    let instance: Instance = first;
    for (let attempt = 0; ; attempt++) {
      let admission = service.admit(instance);
      // An instance whose own circuit is open is passed over: nothing was sent to it, so this is no retry.
      while (admission === 'open') {
        const next = another(service, hashKey, (exclude ??= new Set()), instance);
        if (next === undefined) break;
        instance = next;
        admission = service.admit(instance);
      }
      if (admission !== 'ok') throw new GatewayError('circuit_open', `service ${serviceName}: ${REFUSALS[admission]}`);
      ex.upstream = instance.origin;
      headers.host = s.preserveHost ? ex.authority : instance.authority;
      service.begin(instance);
      const started = performance.now();
      let res: UpstreamCall;
      try {
        res = await forward(s.pools, { origin: instance.origin, method: request.method, pathAndQuery: ex.path + ex.search, headers, body, timeoutMs: s.timeoutOf(ex), connectTimeoutMs: service.connectTimeoutMs, connections: service.connections.maxConnections, counter: ex, clientRequest: request.raw, clientResponse: reply.raw, ...(signal && { signal }) });
      } catch (err) {
        const { failure, instanceFailed } = err as GatewayError;
        service.end(instance, instanceFailed === true ? 'unanswered' : 'not-blamed', performance.now() - started);
        const next = failure !== undefined && retryable(service, request.method, failure, body !== null, attempt) ? another(service, hashKey, (exclude ??= new Set()), instance) : undefined;
        if (next === undefined) throw err;
        instance = next;
        continue;
      }
      res.endAttemptWhenOver(service, instance, res.statusCode >= 500 && s.errorAnswersFail ? 'error-answer' : 'answered', performance.now() - started);
      if (res.statusCode >= 502 && res.statusCode <= 504 && retryable(service, request.method, `status-${res.statusCode}` as RetryFailure, body !== null, attempt)) {
        const next = another(service, hashKey, (exclude ??= new Set()), instance);
        if (next !== undefined) {
          res.discard();
          instance = next;
          continue;
        }
      }
      ex.retries = attempt;
      try {
        reply.code(res.statusCode).headers(res.clientHeaders);
        if (ex.responseEdits !== undefined) {
          for (const name of ex.responseEdits.remove) reply.removeHeader(name);
          reply.headers(ex.responseEdits.set);
        }
      } catch (err) {
        res.abort(err); // the paused call would otherwise hold its upstream connection until the body timeout
        throw err;
      }
      return reply.send(res) as unknown as void;
    }
  };
}

const REFUSALS = {
  open: 'circuit open on every instance left to try',
  overloaded: 'circuit overloaded (maxConcurrent requests in flight)',
  'queue-full': 'maxPending requests already wait for a connection',
} as const;

/** Another instance for a retry, or undefined when none is left (then the last failure stands). */
function another(service: UpstreamService, hashKey: string | undefined, exclude: Set<string>, failed: Instance): Instance | undefined {
  return service.choose({ hashKey, exclude: exclude.add(failed.id) });
}

function retryable(service: UpstreamService, method: string, failure: RetryFailure, bodySent: boolean, attempt: number): boolean {
  return attempt < service.retry.attempts && isRetryable(method, failure, service.retry.retryOn, bodySent) && service.budget.tryRetry();
}

/** The sanitised client headers plus the gateway's own; built once per request, reused by retries. */
export function upstreamHeadersOf(ex: Exchange, incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const fwd = ex.forwarded!;
  const trace = ex.trace!;
  const headers = upstreamRequestHeaders(incoming);
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
  return headers;
}
