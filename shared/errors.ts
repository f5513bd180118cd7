// Every error reply the gateway itself can produce, declared once with its
// status and public message. Replies never carry a stack or an internal
// detail; the log line carries the reason.
import { STATUS_CODES } from 'node:http';
import type { GatewayReply } from './http/gateway-io.js';

export const ERRORS = {
  bad_request: { status: 400, message: 'The request is malformed.' },
  bad_path: { status: 400, message: 'The request path is not allowed (encoded slash, backslash or dot, path parameter, double encoding, invalid UTF-8 or control character).' },
  unauthorized: { status: 401, message: 'Authentication is required, or the credential given was refused.' },
  forbidden: { status: 403, message: 'The caller is not allowed to do this.' },
  not_found: { status: 404, message: 'No route matches this request.' },
  request_timeout: { status: 408, message: 'The request took too long to arrive.' },
  payload_too_large: { status: 413, message: 'The request body is larger than this route allows.' },
  misdirected_request: { status: 421, message: 'This host is not served here.' },
  rate_limited: { status: 429, message: 'Too many requests; retry after the time in Retry-After.' },
  headers_too_large: { status: 431, message: 'The request headers are too large.' },
  internal: { status: 500, message: 'The gateway failed to handle the request.' },
  upstream_unreachable: { status: 502, message: 'The upstream service could not be reached.' },
  circuit_open: { status: 503, message: 'The service is overloaded or failing; retry shortly.' },
  no_healthy_upstream: { status: 503, message: 'The service has no healthy instance.' },
  rate_limit_unavailable: { status: 503, message: 'The request cannot be counted against its rate limit right now; retry shortly.' },
  session_store_unavailable: { status: 503, message: 'Sessions are unavailable right now; retry shortly.' },
  shutting_down: { status: 503, message: 'The gateway is shutting down; retry on another instance.' },
  upstream_timeout: { status: 504, message: 'The upstream service did not answer in time.' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** Thrown (or passed) inside a tier; the tier's error handler turns it into the reply. */
export class GatewayError extends Error {
  /** For upstream failures: what kind, so the upstream stage can decide on a retry. */
  failure?: 'connect-failure' | 'reset' | 'status-504';
  /** For upstream failures: the instance itself failed to answer, as its circuit and outlier detection count it. */
  instanceFailed?: boolean;

  constructor(readonly code: ErrorCode, readonly reason?: string, readonly headers?: Readonly<Record<string, string>>) {
    super(reason ?? ERRORS[code].message);
    this.name = 'GatewayError';
  }
}

export function errorBody(code: ErrorCode, requestId: string): string {
  return JSON.stringify({ error: code, message: ERRORS[code].message, requestId });
}

/**
 * The same JSON error as a whole HTTP/1.1 response that closes its connection, for a socket no
 * response object owns: a request Node's parser refused, CONNECT, a slow client, a refused upgrade.
 */
export function rawErrorResponse(code: ErrorCode, requestId: string, headers: Readonly<Record<string, string>> = {}): string {
  const body = errorBody(code, requestId);
  const status = ERRORS[code].status;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  return `${head}Connection: close\r\n\r\n${body}`;
}

export function sendError(reply: GatewayReply, code: ErrorCode, requestId: string): GatewayReply {
  return reply
    .code(ERRORS[code].status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(errorBody(code, requestId));
}
