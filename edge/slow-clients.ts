// Guards the edge's HTTP/1.1 connections against slow clients. Node's own
// headersTimeout/requestTimeout never fire for HTTP/1.1 served by an HTTP/2
// server with allowHTTP1 (the connection tracking that drives them is only
// set up for http.Server), so the edge arms its own timers:
//  - from connection (or the end of the previous response) to complete
//    request headers: headersMs; a partial request then gets 408, an idle
//    keep-alive connection is just closed;
//  - from headers to the end of the request body: requestMs, then 408.
// HTTP/2 streams are bounded by the session timeout and stream limits instead.
import type { Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ERRORS, errorBody } from '../shared/errors.js';

interface Guarded { timer: NodeJS.Timeout | undefined; bytesAtArm: number }
const GUARD = Symbol('gatehouse.slowClientGuard');
type GuardedSocket = TLSSocket & { [GUARD]?: Guarded };

export function guardSlowClients(server: Server, headersMs: number, requestMs: number, log: Logger): void {
  server.on('secureConnection', (socket: GuardedSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    socket[GUARD] = { timer: undefined, bytesAtArm: 0 };
    armHeaders(socket, headersMs, log);
    socket.once('close', () => clearTimeout(socket[GUARD]?.timer));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as GuardedSocket;
    const guard = socket[GUARD];
    if (guard === undefined) return;
    clearTimeout(guard.timer);
    if (!req.complete) {
      guard.timer = setTimeout(() => refuse(socket, 'request body too slow', log, res), requestMs);
      req.once('end', () => clearTimeout(guard.timer));
    }
    res.once('finish', () => { if (!socket.destroyed) armHeaders(socket, headersMs, log); });
  });
}

function armHeaders(socket: GuardedSocket, headersMs: number, log: Logger): void {
  const guard = socket[GUARD]!;
  clearTimeout(guard.timer);
  guard.bytesAtArm = socket.bytesRead;
  guard.timer = setTimeout(() => {
    // Nothing arrived: an idle keep-alive connection, closed without a reply.
    if (socket.bytesRead === guard.bytesAtArm) socket.destroy();
    else refuse(socket, 'request headers too slow', log);
  }, headersMs);
  guard.timer.unref();
}

function refuse(socket: GuardedSocket, reason: string, log: Logger, res?: ServerResponse): void {
  if (socket.destroyed) return;
  const requestId = randomUUID();
  log.info({ event: 'client-error', requestId, client: socket.remoteAddress, reason });
  if (res === undefined || !res.headersSent) {
    const body = errorBody('request_timeout', requestId);
    socket.end(`HTTP/1.1 ${ERRORS.request_timeout.status} Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 1_000).unref();
  } else {
    socket.destroy();
  }
}
