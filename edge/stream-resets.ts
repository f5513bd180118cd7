// Bounds HTTP/2 stream churn per connection (rapid reset, CVE-2023-44487): a
// stream the client opens and resets before its response costs the gateway a
// request (stages, an upstream dispatch) and the client one frame. Past
// maxStreamResets such streams within streamResetWindowMs, the connection gets
// GOAWAY(ENHANCE_YOUR_CALM) and is closed, as nginx and Envoy do. Only counts
// and closes; releasing each cancelled request's upstream call is the forward
// stage's (shared/proxy/upstream-call.ts).
import type { Server } from 'node:net';
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { peerAddress } from '../shared/http/peer-address.js';

export function limitStreamResets(server: Server, maxResets: number, windowMs: number, log: Logger): void {
  server.on('session', (session: ServerHttp2Session) => {
    const onStreamAborted = resetCounter(session, maxResets, windowMs, log);
    // One listener per stream, shared by the session's streams: no closure per request.
    session.on('stream', (stream: ServerHttp2Stream) => { stream.on('aborted', onStreamAborted); });
  });
}

/**
 * 'aborted' is a stream that closed before the gateway ended its response: reset by the client
 * (RST_STREAM of any code), or by the HTTP/2 layer for a protocol error. A fixed window per
 * connection; the clock is read only when a stream is aborted, never for a request that completes.
 */
function resetCounter(session: ServerHttp2Session, maxResets: number, windowMs: number, log: Logger): () => void {
  let resets = 0;
  let windowStart = 0;
  return () => {
    if (session.closed || session.destroyed) return; // going already (GOAWAY sent, or the connection dropped)
    const now = performance.now();
    if (now - windowStart >= windowMs) {
      windowStart = now;
      resets = 0;
    }
    if (++resets <= maxResets) return;
    log.warn({ event: 'http2-reset-flood', client: peerAddress(session.socket), resets, windowMs }, 'HTTP/2 stream resets over the budget: GOAWAY and close');
    // GOAWAY now, and no new stream; destroy() alone would close the TLS socket before the frame is
    // written (Node sends it on the next turn). Streams already open get a moment, then are reset.
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.close();
    setTimeout(closeNow, CLOSE_GRACE_MS, session).unref();
  };
}

const CLOSE_GRACE_MS = 1_000;

function closeNow(session: ServerHttp2Session): void {
  if (!session.destroyed) session.destroy();
}
