// Stage: the configured ceilings on request-line-plus-headers size and on the
// number of header lines, 431 over either. Node's parser already refuses more
// than its own 16 KiB (also 431); this lets an operator set a lower ceiling,
// which Node cannot do for HTTP/1.1 on an HTTP/2 listener. Past 2,000 lines
// Node drops the rest silently (maxHeadersCount), so a count above that is
// never seen; any limit below it is.
import type { Stage } from '../shared/exchange.js';
import { GatewayError } from '../shared/errors.js';

export function limitHeaders(maxBytes: number, maxCount: number): Stage {
  return (_ex, request) => {
    const raw = request.raw.rawHeaders;
    if (raw.length > 2 * maxCount) throw new GatewayError('headers_too_large', `${raw.length / 2} request header lines, over the limit ${maxCount}`);
    let size = (request.raw.url ?? '').length;
    for (let i = 0; i < raw.length; i++) size += raw[i]!.length + 2;
    if (size > maxBytes) throw new GatewayError('headers_too_large', `request headers ${size} bytes over the limit ${maxBytes}`);
  };
}
