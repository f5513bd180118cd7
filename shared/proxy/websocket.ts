// WebSocket upgrades through a tier. A handshake runs the tier's whole
// pipeline, the same stage list as any request (normalisation, authentication
// or identity check, route match, limits, authorization); its last stage, the
// upstream stage, sees ex.upgrade and tunnels to the instance it chose
// instead of forwarding (shared/stages/upstream.ts). Only `Upgrade: websocket`
// on GET is let in (never h2c or other protocols), and an upstream that does
// not answer 101 never gets a tunnel: its refusal (>= 400) is relayed as a
// refused request's answer would be (the router's 401, 403, 503 reach the
// client through the edge), any other answer is a 502.
import type { Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { Logger } from 'pino';
import { clientResponseHeaders } from '../http/headers.js';
import { ProxyRequest, type GatewayReply } from '../http/gateway-io.js';
import { Exchange, runStages, type ClientUpgrade, type Stage } from '../exchange.js';
import { ERRORS, GatewayError, errorBody, rawErrorResponse, type ErrorCode } from '../errors.js';
import type { TrustFn } from '../http/forwarded.js';
import { requestIdOf } from '../http/request-id.js';
import { logAccess } from '../access-log.js';
import type { CurrentPipeline } from '../http/gateway-handler.js';

export interface UpgradeEntry {
  /** The tier's pipeline, the very list its requests run, as of now: read once per handshake (a reload swaps it). */
  readonly pipeline: CurrentPipeline;
  readonly trust: TrustFn;
  readonly log: Logger;
}

const ANSWERED = new Set(['sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);
// A handshake has no HTTP reply until the tunnel answers: stages only ever set headers on it, and those are dropped.
const HANDSHAKE = { sent: false, header: () => HANDSHAKE, headers: () => HANDSHAKE } as unknown as GatewayReply;

/** The instance answered the handshake with neither 101 nor a refusal (>= 400): no tunnel, and nothing to relay. */
export class TunnelRefused extends Error {}

export function acceptUpgrades(server: Server, o: UpgradeEntry): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { void handshake(req, socket, head, o); });
}

async function handshake(req: IncomingMessage, socket: Duplex, head: Buffer, o: UpgradeEntry): Promise<void> {
  socket.on('error', () => socket.destroy());
  const ex = new Exchange(requestIdOf(req, o.trust));
  const client: ClientUpgrade = { socket, head, status: 0 };
  ex.upgrade = client;
  const request = new ProxyRequest(ex.requestId, req);
  try {
    if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket') throw new GatewayError('bad_request', `refused upgrade to ${String(req.headers.upgrade).slice(0, 40)}`);
    await runStages(o.pipeline.stages, ex, request, HANDSHAKE);
    // Every stage ran and none threw: the last one answered, unless the pipeline has no upstream stage.
    if (client.status === 0) throw new Error('no stage answered the handshake');
    logAccess(o.log, ex, req, client.status, ex.bytesOut, 'completed', 'websocket');
  } catch (err) {
    const code: ErrorCode = err instanceof GatewayError ? err.code : 'internal';
    ex.reason = err instanceof GatewayError ? err.reason : (err as Error).message;
    if (code === 'internal') o.log.error({ err, requestId: ex.requestId }, 'unexpected error');
    // With the request id in a header too, as every reply of the tier has it.
    socket.end(rawErrorResponse(code, ex.requestId, { 'x-request-id': ex.requestId, ...(err instanceof GatewayError && err.headers) }));
    logAccess(o.log, ex, req, ERRORS[code].status, Buffer.byteLength(errorBody(code, ex.requestId)), 'completed', 'websocket');
  }
}

/** How the instance answered a handshake: 101 with its socket, or a refusal (status >= 400) with its body. */
export type HandshakeAnswer = Switched | Refused;
interface Switched { readonly rawHeaders: readonly Buffer[]; readonly socket: Duplex }
interface Refused { readonly status: number; readonly headers: OutgoingHttpHeaders; readonly body: Buffer; readonly socket?: undefined }

// A refusal is a JSON error or a short page: anything longer is not relayed.
const MAX_REFUSAL_BYTES = 64 * 1024;

/**
 * Sends the handshake to the instance behind pool. Resolves with its 101 (the socket to tunnel to) or
 * its refusal (>= 400, to relay as the instance's word, as a refused request's answer is); rejects
 * with TunnelRefused on any other answer (a 200 is no switch of protocols), or with the connection's
 * error (UND_ERR_HEADERS_TIMEOUT past timeoutMs) when no answer came.
 */
export function handshakeUpstream(pool: Pool, pathAndQuery: string, headers: Record<string, string | string[]>, timeoutMs: number): Promise<HandshakeAnswer> {
  const handler = new Handshake();
  pool.dispatch({ path: pathAndQuery, method: 'GET', headers, upgrade: 'websocket', headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler as unknown as Dispatcher.DispatchHandler);
  return handler.answered;
}

/** undici's handler interface, for an upgrade that may be answered either way (its own upgrade() takes only 101). */
class Handshake {
  readonly answered: Promise<HandshakeAnswer>;
  private resolve!: (answer: HandshakeAnswer) => void;
  private reject!: (err: unknown) => void;
  private abort: ((reason?: unknown) => void) | undefined = undefined;
  private status = 0;
  private headers: OutgoingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  constructor() {
    this.answered = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
  }

  onConnect(abort: (reason?: unknown) => void): void {
    this.abort = abort;
  }

  onUpgrade(_statusCode: number, rawHeaders: Buffer[], socket: Duplex): void {
    this.resolve({ rawHeaders, socket }); // undici calls this for 101 only
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx other than 101: the real answer follows
    if (statusCode < 400) return this.refuse(new TunnelRefused(`the instance answered ${statusCode} without switching protocols`));
    this.status = statusCode;
    this.headers = clientResponseHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > MAX_REFUSAL_BYTES) return this.refuse(new TunnelRefused(`the instance refused the upgrade with a body over ${MAX_REFUSAL_BYTES} bytes`));
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.resolve({ status: this.status, headers: this.headers, body: Buffer.concat(this.chunks) });
  }

  onError(err: unknown): void {
    this.reject(err); // after refuse(), a no-op: the promise is settled
  }

  /** Settles with the refusal and drops the answer's connection (the rest of it will never be read). */
  private refuse(err: TunnelRefused): false {
    this.reject(err);
    this.abort?.(err);
    return false;
  }
}

/** Joins the client's socket to the instance's once it answered 101; the handshake's answer carries our request id. */
export function openTunnel(client: ClientUpgrade, answer: Switched, requestId: string): void {
  const { socket } = client;
  const upstream = answer.socket;
  let head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
  const raw = answer.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (ANSWERED.has(name)) head += `${name}: ${raw[i + 1]!.toString('latin1')}\r\n`;
  }
  socket.write(`${head}x-request-id: ${requestId}\r\n\r\n`);
  if (client.head.length > 0) upstream.write(client.head);
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
  socket.pipe(upstream).pipe(socket);
  client.status = 101;
}

/** The instance's refusal of the handshake, relayed whole on the client's connection, which then closes. */
export function relayRefusal(client: ClientUpgrade, answer: Refused, requestId: string): number {
  const headers: OutgoingHttpHeaders = { ...answer.headers, 'content-length': answer.body.length, 'x-request-id': requestId };
  let head = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else if (value !== undefined) head += `${name}: ${value}\r\n`;
  }
  client.socket.end(Buffer.concat([Buffer.from(`${head}connection: close\r\n\r\n`, 'latin1'), answer.body]));
  client.status = answer.status;
  return answer.body.length;
}
