// Stage: remove the client headers that frameworks, proxies and meshes act on (URL and method overrides,
// client-address and identity claims, proxy control, fault injection and debug switches) before any policy
// of the route (authentication, rate limits) or anything behind the gateway sees them. The list is built
// once per route at config load; a request only has its own header names looked up.
import type { Stage } from '../shared/exchange.js';
import { strips, type StripList } from './strip-headers-schema.js';

/** The stage, or undefined when the route strips nothing. Deletes from the request's own headers: no copy. */
export function stripHeaders(list: StripList): Stage | undefined {
  if (list.names.size === 0 && list.prefixes === undefined) return undefined;
  return (_ex, request) => {
    const headers = request.headers;
    for (const name in headers) if (strips(list, name)) delete headers[name];
  };
}
