// WebSocket upgrades through a tier. An upgrade runs the tier's own stages
// (normalisation, authentication or identity check, route match, limits,
// authorization) on the handshake, then, for routes with websocket: true,
// tunnels bytes to an instance that answered 101. Only `Upgrade: websocket`
// is passed on (never h2c or other protocols), and an upstream that does not
// answer 101 never gets a tunnel.
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { ProxyRequest, type GatewayReply } from '../http/gateway-io.js';
import type { Logger } from 'pino';
import { Exchange, runStages, type Stage } from '../exchange.js';
import { ERRORS, GatewayError, errorBody, rawErrorResponse, type ErrorCode } from '../errors.js';
import { upstreamHeadersOf, type ForwardSettings } from '../stages/forward-upstream.js';
import type { TrustFn } from '../http/forwarded.js';
import { requestIdOf } from '../http/request-id.js';
import { logAccess } from '../access-log.js';

export interface WebSocketProxy {
  /** The tier's stages before forwarding, and its forwarding, as of now: a reload swaps both. */
  readonly current: { readonly stages: readonly Stage[]; readonly forward: ForwardSettings };
  readonly trust: TrustFn;
  readonly log: Logger;
}

const ANSWERED = new Set(['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);

export function attachWebSocketProxy(server: Server, o: WebSocketProxy): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { void tunnel(req, socket, head, o); });
}

async function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, o: WebSocketProxy): Promise<void> {
  socket.on('error', () => socket.destroy());
  const { stages, forward } = o.current;
  const ex = new Exchange(requestIdOf(req, o.trust));
  const request = new ProxyRequest(ex.requestId, req);
  // A handshake has no HTTP reply until the tunnel answers: stages only ever set headers on it.
  const reply = { sent: false, header: () => reply, headers: () => reply } as unknown as GatewayReply;
  try {
    if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket') throw new GatewayError('bad_request', `refused upgrade to ${String(req.headers.upgrade).slice(0, 40)}`);
    await runStages(stages, ex, request, reply);
    if (!ex.route?.config.websocket) throw new GatewayError('not_found', `route ${ex.route?.name} does not take WebSocket upgrades`);
    const service = forward.directory.service(forward.serviceOf(ex))!;
    ex.service = service.name;
    const instance = service.choose({ hashKey: service.hashKey?.(ex, request) });
    if (instance === undefined) throw new GatewayError('no_healthy_upstream', `service ${service.name} has no passing instance`);
    ex.upstream = instance.origin;
    const headers = upstreamHeadersOf(ex, req.headers);
    headers.host = forward.preserveHost ? ex.authority : instance.authority;
    const upgraded = await forward.pools.get(instance.origin).upgrade({ path: ex.path + ex.search, method: 'GET', headers, protocol: 'websocket' })
      .catch((err: Error) => { throw new GatewayError('upstream_unreachable', `upgrade refused upstream: ${err.message}`); });
    let answer = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
    for (const [name, value] of Object.entries(upgraded.headers)) if (ANSWERED.has(name) && typeof value === 'string') answer += `${name}: ${value}\r\n`;
    socket.write(`${answer}x-request-id: ${ex.requestId}\r\n\r\n`);
    if (head.length > 0) upgraded.socket.write(head);
    upgraded.socket.on('error', () => socket.destroy());
    socket.on('close', () => upgraded.socket.destroy());
    upgraded.socket.on('close', () => socket.destroy());
    socket.pipe(upgraded.socket).pipe(socket);
    logAccess(o.log, ex, req, 101, 0, 'completed', 'websocket');
  } catch (err) {
    const code: ErrorCode = err instanceof GatewayError ? err.code : 'internal';
    ex.reason = err instanceof GatewayError ? err.reason : (err as Error).message;
    socket.end(rawErrorResponse(code, ex.requestId, err instanceof GatewayError ? err.headers : undefined));
    logAccess(o.log, ex, req, ERRORS[code].status, Buffer.byteLength(errorBody(code, ex.requestId)), 'completed', 'websocket');
  }
}
