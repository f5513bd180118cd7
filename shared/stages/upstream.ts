// Stage: the last of each tier. Chooses an instance of the route's service
// (shared/discovery/upstream-service.ts's chooseAdmitted: the balancer among
// instances not ejected, passing over open circuits) and forwards the request
// to it, streaming the response back, or, for a WebSocket handshake, tunnels
// to it: both go through the same choice and circuits. Gateway-owned headers
// (X-Forwarded-*, X-Request-Id, traceparent) are set here, after the client's
// copies were dropped.
import type { Stage, Exchange, ClientUpgrade } from '../exchange.js';
import { GatewayError } from '../errors.js';
import { traceparentOf } from '../trace.js';
import { upstreamRequestHeaders } from '../http/headers.js';
import { withoutCookies } from '../http/cookies.js';
import { forward, requestBody } from '../proxy/forward.js';
import { handshakeUpstream, openTunnel, relayRefusal, TunnelRefused, type HandshakeAnswer } from '../proxy/websocket.js';
import type { UpstreamPools } from '../proxy/pools.js';
import type { UpstreamService, Refusal } from '../discovery/upstream-service.js';
import type { Instance } from '../discovery/instance.js';
import { isRetryable, type RetryFailure } from '../resilience/retry-budget.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamCall } from '../proxy/upstream-call.js';
import type { GatewayReply, GatewayRequest } from '../http/gateway-io.js';
import type { RoutePlan, UpstreamSettings } from './route-plan.js';
import { startAttempt } from '../telemetry/attempt.js';
import { Attempt, failedAttempt, type AttemptOutcomeIndex } from '../metrics/upstream.js';

/** What is the same for every route of a tier; each route's own settings are its RoutePlan.upstream. */
export interface TierUpstream {
  readonly pools: UpstreamPools;
  /** The edge keeps the client's Host so the router can match on it; the router sends the instance's. */
  readonly preserveHost: boolean;
  /**
   * Whether a 5xx answer counts against the instance's health (outlier detection, balancing). A backend's
   * 5xx is its own failure; a router's relays a backend's or reports one, so at the edge any answer shows the router up.
   */
  readonly errorAnswersFail: boolean;
}

export function upstream(t: TierUpstream): Stage {
  return (ex, request, reply) => {
    const u = (ex.route!.data as RoutePlan).upstream;
    return ex.upgrade === undefined ? forwardTo(t, u, ex, request, reply) : tunnelTo(t, u, ex, request, ex.upgrade);
  };
}

