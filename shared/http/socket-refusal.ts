// The JSON error written straight to a connection no response object can
// answer: a request Node's parser refused, or one too slow to arrive. A
// request in flight on the connection gets it in its own name and its access
// line says so (status, client-aborted, why); it must never be written once
// that request's response has begun, nor ever leave a second line for it.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ERRORS, errorBody, rawErrorResponse, type ErrorCode } from '../errors.js';
import { exchangeOfResponse } from '../access-log.js';
import { peerAddress } from './peer-address.js';

/** The response an HTTP/1.1 socket is currently serving, if any (Node's own field). */
export function responseInFlight(socket: Socket): unknown {
  return (socket as Socket & { _httpMessage?: unknown })._httpMessage ?? undefined;
}

/** Answers code and closes the connection; reason goes to the log, never to the client. */
export function refuseOnSocket(log: Logger, socket: Socket, code: ErrorCode, reason: string, inFlight: unknown): void {
  if (socket.destroyed) return;
  const ex = exchangeOfResponse(inFlight);
  const requestId = ex?.requestId ?? randomUUID();
  if (ex === undefined) log.info({ event: 'client-error', requestId, client: peerAddress(socket), reason });
  else ex.breakOff('client-aborted', reason);
  // A response already begun cannot be followed by another on the same connection: it is cut instead.
  if (!socket.writable || (inFlight as { headersSent?: boolean } | undefined)?.headersSent === true) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(code, requestId));
  if (ex !== undefined) {
    ex.rawStatus = ERRORS[code].status;
    ex.bytesOut = Buffer.byteLength(errorBody(code, requestId));
  }
  // A client that never closes its side does not keep the connection (nor a request in flight on it).
  setTimeout(destroySocket, 1_000, socket).unref();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
