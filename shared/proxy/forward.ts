// Sends one request upstream and hands back the call once the response head
// arrived; the body streams to the client when the upstream stage says so.
// Hand-written on undici's dispatch instead of @fastify/reply-from because
// this is the per-request hot path of both tiers: reply-from re-parses URLs,
// rebuilds headers and wraps streams on every call, and we already hold the
// pool, the normalised path and the sanitised headers. Errors become
// GatewayErrors with the status a client should see (502 unreachable, 504 timeout).
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError, type ErrorCode } from '../errors.js';
import type { UpstreamPools } from './pools.js';
import { UpstreamCall, type CallCounter } from './upstream-call.js';
import type { RawRequest, RawResponse } from '../http/gateway-io.js';

export interface UpstreamRequest {
  readonly origin: string;
  readonly method: string;
  readonly pathAndQuery: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Readable | null;
  readonly timeoutMs: number;
  readonly connectTimeoutMs?: number;
  /** Keep-alive connections to the origin, set by the first request that opens its pool. */
  readonly connections?: number;
  /** Aborts the whole exchange (a route's total timeout); undefined for most routes. */
  readonly signal?: AbortSignal;
  /** Where the body bytes passed to the client are counted, and a broken-off response reported (the exchange). */
  readonly counter: CallCounter;
  /** The client's request and response: a client gone before the response's end aborts the call. */
  readonly clientRequest: RawRequest;
  readonly clientResponse: RawResponse;
}

export async function forward(pools: UpstreamPools, req: UpstreamRequest): Promise<UpstreamCall> {
  const call = new UpstreamCall(req.counter);
  const signal = req.signal;
  if (signal !== undefined) {
    if (signal.aborted) call.abort(signal.reason);
    else signal.addEventListener('abort', () => call.abort(signal.reason), { once: true });
  }
  call.watchClient(req.clientRequest, req.clientResponse);
  try {
    pools.get(req.origin, req.connectTimeoutMs, req.connections).dispatch({
      method: req.method as Dispatcher.HttpMethod,
      path: req.pathAndQuery,
      headers: req.headers,
      body: req.body,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    }, call as unknown as Dispatcher.DispatchHandler);
    return await call.started;
  } catch (err) {
    const error = new GatewayError(classify(err), `${(err as { code?: string }).code ?? 'ERROR'} ${(err as Error).message}`);
    error.failure = failureKind(err);
    error.instanceFailed = instanceFailed(error.failure, call);
    throw error;
  }
}

/**
 * Whether the failure is the instance's own. A connection it refused, reset or never accepted is. A
 * reset or a timeout on a connection is only once the instance had the whole request: until then a
 * body that stalled or broke off is as likely the client's doing (a slow upload, an abort), and a client
 * must never be able to open a circuit or eject an instance that serves everyone else. The price: an
 * instance that stops reading request bodies is caught by its bodiless requests only. A call the
 * gateway cut itself (a total timeout, the client gone) never is, whatever error undici reports for it.
 */
function instanceFailed(kind: GatewayError['failure'], call: UpstreamCall): boolean {
  if (kind === undefined || call.cut) return false;
  return kind === 'connect-failure' || !call.connected || call.requestSent;
}

/** What kind of failure, for a retry: undefined when it was ours or the client's (a body we could not send). */
function failureKind(err: unknown): GatewayError['failure'] {
  switch ((err as { code?: string }).code) {
    case 'ECONNREFUSED': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'ENOTFOUND': case 'EAI_AGAIN': case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect-failure';
    case 'ECONNRESET': case 'EPIPE': case 'UND_ERR_SOCKET': case 'UND_ERR_CLOSED':
      return 'reset';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'status-504';
    default:
      return undefined;
  }
}

function classify(err: unknown): ErrorCode {
  if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') return 'upstream_timeout';
  switch ((err as { code?: string | number }).code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_ABORTED': // only our total-timeout signal aborts a request
    case 23: // DOMException TIMEOUT_ERR from AbortSignal.timeout
      return 'upstream_timeout';
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'bad_request';
    case 'GATEHOUSE_BODY_TOO_LARGE':
      return 'payload_too_large';
    default:
      return 'upstream_unreachable';
  }
}

/** Only requests that can carry a body stream one upstream; a bodiless GET sends none. */
export function requestBody(method: string, headers: IncomingHttpHeaders, raw: Readable): Readable | null {
  if (headers['transfer-encoding'] !== undefined) return raw;
  const length = headers['content-length'];
  if (length !== undefined) return length === '0' ? null : raw;
  // HTTP/2 carries no framing headers: a body may follow on any method but these.
  return method === 'GET' || method === 'HEAD' || headers[':method'] === undefined ? null : raw;
}
