// The PROXY protocol on the edge's HTTPS listener: a connection from a trusted
// balancer gives its header first, before TLS; the client address it carries
// becomes the connection's peer address (shared/http/peer-address.ts), then the
// remaining bytes go to TLS untouched. Never reads a header from any other peer.
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { compileTrust, plainAddress, type TrustFn } from '../../shared/http/forwarded.js';
import { PEER_ADDRESS, type AddressedSocket } from '../../shared/http/peer-address.js';
import type { ProxyProtocolConfig } from './schema.js';
import { parseProxyHeader } from './header.js';

type ConnectionListener = (socket: Socket) => void;
type PeerSocket = Socket & AddressedSocket;

export interface ProxyProtocolGate {
  /** Closes the connections still owing their header, so a drain does not wait out their timeout. */
  close(): void;
}

/**
 * Puts the header read in front of TLS on server, a TLS (or HTTP/2 secure) server that has not begun
 * listening. A TLS server starts each handshake in its own 'connection' listener (the event Node
 * documents as the way to hand it a socket); that listener is taken off and called by this gate once
 * the header is read. Bytes that came with the header are unshifted: Node's TLS socket begins by
 * consuming whatever its raw socket holds buffered. Untrusted peers go straight on, at the cost of one
 * remembered CIDR answer per connection; nothing here runs per request.
 */
export function acceptProxyProtocol(server: Server, config: ProxyProtocolConfig, log: Logger): ProxyProtocolGate {
  const startTls = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const gate: Gate = {
    trusted: compileTrust(config.trustedPeers),
    required: config.required,
    timeoutMs: config.timeoutMs,
    pending: new Set(),
    refusals: new RefusalLog(log),
    handOn: (socket) => { for (const listener of startTls) listener.call(server, socket); },
  };
  server.on('connection', (socket: PeerSocket) => {
    // Anyone else speaks TLS from the first byte, as without this feature: a header they send fails the handshake.
    if (!gate.trusted(plainAddress(socket.remoteAddress), 0)) gate.handOn(socket);
    else awaitHeader(socket, gate);
  });
  // Requests see the TLS socket, never the raw one: it carries the address from its handshake on.
  // (_parent is how Node's TLS socket names the socket it wraps, on the server side as on the client's.)
  server.prependListener('secureConnection', (tls: TLSSocket & AddressedSocket & { _parent?: PeerSocket }) => {
    const address = tls._parent?.[PEER_ADDRESS];
    if (address !== undefined) tls[PEER_ADDRESS] = address;
  });
  return { close: () => { for (const socket of gate.pending) socket.destroy(); } };
}

interface Gate {
  readonly trusted: TrustFn;
  readonly required: boolean;
  readonly timeoutMs: number;
  readonly pending: Set<Socket>;
  readonly refusals: RefusalLog;
  readonly handOn: ConnectionListener;
}

/** Reads until the header is whole, absent or broken; a trusted peer's connection only, never a request's path. */
function awaitHeader(socket: PeerSocket, gate: Gate): void {
  let received: Buffer = Buffer.alloc(0);
  const peer = plainAddress(socket.remoteAddress);
  const timer = setTimeout(() => refuse(`no complete PROXY header within ${gate.timeoutMs} ms`), gate.timeoutMs);
  const stopWaiting = () => {
    clearTimeout(timer);
    gate.pending.delete(socket);
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('error', onError);
    socket.off('close', stopWaiting);
  };
  const refuse = (reason: string) => {
    stopWaiting();
    gate.refusals.add(peer, reason);
    socket.destroy();
  };
  const onEnd = () => { stopWaiting(); socket.destroy(); }; // a balancer's TCP check: connect, close
  const onError = () => { stopWaiting(); socket.destroy(); };
  const onReadable = () => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return;
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const verdict = parseProxyHeader(received);
    if (verdict.kind === 'incomplete') return;
    if (verdict.kind === 'invalid') return refuse(verdict.reason);
    if (verdict.kind === 'absent' && gate.required) return refuse('no PROXY header from a peer that must send one');
    stopWaiting();
    const rest = verdict.kind === 'header' ? received.subarray(verdict.length) : received;
    if (rest.length > 0) socket.unshift(rest);
    if (verdict.kind === 'header' && verdict.source !== undefined) socket[PEER_ADDRESS] = verdict.source;
    gate.handOn(socket);
  };
  gate.pending.add(socket);
  socket.on('readable', onReadable);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('close', stopWaiting);
}

const REFUSAL_WINDOW_MS = 10_000;

/**
 * At most one line per window however many connections are refused: the first at once, then a count of
 * the rest with the last one's peer and reason, at the window's end. A flood must not become a log flood.
 */
class RefusalLog {
  private quietUntil = 0;
  private unlogged = 0;
  private last = { peer: '', reason: '' };

  constructor(private readonly log: Logger) {}

  add(peer: string, reason: string): void {
    const now = performance.now();
    if (now >= this.quietUntil && this.unlogged === 0) {
      this.write(peer, reason, undefined);
      this.quietUntil = now + REFUSAL_WINDOW_MS;
      return;
    }
    this.last = { peer, reason };
    if (this.unlogged++ === 0) setTimeout(flush, Math.max(0, this.quietUntil - now), this).unref();
  }

  flushUnlogged(): void {
    this.write(this.last.peer, this.last.reason, this.unlogged);
    this.unlogged = 0;
    this.quietUntil = performance.now() + REFUSAL_WINDOW_MS;
  }

  private write(peer: string, reason: string, more: number | undefined): void {
    const text = more === undefined ? 'PROXY protocol header refused: connection closed'
      : `PROXY protocol headers refused: ${more} connections closed in the last ${REFUSAL_WINDOW_MS / 1000} s (the last one's peer and reason)`;
    this.log.warn({ event: 'proxy-protocol-refused', peer, reason, ...(more !== undefined && { refused: more }) }, text);
  }
}

function flush(refusals: RefusalLog): void {
  refusals.flushUnlogged();
}
