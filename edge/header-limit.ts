// Stage: the configured ceiling on request-line-plus-headers size, 431 over
// it. Node's parser already refuses more than its own 16 KiB (also 431); this
// lets an operator set a lower ceiling, which Node cannot do for HTTP/1.1 on
// an HTTP/2 listener.
import type { Stage } from '../shared/exchange.js';
import { GatewayError } from '../shared/errors.js';

export function limitHeaders(maxBytes: number): Stage {
  return (_ex, request) => {
    const raw = request.raw.rawHeaders;
    let size = (request.raw.url ?? '').length;
    for (let i = 0; i < raw.length; i++) size += raw[i]!.length + 2;
    if (size > maxBytes) throw new GatewayError('headers_too_large', `request headers ${size} bytes over the limit ${maxBytes}`);
  };
}
