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
import type { Logger } from 'pino';
import { refuseOnSocket } from '../shared/http/socket-refusal.js';

// One pair of timers per connection, refreshed rather than re-created, and
// prebuilt listeners: this runs for every HTTP/1.1 request of the edge.
type Phase = 'headers' | 'body' | 'busy';
const GUARD = Symbol('gatehouse.slowClientGuard');
type GuardedSocket = TLSSocket & { [GUARD]?: Guard };

class Guard {
  phase: Phase = 'headers';
  bytesAtArm = 0;
  res: ServerResponse | undefined = undefined;
  readonly headersTimer: NodeJS.Timeout;
  readonly bodyTimer: NodeJS.Timeout;

  constructor(readonly socket: GuardedSocket, headersMs: number, requestMs: number, readonly log: Logger) {
    this.headersTimer = setTimeout(headersTooSlow, headersMs, this).unref();
    // Runs from the start but acts only in the body phase; refresh() re-arms it per body (a cleared timer could not be).
    this.bodyTimer = setTimeout(bodyTooSlow, requestMs, this).unref();
  }

  awaitHeaders(): void {
    this.phase = 'headers';
    this.bytesAtArm = this.socket.bytesRead;
    this.headersTimer.refresh();
  }
}

export function guardSlowClients(server: Server, headersMs: number, requestMs: number, log: Logger): void {
  server.on('secureConnection', (socket: GuardedSocket) => {
    if (socket.alpnProtocol === 'h2') return;
    socket[GUARD] = new Guard(socket, headersMs, requestMs, log);
    socket.once('close', dropGuard);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const guard = (req.socket as GuardedSocket)[GUARD];
    if (guard === undefined) return;
    guard.res = res;
    if (req.complete) {
      guard.phase = 'busy';
    } else {
      guard.phase = 'body';
      guard.bodyTimer.refresh();
      req.once('end', bodyArrived);
    }
    // Found again through res.req's socket, not a property set on the response (that grows every response's
    // property store), and with on(): 'finish' comes once, and once() would wrap the listener per request.
    res.on('finish', responseSent);
  });
}

function headersTooSlow(guard: Guard): void {
  if (guard.phase !== 'headers' || guard.socket.destroyed) return;
  // Nothing arrived: an idle keep-alive connection, closed without a reply.
  if (guard.socket.bytesRead === guard.bytesAtArm) guard.socket.destroy();
  else refuseOnSocket(guard.log, guard.socket, 'request_timeout', 'request headers too slow (408)', undefined);
}

function bodyTooSlow(guard: Guard): void {
  // The request is in the pipeline: the 408 goes out in its name, and its access line says so.
  if (guard.phase === 'body') refuseOnSocket(guard.log, guard.socket, 'request_timeout', 'request body too slow (408)', guard.res);
}

function bodyArrived(this: IncomingMessage): void {
  const guard = (this.socket as GuardedSocket)[GUARD];
  if (guard?.phase === 'body') guard.phase = 'busy';
}

function responseSent(this: ServerResponse): void {
  const guard = (this.req.socket as GuardedSocket | null)?.[GUARD];
  // A pipelined request's response may finish after the next one began: only the current one re-arms.
  if (guard !== undefined && guard.res === this && !guard.socket.destroyed) guard.awaitHeaders();
}

function dropGuard(this: GuardedSocket): void {
  const guard = this[GUARD];
  if (guard === undefined) return;
  clearTimeout(guard.headersTimer);
  clearTimeout(guard.bodyTimer);
}