async function forwardTo(t: TierUpstream, u: UpstreamSettings, ex: Exchange, request: GatewayRequest, reply: GatewayReply): Promise<void> {
  const service = u.service;
  ex.service = service.name;
  const headers = upstreamHeadersOf(ex, request.headers);
  const body = ex.body ?? requestBody(request.method, request.headers, request.raw);
  const hashKey = service.hashKey?.(ex, request);
  const total = u.totalTimeoutMs;
  // One deadline for every attempt and the body; allocated only on routes that set one.
  const signal = total === undefined ? undefined : AbortSignal.timeout(total);
  service.budget.onRequest();
  let tried: Set<string> | undefined; // allocated only when a retry needs it
  let instance = firstChoice(service, hashKey);
  for (let attempt = 0; ; attempt++) {
    ex.upstream = instance.origin;
    headers.host = t.preserveHost ? ex.authority : instance.authority;
    service.begin(instance);
    const started = performance.now();
    // Noted only when trace export is on (the tier then gives every exchange a list).
    const noted = ex.attempts === undefined ? undefined : startAttempt(ex.attempts, service.name, instance.origin);
    let res: UpstreamCall;
    try {
      res = await forward(t.pools, { origin: instance.origin, method: request.method, pathAndQuery: ex.path + ex.search, headers, body, timeoutMs: u.timeoutMs, connectTimeoutMs: service.connectTimeoutMs, connections: service.connections.maxConnections, counter: ex, clientRequest: request.raw, clientResponse: reply.raw, signal });
    } catch (err) {
      const { failure, instanceFailed } = err as GatewayError;
      if (noted !== undefined) {
        noted.endedAt = performance.now();
        noted.error = (err as Error).message;
      }
      const elapsed = performance.now() - started;
      service.metrics?.attempt(instance.id, failedAttempt(err as GatewayError), elapsed / 1000);
      service.end(instance, instanceFailed === true ? 'unanswered' : 'not-blamed', elapsed);
      const next = failure !== undefined && retryable(service, request.method, failure, body !== null, attempt) ? retryChoice(service, hashKey, (tried ??= new Set()).add(instance.id)) : undefined;
      if (next === undefined) throw err;
      service.metrics?.retried();
      instance = next;
      continue;
    }
    const elapsed = performance.now() - started;
    service.metrics?.attempt(instance.id, res.statusCode >= 500 ? Attempt.error5xx : Attempt.ok, elapsed / 1000);
    res.endAttemptWhenOver(service, instance, res.statusCode >= 500 && t.errorAnswersFail ? 'error-answer' : 'answered', elapsed);
    if (noted !== undefined) noted.status = res.statusCode;
    if (res.statusCode >= 502 && res.statusCode <= 504 && retryable(service, request.method, `status-${res.statusCode}` as RetryFailure, body !== null, attempt)) {
      const next = retryChoice(service, hashKey, (tried ??= new Set()).add(instance.id));
      if (next !== undefined) {
        res.discard();
        if (noted !== undefined) noted.endedAt = performance.now();
        service.metrics?.retried();
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
}

/**
 * A WebSocket handshake: one attempt (no retry) on an instance chosen as a request's would be, counted
 * by its circuit and outlier detection until the instance answers it; the tunnel that follows is the
 * client's and the instance's, outside every count.
 */
async function tunnelTo(t: TierUpstream, u: UpstreamSettings, ex: Exchange, request: GatewayRequest, client: ClientUpgrade): Promise<void> {
  if (!u.websocket) throw new GatewayError('not_found', `route ${ex.route!.name} does not take WebSocket upgrades`);
  const service = u.service;
  ex.service = service.name;
  const instance = firstChoice(service, service.hashKey?.(ex, request));
  ex.upstream = instance.origin;
  const headers = upstreamHeadersOf(ex, request.headers);
  headers.host = t.preserveHost ? ex.authority : instance.authority;
  service.begin(instance);
  const started = performance.now();
  let answer: HandshakeAnswer;
  try {
    answer = await handshakeUpstream(t.pools.get(instance.origin, service.connectTimeoutMs, service.connections.maxConnections), ex.path + ex.search, headers, u.timeoutMs);
  } catch (err) {
    const elapsed = performance.now() - started;
    // A connection refused or a handshake never answered is the instance's failure; an answer is not.
    service.end(instance, err instanceof TunnelRefused ? 'answered' : 'unanswered', elapsed);
    const { code, message } = err as { code?: string; message: string };
    service.metrics?.attempt(instance.id, tunnelFailure(err, code), elapsed / 1000);
    throw code === 'UND_ERR_HEADERS_TIMEOUT'
      ? new GatewayError('upstream_timeout', `no answer to the upgrade within ${u.timeoutMs} ms`)
      : new GatewayError('upstream_unreachable', `upgrade refused upstream: ${message}`);
  }
  const elapsed = performance.now() - started;
  if (answer.socket !== undefined) {
    service.metrics?.attempt(instance.id, Attempt.ok, elapsed / 1000);
    service.end(instance, 'answered', elapsed);
    openTunnel(client, answer, ex.requestId);
    return;
  }
  service.metrics?.attempt(instance.id, answer.status >= 500 ? Attempt.error5xx : Attempt.ok, elapsed / 1000);
  service.end(instance, answer.status >= 500 && t.errorAnswersFail ? 'error-answer' : 'answered', elapsed);
  ex.bytesOut = relayRefusal(client, answer, ex.requestId);
}

/** A failed handshake's outcome: an instance that answered it with neither 101 nor a refusal did answer (ok). */
function tunnelFailure(err: unknown, code: string | undefined): AttemptOutcomeIndex {
  if (err instanceof TunnelRefused) return Attempt.ok;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return Attempt.timeout;
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' ? Attempt.connectError : Attempt.reset;
}

/** The first attempt's instance, or the 503 that says why there is none. */
function firstChoice(service: UpstreamService, hashKey: string | undefined): Instance {
  const choice = service.chooseAdmitted(hashKey);
  if (typeof choice !== 'string') return choice;
  throw choice === 'none'
    ? new GatewayError('no_healthy_upstream', `service ${service.name} has no passing instance`)
    : new GatewayError('circuit_open', `service ${service.name}: ${REFUSALS[choice]}`);
}

/** Another instance for a retry, or undefined when none is admitted: then the last failure or answer stands. */
function retryChoice(service: UpstreamService, hashKey: string | undefined, tried: Set<string>): Instance | undefined {
  const choice = service.chooseAdmitted(hashKey, tried);
  return typeof choice === 'string' ? undefined : choice;
}

const REFUSALS: Record<Exclude<Refusal, 'none'>, string> = {
  open: 'circuit open on every instance left to try',
  overloaded: 'circuit overloaded (maxConcurrent requests in flight)',
  'queue-full': 'maxPending requests already wait for a connection',
};

function retryable(service: UpstreamService, method: string, failure: RetryFailure, bodySent: boolean, attempt: number): boolean {
  return attempt < service.retry.attempts && isRetryable(method, failure, service.retry.retryOn, bodySent) && service.budget.tryRetry();
}

/** The sanitised client headers plus the gateway's own; built once per request, reused by retries. */
export function upstreamHeadersOf(ex: Exchange, incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const fwd = ex.forwarded!;
  const trace = ex.trace!;
  const headers = upstreamRequestHeaders(incoming, ex.dropHeaders);
  headers['x-forwarded-for'] = fwd.xForwardedFor;
  headers['x-forwarded-proto'] = fwd.proto;
  headers['x-forwarded-host'] = fwd.host;
  headers['x-request-id'] = ex.requestId;
  headers.traceparent = traceparentOf(trace);
  if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
  // Left out as the set was built; a route that removes one of the gateway's own (x-forwarded-for, say) removes it here.
  if (ex.dropHeaders !== undefined) for (const name of ex.dropHeaders) if (headers[name] !== undefined) delete headers[name];
  if (ex.dropCookies !== undefined && headers.cookie !== undefined) {
    const kept = withoutCookies(headers.cookie, ex.dropCookies);
    if (kept === '') delete headers.cookie;
    else headers.cookie = kept;
  }
  if (ex.upstreamHeaders !== undefined) Object.assign(headers, ex.upstreamHeaders);
  return headers;
}
