// Stage: a route's request-body limit. A declared Content-Length over the
// limit is refused before anything is read or forwarded; a body of unknown
// length (chunked, HTTP/2) is counted as it streams and cut off, with 413,
// the moment it crosses the limit, without buffering it.
import { Transform, type TransformCallback } from 'node:stream';
import type { Stage } from '../shared/exchange.js';
import { GatewayError } from '../shared/errors.js';
import { requestBody } from '../shared/proxy/forward.js';

export function limitBody(maxBytes: number): Stage {
  return (ex, request) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > maxBytes) throw new GatewayError('payload_too_large', `content-length ${declared} over the route limit ${maxBytes}`);
      return;
    }
    const body = requestBody(request.method, request.headers, request.raw);
    if (body !== null) ex.body = body.pipe(new ByteLimit(maxBytes));
  };
}

export class BodyTooLarge extends Error {
  readonly code = 'GATEHOUSE_BODY_TOO_LARGE';
}

class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) done(new BodyTooLarge(`request body over the route limit ${this.max}`));
    else done(null, chunk);
  }
}
