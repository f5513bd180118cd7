// The address a connection's client is known by, read in one place for every
// log line, trust decision and rate-limit key: the source a trusted balancer's
// PROXY protocol header gave (edge/proxy-protocol), else the TCP peer. Never
// looks at HTTP headers: X-Forwarded-For on top of it is forwarded.ts's.
import { plainAddress } from './forwarded.js';

/** Set on a TLS socket once, when its connection's PROXY header is believed; absent otherwise. */
export const PEER_ADDRESS = Symbol('gatehouse.peerAddress');

export interface AddressedSocket {
  readonly remoteAddress?: string | undefined;
  [PEER_ADDRESS]?: string;
}

/**
 * One property read: an HTTP/2 request's socket is Node's proxy of the session's TLS socket, which passes
 * reads of unknown keys (this symbol included) through to it; an HTTP/1.1 request's is the TLS socket.
 */
export function peerAddress(socket: AddressedSocket | null | undefined): string {
  return socket?.[PEER_ADDRESS] ?? plainAddress(socket?.remoteAddress);
}
