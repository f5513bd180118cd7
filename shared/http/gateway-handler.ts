// The request listener of a tier's public server: every request runs the
// tier's pipeline here (pipeline.ts lists all it does). Hand-written
// because it is the hot path (see gateway-io.ts): one Exchange, one request
// and one reply object per request, listeners prebuilt, no hook runners.
import type { Logger } from 'pino';
import { Exchange, runStages, type Stage } from '../exchange.js';
import { GatewayError, sendError, type ErrorCode } from '../errors.js';
import { accessLineAtClose } from '../access-log.js';
import type { TrustFn } from './forwarded.js';
import { ProxyReply, ProxyRequest, cutResponse, type FinalHeaders, type GatewayReply, type GatewayRequest, type RawRequest, type RawResponse } from './gateway-io.js';
import { requestIdOf } from './request-id.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { RequestMetrics } from '../metrics/requests.js';
import type { RecentAuthFailures } from '../metrics/recent-auth-failures.js';
import type { ExchangeEnded } from '../access-log.js';

export interface GatewayHandlerOptions {
  readonly log: Logger;
  readonly trust: TrustFn;
  /** Read once per request, as it arrives: a reload swaps the stages, a request finishes on the ones it started with. */
  readonly pipeline: CurrentPipeline;
  /** While draining, HTTP/1.1 replies close their connection so the drain can finish. */
  readonly isDraining: () => boolean;
  /** Sent on every reply of the tier, gateway errors included (HSTS at the edge); they win over a backend's. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** Trace export, when configured (telemetry.otlp); without it requests run exactly as before. */
  readonly tracing?: Tracing | undefined;
  /** Where each request is counted when its response closes (the tier's /metrics). */
  readonly metrics?: RequestMetrics | undefined;
  /** Where 401 and 403 answers are kept for the dashboard. */
  readonly authFailures?: RecentAuthFailures | undefined;
}

/** The stages requests run now; a reload (shared/config/live.ts) replaces them whole. */
export interface CurrentPipeline {
  readonly stages: readonly Stage[];
}

export type RequestListener = (req: RawRequest, res: RawResponse) => void;

export function gatewayHandler(o: GatewayHandlerOptions): RequestListener {
  const finalHeaders = finalHeadersOf(o);
  const { log, trust, pipeline } = o;
  const tracing = o.tracing;
  const logAtClose = accessLineAtClose(log, o.metrics, endedObservers(tracing, o.authFailures));
  return (req, res) => {
    try {
      const id = requestIdOf(req, trust);
      const ex = new Exchange(id);
      if (tracing !== undefined) tracing.begin(ex);
      logAtClose(res, ex);
      res.setHeader('x-request-id', id);
      const request = new ProxyRequest(id, req);
      run(log, pipeline.stages, ex, request, new ProxyReply(res, finalHeaders));
    } catch (err) {
      // A throw here would be an uncaught exception in the server's 'request' event: the whole process.
      log.error({ err }, 'request listener failed');
      res.destroy();
    }
  };
}

/** Who is told of an ended exchange: none, one, or both without a wrapper for one. */
function endedObservers(tracing: Tracing | undefined, authFailures: RecentAuthFailures | undefined): ExchangeEnded | undefined {
  const traced: ExchangeEnded | undefined = tracing && ((ex, raw, status, outcome) => tracing.end(ex, raw, status, outcome));
  if (traced === undefined || authFailures === undefined) return traced ?? authFailures?.observe;
  return (ex, raw, status, outcome) => {
    authFailures.observe(ex, raw, status);
    traced(ex, raw, status, outcome);
  };
}

function run(log: Logger, stages: readonly Stage[], ex: Exchange, request: GatewayRequest, reply: ProxyReply): void {
  let pending: void | Promise<void>;
  try {
    pending = runStages(stages, ex, request, reply);
  } catch (err) {
    replyWithError(log, err, ex, request, reply);
    return;
  }
  if (pending === undefined) answered(log, ex, request, reply);
  else pending.then(() => answered(log, ex, request, reply), (err: unknown) => replyWithError(log, err, ex, request, reply));
}

function answered(log: Logger, ex: Exchange, request: GatewayRequest, reply: ProxyReply): void {
  if (!reply.sent) replyWithError(log, new Error('no stage answered the request'), ex, request, reply);
}

function finalHeadersOf(o: GatewayHandlerOptions): FinalHeaders {
  const always = o.responseHeaders === undefined ? [] : Object.entries(o.responseHeaders);
  return (raw) => {
    for (const [name, value] of always) raw.setHeader(name, value);
    if (o.isDraining() && raw.req.httpVersionMajor === 1) raw.setHeader('connection', 'close');
  };
}

/** A GatewayError becomes its reply; anything else is a 500 whose cause is logged, never replied. */
function replyWithError(log: Logger, err: unknown, ex: Exchange, request: GatewayRequest, reply: GatewayReply & { readonly raw: RawResponse }): void {
  let code: ErrorCode;
  if (err instanceof GatewayError) {
    code = err.code;
    ex.reason = err.reason ?? code;
    if (err.headers && !reply.sent) reply.headers(err.headers);
  } else {
    const e = err as { statusCode?: number; code?: string; name?: string; message?: string };
    code = codeForStatus(e.statusCode);
    ex.reason = `${e.code ?? e.name}: ${e.message}`;
    if (code === 'internal') log.error({ err, requestId: ex.requestId }, 'unexpected error');
  }
  if (reply.sent || reply.raw.headersSent) {
    // Mid-response failure: a truncated body must not look complete, so the connection goes.
    ex.breakOff('gateway-aborted', ex.reason ?? code);
    cutResponse(reply.raw);
    return;
  }
  // The rest of an oversized body is never read: the connection cannot be reused.
  if (code === 'payload_too_large' && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
  ex.errorCode = code;
  sendError(reply, code, request.id);
}

function codeForStatus(status: number | undefined): ErrorCode {
  switch (status) {
    case 400: return 'bad_request';
    case 404: return 'not_found';
    case 408: return 'request_timeout';
    case 413: return 'payload_too_large';
    case 431: return 'headers_too_large';
    case 503: return 'shutting_down';
    default: return 'internal';
  }
}
