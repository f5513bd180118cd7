// The routing tier's request path, in order. Reading this file tells you
// everything the router does to a request.
import type { Stage } from '../shared/exchange.js';
import { identify } from '../shared/stages/identify.js';
import { normalizePath } from '../shared/stages/normalize-path.js';
import { checkFraming } from '../shared/stages/check-framing.js';
import { matchRoute } from '../shared/stages/match-route.js';
import { forwardUpstream, type ForwardSettings } from '../shared/stages/forward-upstream.js';
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
  readonly routes: RouteTable<readonly Stage[]>;
  readonly directory: ServiceLookup;
  readonly pools: UpstreamPools;
  readonly verifier: AssertionVerifier;
}

export function routerPipeline(d: RouterDeps): Stage[] {
  return [
    identify(d.trust, 'http'),   // request id, W3C trace (child span), X-Forwarded-* from trusted edges only
    checkFraming,                // reachable directly too: the same framing checks as the edge
    normalizePath,               // the router is reachable directly: normalise again, never trust the edge did
    verifyIdentity(d.verifier),  // 401 unless a valid edge-signed identity assertion came with the request
    matchRoute(d.routes),        // 404 when no route matches
    runRouteStages,              // the route's own chain, below
    forwardUpstream(routerForward(d)), // the service's balancer over passing instances, retries, breaker; 502/503/504 on failure
    // A WebSocket handshake runs every stage above, then shared/proxy/websocket.ts tunnels instead of forwarding.
  ];
}

export function routerForward(d: RouterDeps): ForwardSettings {
  return {
    directory: d.directory,
    pools: d.pools,
    serviceOf: (ex) => ex.route!.config.service,
    timeoutOf: (ex) => ex.route!.config.timeoutMs,
    preserveHost: false,
    errorAnswersFail: true, // a backend's 5xx is its own: outlier detection may eject that instance (never its circuit)
  };
}

/** Each route's chain, built once when the config loads. */
export function routerRouteStages(route: RouterRouteConfig, authzDefault: 'deny' | 'allow'): Stage[] {
  const edits = transform(route);
  return [
    authorize(compileAuthz(route.authz, authzDefault)), // 403 unless the verified identity satisfies the route's policy; the reason is logged
    ...(edits ? [edits] : []),                          // path rewrite (strip / replace prefix, template) and header edits
  ];
}
