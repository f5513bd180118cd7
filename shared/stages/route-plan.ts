// What a tier builds for each route when the config loads: the route's own stages and where its
// upstream stage sends it. Per request the stages only read it; nothing here is computed per request.
import type { Stage } from '../exchange.js';
import type { RouteBaseConfig } from '../config/schema.js';
import type { UpstreamService } from '../discovery/upstream-service.js';

export interface RoutePlan {
  /** The route's own chain (run by runRouteStages); a policy the route lacks adds no stage. */
  readonly stages: readonly Stage[];
  readonly upstream: UpstreamSettings;
}

/** What the upstream stage (stages/upstream.ts) needs of a route. */
export interface UpstreamSettings {
  /** The service, resolved once: its balancer, outlier detection, circuits and retry policy. */
  readonly service: UpstreamService;
  /** Per attempt: the wait for the response head, then between body chunks (and for a WebSocket handshake's answer). */
  readonly timeoutMs: number;
  /** The whole exchange, every attempt and the body; undefined when the route sets none. */
  readonly totalTimeoutMs: number | undefined;
  /** Whether WebSocket handshakes may open a tunnel on this route. */
  readonly websocket: boolean;
}

/**
 * A route's upstream settings. marginMs is added to both of its timeouts: the edge waits that much longer
 * than the router, so the router's own timeout answer, not the edge's, is the one that reaches the client.
 */
export function upstreamSettings(route: RouteBaseConfig, service: UpstreamService, marginMs: number): UpstreamSettings {
  return Object.freeze({
    service,
    timeoutMs: route.timeoutMs + marginMs,
    totalTimeoutMs: route.totalTimeoutMs === undefined ? undefined : route.totalTimeoutMs + marginMs,
    websocket: route.websocket,
  });
}
