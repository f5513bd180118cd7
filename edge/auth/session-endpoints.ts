// Stage: the session login and logout endpoints (POST on their exact paths),
// answered by the edge itself before any route is matched, so no route can
// shadow them. Only on an edge with sessions configured; every other request
// passes on at the cost of one comparison.
import type { Stage } from '../../shared/exchange.js';
import type { SessionEndpoints } from './session.js';

export interface ServedSessionEndpoints extends SessionEndpoints {
  readonly loginPath: string;
  readonly logoutPath: string;
}

export function serveSessionEndpoints(s: ServedSessionEndpoints): Stage {
  const { loginPath, logoutPath } = s;
  return (ex, request, reply) => {
    if (request.method !== 'POST') return undefined;
    if (ex.path === loginPath) return s.login(request, reply);
    if (ex.path === logoutPath) return s.logout(request, reply);
    return undefined;
  };
}
