// The per-request state a tier's stages share, created once per request and
// read by the access log. A class (not an object literal) so every request
// has the same hidden shape.
import type { GatewayReply, GatewayRequest } from './http/gateway-io.js';
import type { TraceContext } from './trace.js';
import type { Forwarded } from './http/forwarded.js';
import type { CompiledRoute } from './routing/route-table.js';
import type { Identity } from './auth-types.js';
import type { AttemptRecord } from './telemetry/attempt.js';
import type { Duplex, Readable } from 'node:stream';
import type { ErrorCode } from './errors.js';

export class Exchange {
  trace: TraceContext | undefined = undefined;
  forwarded: Forwarded | undefined = undefined;
  /** :authority on HTTP/2 (a conflicting Host is ignored), Host on HTTP/1. */
  authority = '';
  /** The normalised path and the query, as sent upstream. */
  path = '';
  search = '';
  route: CompiledRoute<unknown> | undefined = undefined;
  service: string | undefined = undefined;
  upstream: string | undefined = undefined;
  /** Who the request is from, once authenticated (edge) or verified (router). */
  identity: Identity | undefined = undefined;
  /** Issuer, key id or consumer behind an authentication refusal: logged, never replied. */
  authDetail: Readonly<Record<string, string>> | undefined = undefined;
  /** Headers a stage sets for the next hop, after the client's were sanitised. */
  upstreamHeaders: Record<string, string> | undefined = undefined;
  /** Client headers a stage consumed and must not be passed on (credentials). Built per route, shared. */
  dropHeaders: readonly string[] | undefined = undefined;
  /** Cookies a stage consumed (the session cookie): removed from Cookie upstream, other cookies kept. */
  dropCookies: readonly string[] | undefined = undefined;
  /** Header edits a route makes to the response before it goes back. */
  responseEdits: { readonly set: Readonly<Record<string, string>>; readonly remove: readonly string[] } | undefined = undefined;
  /** The body to send upstream when a stage wrapped it (size limit); undefined means the request's own. */
  body: Readable | undefined = undefined;
  /** Why the gateway refused or failed the request; logged, never replied. */
  reason: string | undefined = undefined;
  /** The gateway error replied, if one was: a closed set (shared/errors.ts), unlike reason, so metrics may label by it. */
  errorCode: ErrorCode | undefined = undefined;
  /** Why authentication or authorization refused the request, from a closed set (RFC 6750 codes, 'no_credential', authz:<rule kind>): the metrics' reason label. */
  authFailure: string | undefined = undefined;
  /** Body bytes written to the client: a proxied body's as they go, a gateway error's own when written raw. */
  bytesOut = 0;
  /** Set when the exchange broke off before its response was whole: by whom, and why (the access line's outcome and reason). */
  aborted: AbortOutcome | undefined = undefined;
  abortReason: string | undefined = undefined;
  /** A status the gateway wrote straight to the connection (a parser's or a slow client's 400/408), not through the response. */
  rawStatus = 0;
  /** Attempts beyond the first that this request needed (retries to other instances). */
  retries = 0;
  /** Set on a WebSocket handshake: the upstream stage then tunnels to the instance instead of forwarding. */
  upgrade: ClientUpgrade | undefined = undefined;
  /** The upstream attempts, noted for trace export; undefined (nothing noted) when the tier exports no traces. */
  attempts: AttemptRecord[] | undefined = undefined;
  readonly startedAt = performance.now();

  constructor(readonly requestId: string) {}

  /** The first cause wins: a client that leaves after its upstream failed does not make it a client abort. */
  breakOff(outcome: AbortOutcome, reason: string): void {
    if (this.aborted !== undefined) return;
    this.aborted = outcome;
    this.abortReason = reason;
  }
}

/** A client's WebSocket handshake: its connection, the bytes that came after the head, and the status it was answered (0 until then). */
export interface ClientUpgrade {
  readonly socket: Duplex;
  readonly head: Buffer;
  status: number;
}

/**
 * Who ended an exchange before its response was whole (the access line's outcome; otherwise 'completed'):
 * the client (it left, or its request broke off), the upstream (it failed once its response had begun),
 * or the gateway itself (an error of its own after the head went out).
 */
export type AbortOutcome = 'client-aborted' | 'upstream-aborted' | 'gateway-aborted';

/** One step of a tier's pipeline. It may answer the request itself or throw a GatewayError to stop. */
export type Stage = (ex: Exchange, request: GatewayRequest, reply: GatewayReply) => void | Promise<void>;

/**
 * Runs the stages in order until one answers. Synchronous while the stages are (most are): a promise
 * only from the first stage that returns one, so a request does not pay a promise and a microtask
 * turn per chain. A stage's throw comes out synchronously or as the rejection, wherever it happened.
 */
export function runStages(stages: readonly Stage[], ex: Exchange, request: GatewayRequest, reply: GatewayReply, from = 0): void | Promise<void> {
  for (let i = from; i < stages.length && !reply.sent; i++) {
    const pending = stages[i]!(ex, request, reply);
    if (pending !== undefined) return i + 1 === stages.length ? pending : pending.then(() => runStages(stages, ex, request, reply, i + 1));
  }
  return undefined;
}
