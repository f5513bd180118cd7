// Stage: a request every backend can read only one way. Node's parser already
// refuses the classic smuggling shapes (Content-Length with Transfer-Encoding,
// bad lengths, obs-fold, bare CR or LF, NUL); what it lets through is refused
// here with 400, and the connection closed, before any stage acts on it:
//  - more than one Host line, or a Host that is not host[:port] (RFC 9112
//    3.2): routing reads the first, a backend or cache behind may read another;
//  - a Transfer-Encoding other than chunked alone: the gateway forwards the
//    body de-chunked, so any other coding (gzip, chunked) would reach the
//    backend as bytes that no longer say how they are coded (RFC 9112 6.1).
// HTTP/2 carries neither: its authority is :authority and it has no chunking.
// Its CONNECT is refused here too (a tunnel is no route), as a 400 on its own
// stream; HTTP/1.1's never reaches a stage (tier-app.ts answers it).
import type { Stage } from '../exchange.js';
import { GatewayError } from '../errors.js';

// RFC 3986 uri-host (IP literal, or reg-name: unreserved, pct-encoded, sub-delims) and an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]{2,63}\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]{0,5})?$/;
const CLOSE = { connection: 'close' } as const;

export const checkFraming: Stage = (_ex, request) => {
  const raw = request.raw;
  if (raw.httpVersionMajor !== 1) {
    if (request.method === 'CONNECT') throw new GatewayError('bad_request', `CONNECT ${String(request.headers[':authority']).slice(0, 200)} refused`);
    return;
  }
  const hosts = hostLines(raw.rawHeaders);
  if (hosts > 1) throw refused(`${hosts} Host header lines`);
  const host = request.headers.host;
  if (host === undefined ? raw.httpVersionMinor === 1 : !HOST.test(host)) throw refused(host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))} is not host[:port]`);
  const coding = request.headers['transfer-encoding'];
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') throw refused(`Transfer-Encoding ${JSON.stringify(coding.slice(0, 100))}: only chunked alone is forwarded`);
};

function hostLines(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

function refused(reason: string): GatewayError {
  return new GatewayError('bad_request', `refused message framing: ${reason}`, CLOSE);
}
