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
  readonly signal?: AbortSignal | undefined;
  /** Where the body bytes passed to the client are counted, and a broken-off response reported (the exchange). */
  readonly counter: CallCounter;
  /** The client's request and response: a client gone before the response's end aborts the call. */
  readonly clientRequest: RawRequest;
  readonly clientResponse: RawResponse;
}

/** The call once the response head arrived; rejects with a GatewayError (and its failure kind) when none came. */
export function forward(pools: UpstreamPools, req: UpstreamRequest): Promise<UpstreamCall> {
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
  } catch (err) {
    call.onError(err as Error); // a pool that refused the request at once fails the call as undici's errors do
  }
  // Not an async function: its promise and the await's would be two more objects per request (bench:alloc).
  return call.started;
}

/** Only requests that can carry a body stream one upstream; a bodiless GET sends none. */
export function requestBody(method: string, headers: IncomingHttpHeaders, raw: Readable): Readable | null {
  if (headers['transfer-encoding'] !== undefined) return raw;
  const length = headers['content-length'];
  if (length !== undefined) return length === '0' ? null : raw;
  // HTTP/2 carries no framing headers: a body may follow on any method but these.
  return method === 'GET' || method === 'HEAD' || headers[':method'] === undefined ? null : raw;
}
