// The public server of both tiers. Every request runs the pipeline in the
// hand-written request listener of http/gateway-handler.ts; fastify owns the
// listener's life (listen, drain, close, client errors) and serves no request
// itself. Tiers differ only in TLS and their stages.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createSecureServer, type SecureServerOptions } from 'node:http2';
import type { Socket } from 'node:net';
import fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { rawErrorResponse, type ErrorCode } from './errors.js';
import { peerAddress } from './http/peer-address.js';
import type { TimeoutsConfig } from './config/schema.js';
import { baseServerOptions } from './http/server-options.js';
import { gatewayHandler, type GatewayHandlerOptions, type RequestListener } from './http/gateway-handler.js';
import { refuseOnSocket, responseInFlight } from './http/socket-refusal.js';
import type { RawRequest, RawResponse } from './http/gateway-io.js';

export interface TierAppOptions extends GatewayHandlerOptions {
  readonly timeouts: TimeoutsConfig;
  /** TLS with HTTP/2 and HTTP/1.1 (the edge); none for the router. */
  readonly tls?: { readonly options: SecureServerOptions; readonly sessionTimeoutMs: number };
}

export function buildTierApp(o: TierAppOptions): FastifyInstance {
  return fastify({
    ...baseServerOptions(o.log),
    ...(o.tls && { http2: true, https: o.tls.options, http2SessionTimeout: o.tls.sessionTimeoutMs }),
    // fastify's own handler is never called: the pipeline serves every request.
    serverFactory: () => createTierServer(o),
    forceCloseConnections: 'idle',
    clientErrorHandler: clientError(o.log),
  } as unknown as FastifyServerOptions) as unknown as FastifyInstance;
}

function createTierServer(o: TierAppOptions) {
  const gateway = gatewayHandler(o);
  const server = o.tls ? secureServer(o.tls, o.timeouts, gateway) : plainServer(o.timeouts, gateway);
  server.on('connect', refuseConnect(o.log, gateway));
  return server;
}

function secureServer(tls: NonNullable<TierAppOptions['tls']>, t: TimeoutsConfig, listener: RequestListener) {
  // Nagle's algorithm is on by default for TLS servers (not for http.Server): a reply split over two
  // TLS records then waits for the client's delayed ACK, 40 ms stalls measured at the edge.
  const server = createSecureServer({ noDelay: true, ...tls.options }, listener);
  server.on('session', (session) => session.setTimeout(tls.sessionTimeoutMs, () => session.close()));
  server.setTimeout(t.requestMs);
  return server;
}

function plainServer(t: TimeoutsConfig, listener: RequestListener) {
  // A request without Host is refused by the check-framing stage, with the JSON error every other refusal gets.
  const server = createServer({ requireHostHeader: false }, listener);
  server.requestTimeout = t.requestMs;
  server.headersTimeout = t.headersMs; // slow-header clients (slowloris) are cut off; Node's default is 60 s
  server.keepAliveTimeout = t.keepAliveMs;
  server.setTimeout(t.requestMs);
  return server;
}

/**
 * Requests Node's parser refuses (or its requestTimeout cuts) never reach a handler: answer them in the
 * same JSON shape and close. A request already in the pipeline whose body turns out malformed or too
 * slow gets the answer in its own name, unless its response has begun. The secure server reports a
 * failed or timed-out TLS handshake here too: no HTTP was ever spoken on that socket, and a reply written
 * to it would wait for a handshake that never comes, holding the connection open (which kept handshake
 * timeouts from closing anything), so it is destroyed.
 */
function clientError(log: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    const inFlight = responseInFlight(socket);
    // The client closed its side in the middle of a request (an edge that aborted its call does): no one is
    // left to answer, and the request's line says its body ended early.
    if (err.code === 'HPE_INVALID_EOF_STATE' && inFlight !== undefined) {
      socket.destroy();
      return;
    }
    const code = parserRefusal(err.code);
    if (code === undefined) {
      log.info({ event: 'client-error', requestId: randomUUID(), client: peerAddress(socket), reason: `${err.code ?? 'ERROR'}: ${err.message}` });
      socket.destroy();
      return;
    }
    refuseOnSocket(log, socket, code, refusalReason(err), inFlight);
  };
}

/** The answer to an HTTP parser's refusal (llhttp's HPE_* codes, Node's request timeout); nothing for any other error. */
function parserRefusal(code: string | undefined): ErrorCode | undefined {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return code?.startsWith('HPE_') ? 'bad_request' : undefined;
}

function refusalReason(err: Error & { code?: string }): string {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request too slow (408)';
  const detail = `${err.code ?? 'ERROR'}: ${err.message}`;
  return /chunk/i.test(err.message) ? `bad chunk encoding (${detail})` : detail;
}

/**
 * CONNECT is no route of a gateway: Node hands it to a 'connect' listener, and with none it drops an
 * HTTP/1.1 socket unanswered. An HTTP/2 CONNECT is one stream with a response object of its own (not a
 * socket): it goes through the pipeline, whose check-framing stage refuses it with the JSON 400 and an
 * access line, like any other malformed request.
 */
function refuseConnect(log: Logger, gateway: RequestListener) {
  return (req: RawRequest, target: Socket | RawResponse): void => {
    if (req.httpVersionMajor === 2) return gateway(req, target as RawResponse);
    const socket = target as Socket;
    const requestId = randomUUID();
    log.info({ event: 'client-error', requestId, client: peerAddress(socket), reason: `CONNECT ${String(req.url).slice(0, 200)} refused` });
    socket.end(rawErrorResponse('bad_request', requestId));
  };
}

