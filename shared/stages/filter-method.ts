// Stage: only the methods a route can name go on (the Method list of
// shared/config/schema.ts); any other (TRACE, PROPFIND, a made-up verb) is
// 404 before any work, as no route could ever match it. HTTP/2's CONNECT goes
// on, to be refused as malformed by check-framing (HTTP/1.1's never reaches a
// stage: tier-app.ts answers it on its socket).
import type { Stage } from '../exchange.js';
import { GatewayError } from '../errors.js';
import { ROUTE_METHODS } from '../config/schema.js';

const ROUTABLE = new Set<string>([...ROUTE_METHODS, 'CONNECT']);

export const filterMethod: Stage = (_ex, request) => {
  if (!ROUTABLE.has(request.method)) throw new GatewayError('not_found', `method ${request.method.slice(0, 32)} not routable`);
};
