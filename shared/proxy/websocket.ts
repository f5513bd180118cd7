// WebSocket upgrades through a tier. A handshake runs the tier's whole
// pipeline, the same stage list as any request (normalisation, authentication
// or identity check, route match, limits, authorization); its last stage, the
// upstream stage, sees ex.upgrade and tunnels to the instance it chose
// instead of forwarding (shared/stages/upstream.ts). Only `Upgrade: websocket`
// on GET is let in (never h2c or other protocols), and an upstream that does
// not answer 101 never gets a tunnel.
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Pool } from 'undici';
import type { Logger } from 'pino';
import { ProxyRequest, type GatewayReply } from '../http/gateway-io.js';
import { Exchange, runStages, type ClientUpgrade, type Stage } from '../exchange.js';
import { ERRORS, GatewayError, errorBody, rawErrorResponse, type ErrorCode } from '../errors.js';
import type { TrustFn } from '../http/forwarded.js';
import { requestIdOf } from '../http/request-id.js';
import { logAccess } from '../access-log.js';

export interface UpgradeEntry {
  /** The tier's pipeline, the very list its requests run. */
  readonly stages: readonly Stage[];
  readonly trust: TrustFn;
  readonly log: Logger;
}

const ANSWERED = new Set(['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);
// A handshake has no HTTP reply until the tunnel answers: stages only ever set headers on it, and those are dropped.
const HANDSHAKE = { sent: false, header: () => HANDSHAKE, headers: () => HANDSHAKE } as unknown as GatewayReply;

/** The instance answered the handshake, but not with 101: it refused the upgrade. */
export class TunnelRefused extends Error {}

export function acceptUpgrades(server: Server, o: UpgradeEntry): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { void handshake(req, socket, head, o); });
}

async function handshake(req: IncomingMessage, socket: Duplex, head: Buffer, o: UpgradeEntry): Promise<void> {
  socket.on('error', () => socket.destroy());
  const ex = new Exchange(requestIdOf(req, o.trust));
  const client: ClientUpgrade = { socket, head, tunnelled: false };
  ex.upgrade = client;
  const request = new ProxyRequest(ex.requestId, req);
  try {
    if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket') throw new GatewayError('bad_request', `refused upgrade to ${String(req.headers.upgrade).slice(0, 40)}`);
    await runStages(o.stages, ex, request, HANDSHAKE);
    // Every stage ran and none threw: the last one tunnelled, unless the pipeline has no upstream stage.
    if (!client.tunnelled) throw new Error('no stage opened the tunnel');
    logAccess(o.log, ex, req, 101, 0, 'completed', 'websocket');
  } catch (err) {
    const code: ErrorCode = err instanceof GatewayError ? err.code : 'internal';
    ex.reason = err instanceof GatewayError ? err.reason : (err as Error).message;
    if (code === 'internal') o.log.error({ err, requestId: ex.requestId }, 'unexpected error');
    socket.end(rawErrorResponse(code, ex.requestId, err instanceof GatewayError ? err.headers : undefined));
    logAccess(o.log, ex, req, ERRORS[code].status, Buffer.byteLength(errorBody(code, ex.requestId)), 'completed', 'websocket');
  }
}

/**
 * Asks the instance behind pool to switch protocols and, once it answered 101, joins its socket to the
 * client's. Rejects with TunnelRefused when it answered anything else, or with the connection's error
 * (or a TimeoutError past timeoutMs) when no answer came.
 */
export async function tunnel(pool: Pool, pathAndQuery: string, headers: Record<string, string | string[]>, timeoutMs: number, client: ClientUpgrade, requestId: string): Promise<void> {
  let upgraded: Awaited<ReturnType<Pool['upgrade']>>;
  try {
    upgraded = await pool.upgrade({ path: pathAndQuery, method: 'GET', headers, protocol: 'websocket', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    // undici's word for an answer that is not 101 (its UpgradeHandler.onHeaders).
    throw (err as Error).message === 'bad upgrade' ? new TunnelRefused('the instance answered without switching protocols') : err;
  }
  const { socket } = client;
  let answer = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
  for (const [name, value] of Object.entries(upgraded.headers)) if (ANSWERED.has(name) && typeof value === 'string') answer += `${name}: ${value}\r\n`;
  socket.write(`${answer}x-request-id: ${requestId}\r\n\r\n`);
  if (client.head.length > 0) upgraded.socket.write(client.head);
  upgraded.socket.on('error', () => socket.destroy());
  socket.on('close', () => upgraded.socket.destroy());
  upgraded.socket.on('close', () => socket.destroy());
  socket.pipe(upgraded.socket).pipe(socket);
  client.tunnelled = true;
}
