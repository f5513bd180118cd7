// The fastify instance both tiers are built on: request bodies left as
// streams, gateway-owned request ids, JSON error replies with no stack, one
// access-log line per request, and one catch-all route running the tier's
// pipeline. Tiers differ only in their server options and stages.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import fastify, { type FastifyInstance, type FastifyServerOptions, type FastifyError, type FastifyRequest, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { Exchange, runStages, type Stage } from './exchange.js';
import { ERRORS, GatewayError, errorBody, sendError, type ErrorCode } from './errors.js';
import { isValidRequestId } from './ids.js';
import { plainAddress, type TrustFn } from './http/forwarded.js';
import type { TimeoutsConfig } from './config/schema.js';
import { baseServerOptions } from './http/server-options.js';

export interface TierAppOptions {
  readonly log: Logger;
  readonly trust: TrustFn;
  readonly stages: readonly Stage[];
  readonly timeouts: TimeoutsConfig;
  /** While draining, HTTP/1.1 replies close their connection so the drain can finish. */
  readonly isDraining: () => boolean;
  /** Sent on every reply of the tier, gateway errors included (HSTS at the edge). */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** TLS / HTTP2 settings for the edge; none for the router. */
  readonly server?: Partial<FastifyServerOptions> & Record<string, unknown>;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export function buildTierApp(o: TierAppOptions): FastifyInstance {
  const app = fastify({
    ...o.server,
    ...baseServerOptions(o.log),
    genReqId: (raw) => requestIdOf(raw, o.trust),
    connectionTimeout: o.timeouts.requestMs,
    requestTimeout: o.timeouts.requestMs,
    keepAliveTimeout: o.timeouts.keepAliveMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: clientError(o.log),
  } as FastifyServerOptions) as unknown as FastifyInstance;

  // Slow-header clients (slowloris) are cut off at headersMs; Node's default is 60 s.
  (app.server as { headersTimeout?: number }).headersTimeout = o.timeouts.headersMs;

  // Bodies are streamed upstream untouched; the gateway never parses them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.decorateRequest('exchange', null as unknown as Exchange);

  app.setErrorHandler((err: FastifyError | GatewayError, request, reply) => replyWithError(o.log, err, request, reply));
  app.setNotFoundHandler((request, reply) => {
    exchangeOf(request).reason ??= `method ${request.method} not routable`;
    sendError(reply, 'not_found', request.id);
  });
  app.addHook('onResponse', accessLog(o.log));
  const always = o.responseHeaders;
  app.addHook('onSend', (request, reply, payload, done) => {
    if (always !== undefined) reply.headers(always);
    if (o.isDraining() && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
    done(null, payload);
  });

  app.route({
    method: METHODS,
    url: '*',
    handler: async (request, reply) => {
      const ex = exchangeOf(request);
      reply.header('x-request-id', ex.requestId);
      await runStages(o.stages, ex, request, reply);
      return reply;
    },
  });
  return app;
}

/** A trusted peer's X-Request-Id if it is a plain token, else a new one. */
export function requestIdOf(raw: { headers: IncomingHttpHeaders; socket?: { remoteAddress?: string | undefined } | null }, trust: TrustFn): string {
  const given = raw.headers['x-request-id'];
  const peer = plainAddress(raw.socket?.remoteAddress);
  return typeof given === 'string' && isValidRequestId(given) && trust(peer, 0) ? given : randomUUID();
}

function exchangeOf(request: FastifyRequest): Exchange {
  request.exchange ??= new Exchange(request.id);
  return request.exchange;
}

function replyWithError(log: Logger, err: FastifyError | GatewayError, request: FastifyRequest, reply: FastifyReply): void {
  const ex = exchangeOf(request);
  let code: ErrorCode;
  if (err instanceof GatewayError) {
    code = err.code;
    ex.reason = err.reason ?? code;
    if (err.headers && !reply.sent) reply.headers(err.headers);
  } else {
    code = codeForStatus(err.statusCode);
    const e = err as FastifyError;
    ex.reason = `${e.code ?? e.name}: ${e.message}`;
    if (code === 'internal') log.error({ err, requestId: ex.requestId }, 'unexpected error');
  }
  if (reply.sent || reply.raw.headersSent) {
    // Mid-response failure: a truncated body must not look complete, so the connection goes.
    reply.raw.destroy();
    return;
  }
  // The rest of an oversized body is never read: the connection cannot be reused.
  if (code === 'payload_too_large' && request.raw.httpVersionMajor === 1) reply.header('connection', 'close');
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

function accessLog(log: Logger) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const ex = exchangeOf(request);
    log.info({
      event: 'access',
      requestId: ex.requestId,
      traceId: ex.trace?.traceId,
      spanId: ex.trace?.spanId,
      parentSpanId: ex.trace?.parentSpanId,
      method: request.method,
      path: ex.path || (request.raw.url ?? '').slice(0, 256),
      route: ex.route?.name,
      service: ex.service,
      upstream: ex.upstream,
      status: reply.statusCode,
      bytesOut: ex.bytesOut || Number(reply.getHeader('content-length') ?? 0),
      durationMs: Math.round((performance.now() - ex.startedAt) * 100) / 100,
      client: ex.forwarded?.clientIp ?? plainAddress(request.raw.socket?.remoteAddress),
      consumer: ex.identity?.consumer,
      authMethod: ex.identity?.method,
      auth: ex.authDetail,
      retries: ex.retries || undefined,
      reason: ex.reason,
    });
    done();
  };
}

/** Requests Node's parser refuses never reach fastify: answer them in the same JSON shape and close. */
function clientError(log: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
    const requestId = randomUUID();
    log.info({ event: 'client-error', requestId, client: plainAddress(socket.remoteAddress), reason: `${err.code ?? 'ERROR'}: ${err.message}` });
    if (socket.writable && !(socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      const body = errorBody(code, requestId);
      socket.end(`HTTP/1.1 ${ERRORS[code].status} ${statusText(code)}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  };
}

function statusText(code: ErrorCode): string {
  return { headers_too_large: 'Request Header Fields Too Large', request_timeout: 'Request Timeout' }[code as string] ?? 'Bad Request';
}
