// One request to an upstream, as an undici dispatch handler that writes the
// response body straight into the client's response. Hand-written instead of
// undici's request(): that builds a Readable body per response and needs a
// pipe (stream machinery, listeners, extra ticks) to reach the client; this
// is the hot path of both tiers, and going without them measured about 20%
// less CPU per proxied request than request() + pipe (bench/).
//
// The call pauses undici's parser when the response head arrives, so the
// forward stage can look at the status (a retry on 502-504 discards the body
// and keeps the connection) before any byte reaches the client.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { clientResponseHeaders } from '../http/headers.js';
import { cutResponse, type RawRequest, type RawResponse } from '../http/gateway-io.js';
import type { Instance } from '../discovery/instance.js';
import type { Exchange } from '../exchange.js';
import { callFailure } from './call-failure.js';

/**
 * How an attempt went, for the instance's health (outlier detection, its circuit, the balancer):
 * - answered: a response came, and says the instance is up;
 * - error-answer: the instance answered 5xx, its own failure (a backend's; a router's 5xx relays one);
 * - unanswered: the whole request reached the instance and no response came (reset, timeout), or no
 *   connection could be made to it at all;
 * - not-blamed: the attempt failed in a way the client may have caused (its body stalled or broke off
 *   before the instance had it whole), or the gateway cut it (a route's total timeout).
 */
export type AttemptOutcome = 'answered' | 'error-answer' | 'unanswered' | 'not-blamed';

/** What counts an attempt as in flight (a service's breakers, connection queue and balancer) until it ends. */
export interface AttemptCounts {
  end(instance: Instance, outcome: AttemptOutcome, latencyMs: number): void;
}

/** Where a call reports to its exchange: the body bytes passed on, and an upstream that broke its response off. */
export type CallCounter = Pick<Exchange, 'bytesOut' | 'breakOff'>;

const CALL = Symbol('gatehouse.upstreamCall');
type Sink = RawResponse & { [CALL]?: UpstreamCall };
type Source = RawRequest & { [CALL]?: UpstreamCall };

export class UpstreamCall {
  statusCode = 0;
  /** undici put the request on a connection to the upstream: a failure before is the connection's. */
  connected = false;
  /** The whole request, body included, was written to the upstream: only then does it owe an answer. */
  requestSent = false;
  /** The gateway ended the call itself (a route's total timeout, the client gone): never the upstream's failure. */
  cut = false;
  /** The client went first: a response cut after that is the client's doing, not the upstream's. */
  private clientLeft = false;
  /** The response's headers as the client gets them (hop-by-hop ones dropped). */
  clientHeaders: OutgoingHttpHeaders = {};
  /** Resolves with this call once the response head arrived; rejects when no response came. */
  readonly started: Promise<UpstreamCall>;
  private resolve!: (call: UpstreamCall) => void;
  private reject!: (err: unknown) => void;
  private abortFn: ((reason?: unknown) => void) | undefined = undefined;
  private resumeFn: (() => void) | undefined = undefined;
  private sink: Sink | undefined = undefined;
  private discarding = false;
  private listensForDrain = false;
  private ended = false;
  private failure: unknown = undefined;
  private abortReason: unknown = undefined;
  /** undici is done with the call (complete or failed): its connection serves the next request. */
  private over = false;
  // The attempt to end when the call is over; fields rather than an object or a closure per request.
  private counts: AttemptCounts | undefined = undefined;
  private instance: Instance | undefined = undefined;
  private outcome: AttemptOutcome = 'answered';
  private latencyMs = 0;

  /** counter.bytesOut grows with every body byte passed to the client (the access log's bytesOut). */
  constructor(private readonly counter: CallCounter) {
    this.started = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
  }

  /** Ends the call with this reason (a route's total timeout), whatever stage it is in. */
  abort(reason: unknown): void {
    this.cut = true;
    if (this.abortFn !== undefined) this.abortFn(reason);
    else this.abortReason = reason;
  }

  // undici's handler interface, in the order undici calls it.

  onConnect(abort: (reason?: unknown) => void): void {
    this.connected = true;
    if (this.abortReason !== undefined) abort(this.abortReason);
    else this.abortFn = abort;
  }

  onRequestSent(): void {
    this.requestSent = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the real response follows
    this.statusCode = statusCode;
    this.clientHeaders = clientResponseHeaders(rawHeaders);
    this.resumeFn = resume;
    this.resolve(this);
    return false; // paused until pipeTo() or discard()
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    this.counter.bytesOut += chunk.length;
    if ((this.sink as ServerResponse).write(chunk)) return true;
    // Backpressure: undici pauses until drained() resumes it. Listened for only now, as most bodies never fill the socket.
    if (!this.listensForDrain) {
      this.listensForDrain = true;
      this.sink!.on('drain', resumeCall);
    }
    return false;
  }

  onComplete(): void {
    this.ended = true;
    this.sink?.end();
    this.callOver();
  }

  onError(err: Error): void {
    if (this.statusCode === 0) this.reject(callFailure(err, this));
    else if (this.sink !== undefined) this.brokeOff(this.sink, err);
    else this.failure = err;
    this.callOver();
  }

