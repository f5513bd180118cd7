// The security edge's request path, in order. Reading this file tells you
// everything the edge does to a request before the router sees it.
import type { Stage } from '../shared/exchange.js';
import type { EdgeRouteConfig } from './schema.js';
import { identify } from '../shared/stages/identify.js';
import { filterMethod } from '../shared/stages/filter-method.js';
import { normalizePath } from '../shared/stages/normalize-path.js';
import { checkFraming } from '../shared/stages/check-framing.js';
import { matchRoute } from '../shared/stages/match-route.js';
import { runRouteStages } from '../shared/stages/route-stages.js';
import { upstream } from '../shared/stages/upstream.js';
import { upstreamSettings, type RoutePlan } from '../shared/stages/route-plan.js';
import type { RouteTable } from '../shared/routing/route-table.js';
import type { UpstreamService } from '../shared/discovery/upstream-service.js';
import type { UpstreamPools } from '../shared/proxy/pools.js';
import type { TrustFn } from '../shared/http/forwarded.js';
import type { AssertionSigner } from '../shared/identity.js';
import { authenticate, type RouteAuthDeps } from './auth/authenticate.js';
import { serveSessionEndpoints, type ServedSessionEndpoints } from './auth/session-endpoints.js';
import { handOff } from './handoff.js';
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
  readonly routes: RouteTable<RoutePlan>;
  readonly pools: UpstreamPools;
  readonly signer: AssertionSigner;
  /** Login and logout, when sessions are configured. */
  readonly sessions: ServedSessionEndpoints | undefined;
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
}

/** Every request, and every WebSocket handshake (shared/proxy/websocket.ts), runs this list. */
export function edgePipeline(d: EdgeDeps): Stage[] {
  // The client's Host goes on, for the router to match. A router's 5xx is a backend's relayed, or its own word
  // on a backend (502, 503, 504): any answer shows the router up, and counting them as failures would let one
  // client, hitting one failing path, open the circuit to every route.
  const towardsRouters = { pools: d.pools, preserveHost: true, errorAnswersFail: false };
  return [
    identify(d.trust, 'https'),  // request id, W3C trace, X-Forwarded-* (client values only from trusted proxies)
    filterMethod,                // 404 for a method no route can name (TRACE, PROPFIND...), before any work
    limitHeaders(d.maxHeaderBytes, d.maxHeaderCount), // 431 over the configured header size or count (slow clients get 408 from slow-clients.ts)
    checkFraming,                // 400 + close on a second Host, a malformed Host, or a coding other than chunked
    normalizePath,               // one path for routing, authorisation and the backend; 400 on ';', encoded / \ . ;, double encoding, bad UTF-8
    ...(d.sessions ? [serveSessionEndpoints(d.sessions)] : []), // POST login/logout answered here, so no route can shadow them
    matchRoute(d.routes),        // 404 here, before any work, when no route matches
    runRouteStages,              // the route's own chain, below: strip client headers, authenticate, limits
    handOff(d.signer),           // signs the authenticated identity for the router (x-gatehouse-identity)
    upstream(towardsRouters),    // a router instance whose circuit admits it; forwarded on pooled keep-alive connections, or tunnelled (WebSocket); 502/503/504
  ];
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

/** Each route's plan, built once when the config loads: its chain, and its upstream settings. */
export function edgeRoute(route: EdgeRouteConfig, d: RouteStageDeps, routers: UpstreamService): RoutePlan {
  return { stages: edgeRouteStages(route, d), upstream: upstreamSettings(route, routers, ROUTER_TIMEOUT_MARGIN_MS) };
}

/** Each route's chain; a policy the route lacks adds no stage. */
export function edgeRouteStages(route: EdgeRouteConfig, d: RouteStageDeps): Stage[] {
  const policies = [d.globalPolicy, route.rateLimit === undefined ? undefined : d.policies.get(route.rateLimit)].filter((p): p is Policy => p !== undefined);
  const strip = stripHeaders(buildStripList(d.stripHeaders, route.stripHeaders));
  return [
    ...(strip ? [strip] : []),         // first: client headers that proxies and frameworks act on (X-Original-URL, X-HTTP-Method-Override, True-Client-IP, x-envoy-*...) are deleted before anything reads them
    authenticate(route.auth, d.auth),  // jwt / api-key / mtls / session, or anonymous; 401 + WWW-Authenticate
    limitBody(route.maxBodyBytes),     // 413 on a declared or streamed body over the route's limit
    ...(policies.length > 0 ? [rateLimit(policies, d.limiter)] : []), // 429 + Retry-After; one Redis round trip for all policies
  ];
}
