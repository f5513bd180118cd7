// Stage: the configured route for this request, or 404.
import type { Stage } from '../exchange.js';
import { GatewayError } from '../errors.js';
import type { RouteTable } from '../routing/route-table.js';

export function matchRoute(table: RouteTable<unknown>): Stage {
  return (ex, request) => {
    const route = table.match(request.method, ex.authority, ex.path, request.headers);
    if (route === undefined) throw new GatewayError('not_found', `no route for ${request.method} ${ex.authority}${ex.path}`);
    ex.route = route;
  };
}
