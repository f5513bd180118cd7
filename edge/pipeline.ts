// The security edge's request path, in order. Reading this file tells you
// everything the edge does to a request before the router sees it.
import type { Stage } from '../shared/exchange.js';
import type { EdgeRouteConfig } from './schema.js';
import { identify } from '../shared/stages/identify.js';
import { normalizePath } from '../shared/stages/normalize-path.js';
import { checkFraming } from '../shared/stages/check-framing.js';
import { matchRoute } from '../shared/stages/match-route.js';
import { runRouteStages } from '../shared/stages/route-stages.js';
import { forwardUpstream, type ForwardSettings } from '../shared/stages/forward-upstream.js';
import type { RouteTable } from '../shared/routing/route-table.js';
import type { ServiceLookup } from '../shared/discovery/directory.js';
import type { UpstreamPools } from '../shared/proxy/pools.js';
import type { TrustFn } from '../shared/http/forwarded.js';
import { authenticate, type RouteAuthDeps } from './auth/authenticate.js';
import { stripHeaders } from './strip-headers.js';
import { buildStripList, type StripHeadersConfig } from './strip-headers-schema.js';
import { limitBody } from './body-limit.js';
import { limitHeaders } from './header-limit.js';
import { rateLimit, type LimiterDeps, type Policy } from './ratelimit/limiter.js';

export const ROUTER_SERVICE = 'gatehouse-router';
// The router answers a timeout itself; the edge waits a little longer so that answer, not the edge's, reaches the client.
const ROUTER_TIMEOUT_MARGIN_MS = 1_000;

export interface EdgeDeps {
  readonly trust: TrustFn;
  readonly routes: RouteTable<readonly Stage[]>;
  readonly routers: ServiceLookup;
  readonly pools: UpstreamPools;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

export function edgePipeline(d: EdgeDeps): Stage[] {
  return [
    identify(d.trust, 'https'),  // request id, W3C trace, X-Forwarded-* (client values only from trusted proxies)
    limitHeaders(d.maxHeaderBytes, d.maxHeaderCount), // 431 over the configured header size or count (slow clients get 408 from slow-clients.ts)
    checkFraming,                // 400 + close on a second Host, a malformed Host, or a coding other than chunked
    normalizePath,               // one path for routing, authorisation and the backend; 400 on ';', encoded / \ . ;, double encoding, bad UTF-8
    matchRoute(d.routes),        // 404 here, before any work, when no route matches
    runRouteStages,              // the route's own chain, below, which strips client headers first
    forwardUpstream(edgeForward(d)), // pooled keep-alive connections to a router instance
    // A WebSocket handshake runs every stage above, then shared/proxy/websocket.ts tunnels instead of forwarding.
  ];
}

export function edgeForward(d: EdgeDeps): ForwardSettings {
  return {
    directory: d.routers,
    pools: d.pools,
    serviceOf: () => ROUTER_SERVICE,
    timeoutOf: (ex) => ex.route!.config.timeoutMs + ROUTER_TIMEOUT_MARGIN_MS,
    preserveHost: true,
    // A router's 5xx is a backend's relayed, or its own word on a backend (502, 503, 504): any answer shows the
    // router up. Counting them would let one client, hitting one failing path, open the circuit to every route.
    errorAnswersFail: false,
  };
}

export interface RouteStageDeps {
  /** edge.stripHeaders: the edge's edits to the default strip list, which each route's own edits follow. */
  readonly stripHeaders: StripHeadersConfig;
  readonly auth: RouteAuthDeps;
  readonly limiter: LimiterDeps;
  /** The edge-wide policy and every named one, compiled once. */
  readonly globalPolicy: Policy | undefined;
  readonly policies: ReadonlyMap<string, Policy>;
}

/** Each route's chain, built once when the config loads; a policy the route lacks adds no stage. */
export function edgeRouteStages(route: EdgeRouteConfig, d: RouteStageDeps): Stage[] {
  const policies = [d.globalPolicy, route.rateLimit === undefined ? undefined : d.policies.get(route.rateLimit)].filter((p): p is Policy => p !== undefined);
  const strip = stripHeaders(buildStripList(d.stripHeaders, route.stripHeaders));
  return [
    ...(strip ? [strip] : []),         // first: client headers that proxies and frameworks act on (X-Original-URL, X-HTTP-Method-Override, True-Client-IP, x-envoy-*...) are deleted before anything reads them
    authenticate(route.auth, d.auth),  // jwt / api-key / mtls / session, or anonymous; 401 + WWW-Authenticate; signs the identity for the router
    limitBody(route.maxBodyBytes),     // 413 on a declared or streamed body over the route's limit
    ...(policies.length > 0 ? [rateLimit(policies, d.limiter)] : []), // 429 + Retry-After; one Redis round trip for all policies
  ];
}
