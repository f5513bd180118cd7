// The routing tier's request path, in order. Reading this file tells you
// everything the router does to a request.
import type { Stage } from '../shared/exchange.js';
import { identify } from '../shared/stages/identify.js';
import { filterMethod } from '../shared/stages/filter-method.js';
import { normalizePath } from '../shared/stages/normalize-path.js';
import { checkFraming } from '../shared/stages/check-framing.js';
import { matchRoute } from '../shared/stages/match-route.js';
import { upstream } from '../shared/stages/upstream.js';
import { upstreamSettings, type RoutePlan } from '../shared/stages/route-plan.js';
import type { RouteTable } from '../shared/routing/route-table.js';
import type { ServiceLookup } from '../shared/discovery/directory.js';
import type { UpstreamPools } from '../shared/proxy/pools.js';
import type { TrustFn } from '../shared/http/forwarded.js';
import type { AssertionVerifier } from '../shared/identity.js';
import { verifyIdentity } from './verify-identity.js';
import { runRouteStages } from '../shared/stages/route-stages.js';
import { authorize, compileAuthz } from './authz/policy.js';
import { transform } from './transform.js';
import type { RouterRouteConfig } from './schema.js';

export interface RouterDeps {
  readonly trust: TrustFn;
  readonly routes: RouteTable<RoutePlan>;
  readonly pools: UpstreamPools;
  readonly verifier: AssertionVerifier;
}

/** Every request, and every WebSocket handshake (shared/proxy/websocket.ts), runs this list. */
export function routerPipeline(d: RouterDeps): Stage[] {
  // The backend gets its own Host; its 5xx is its own, so outlier detection may eject that instance (never its circuit).
  const towardsBackends = { pools: d.pools, preserveHost: false, errorAnswersFail: true };
  return [
    identify(d.trust, 'http'),   // request id, W3C trace (child span), X-Forwarded-* from trusted edges only
    filterMethod,                // 404 for a method no route can name (TRACE, PROPFIND...), before any work
    checkFraming,                // reachable directly too: the same framing checks as the edge
    normalizePath,               // the router is reachable directly: normalise again, never trust the edge did
    verifyIdentity(d.verifier),  // 401 unless a valid edge-signed identity assertion came with the request
    matchRoute(d.routes),        // 404 when no route matches
    runRouteStages,              // the route's own chain, below
    upstream(towardsBackends),   // the service's balancer over passing instances whose circuit admits them, retries; forwarded, or tunnelled (WebSocket); 502/503/504
  ];
}

/** Each route's plan, built once when the config loads: its chain, and its service with the route's timeouts. */
export function routerRoute(route: RouterRouteConfig, authzDefault: 'deny' | 'allow', directory: ServiceLookup): RoutePlan {
  return { stages: routerRouteStages(route, authzDefault), upstream: upstreamSettings(route, directory.service(route.service)!, 0) };
}

/** Each route's chain. */
export function routerRouteStages(route: RouterRouteConfig, authzDefault: 'deny' | 'allow'): Stage[] {
  const edits = transform(route);
  return [
    authorize(compileAuthz(route.authz, authzDefault)), // 403 unless the verified identity satisfies the route's policy; the reason is logged
    ...(edits ? [edits] : []),                          // path rewrite (strip / replace prefix, template) and header edits
  ];
}