  /** The response broke off after its head: the client's is cut too (a truncated body must not look complete). */
  private brokeOff(sink: Sink, err: unknown): void {
    if (!this.clientLeft) this.counter.breakOff('upstream-aborted', upstreamBreak(err));
    cutResponse(sink);
  }

  /**
   * Ends the attempt in counts once the body is over (at once if it already is), with the outcome and
   * latency of its head: a streamed body keeps its connection busy and its place under maxConcurrent,
   * maxPending and the least-request count until its last byte, or until it fails or is abandoned.
   */
  endAttemptWhenOver(counts: AttemptCounts, instance: Instance, outcome: AttemptOutcome, latencyMs: number): void {
    if (this.over) {
      counts.end(instance, outcome, latencyMs);
      return;
    }
    this.counts = counts;
    this.instance = instance;
    this.outcome = outcome;
    this.latencyMs = latencyMs;
  }

  private callOver(): void {
    if (this.over) return;
    this.over = true;
    const counts = this.counts;
    if (counts === undefined) return;
    this.counts = undefined;
    counts.end(this.instance!, this.outcome, this.latencyMs);
  }

  /**
   * Ties the call to its client from dispatch on, not only once a response streams: a client gone
   * before the response's end (a dropped connection, a cancelled HTTP/2 stream) aborts the call at
   * once, so the upstream sees its request cut off and the connection is freed, instead of held until
   * the backend answers into nowhere (HTTP/2 rapid reset, CVE-2023-44487, turns that into a flood).
   * Called for every attempt; a retry's call takes over the listeners the first attempt registered.
   */
  watchClient(req: Source, res: Sink): void {
    if (clientGone(res)) {
      this.clientClosed();
      return;
    }
    const watched = res[CALL] !== undefined;
    res[CALL] = this;
    if (watched) {
      if (req[CALL] !== undefined) req[CALL] = this;
      return;
    }
    res.on('close', abandonCall);
    // A reset HTTP/2 stream ends the compatibility request's body as if it were complete, and that end
    // can reach undici before the response's 'close' does: the upstream request would then go out whole
    // (RST_STREAM before END_STREAM, more DATA than content-length). 'aborted' comes first, synchronously.
    // HTTP/1.1 fails a body cut off by its connection, so undici aborts without help.
    if (req.httpVersionMajor === 2) {
      req[CALL] = this;
      req.on('aborted', abandonCall);
    }
  }

  /** Streams the body into the client's response, its status and headers already set. */
  pipeTo(sink: Sink): void {
    if (this.failure !== undefined) {
      this.brokeOff(sink, this.failure);
      return;
    }
    if (clientGone(sink)) { // the client left while the head was on its way: no 'close' will come
      this.clientClosed();
      return;
    }
    this.sink = sink;
    if (sink[CALL] !== this) { // not watched since dispatch (a call made outside the upstream stage)
      sink[CALL] = this;
      sink.on('close', abandonCall);
    }
    if (this.ended) {
      sink.end();
      return;
    }
    this.resumeFn!(); // writes at once whatever of the body already arrived with the head
    // None had: the head goes on its own so a streaming client (server-sent events, long polls) sees
    // it now, not with the first body byte; a body that came with the head still leaves in one write.
    if (!this.ended && !sink.headersSent && !clientGone(sink)) (sink as ServerResponse).flushHeaders(); // http2's compatibility response has it too, untyped
  }

  /** Reads the rest of the body into nothing, so the connection can serve the next request. */
  discard(): void {
    this.discarding = true;
    this.resumeFn?.();
  }

  /** The client's response drained: more body may flow. */
  drained(): void {
    this.resumeFn?.();
  }

  /** The client's response closed or its stream was reset: unless undici is done with it, the upstream request ends too. */
  clientClosed(): void {
    this.clientLeft = true;
    if (!this.over) this.abort(new Error('client went away'));
  }
}

/** The access line's reason for a response the upstream broke off. */
function upstreamBreak(err: unknown): string {
  const { code, name } = err as { code?: string | number; name?: string };
  switch (code) {
    case 'ECONNRESET': case 'EPIPE': case 'UND_ERR_SOCKET': case 'UND_ERR_CLOSED':
      return 'upstream reset';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'upstream timeout';
    case 23: // DOMException TIMEOUT_ERR from AbortSignal.timeout
      return 'upstream timeout (route totalTimeoutMs)';
    default:
      return name === 'TimeoutError' ? 'upstream timeout (route totalTimeoutMs)' : `upstream failed (${String(code ?? name)})`;
  }
}

/** The client can take no more of a response: its connection closed, or (HTTP/2) its stream did. */
function clientGone(res: RawResponse): boolean {
  // http2's compatibility response has no destroyed of its own; its stream's says it.
  return 'stream' in res ? res.stream.destroyed : res.destroyed;
}

// Prebuilt listeners (no closure per request): the response finds its call through a symbol.
function resumeCall(this: Sink): void {
  this[CALL]?.drained();
}

/** A client gone before the end frees the upstream connection instead of streaming into nowhere. */
function abandonCall(this: Sink | Source): void {
  this[CALL]?.clientClosed();
}
