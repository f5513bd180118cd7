// The whole-file config schema: each tier's part (edge/schema.ts, router/schema.ts) composed with shared/'s,
// so the file is validated at once and every type of it derived through TypeBox. Only entry points (the
// tiers' main.ts, deploy/, bench/) and tests import this; a tier's library module or shared/ never do
// (.dependency-cruiser.cjs), or loading one tier would load the other's code.
import { Type, type Static } from '@sinclair/typebox';
import { AuthSchema, EdgeRouteFields, EdgeSchema, RateLimitsSchema } from '../edge/schema.js';
import { AuthorizationSchema, RouterRouteFields, RouterSchema } from '../router/schema.js';
import { RewriteSchema, RouteBaseSchema, SharedSections, Strict } from '../shared/config/schema.js';
import { PublishedAllowSchema } from '../shared/routing/published-routes-schema.js';

const route = RouteBaseSchema.properties;

/** A route: the fields both tiers read and each tier's own, in the reference's order. */
export const RouteSchema = Type.Object({
  name: route.name,
  match: route.match,
  service: route.service,
  timeoutMs: route.timeoutMs,
  totalTimeoutMs: route.totalTimeoutMs,
  priority: route.priority,
  websocket: route.websocket,
  rewrite: route.rewrite,
  requestHeaders: route.requestHeaders,
  responseHeaders: route.responseHeaders,
  ...EdgeRouteFields,
  ...RouterRouteFields,
  maxBodyBytes: route.maxBodyBytes,
}, Strict);

/** The policy fields of a route, as a configured route has them (same schemas, same defaults), for published routes. */
export const PublishedProfileSchema = Type.Object({
  ...Type.Pick(RouteSchema, ['auth', 'rateLimit', 'authz', 'stripHeaders', 'timeoutMs', 'totalTimeoutMs', 'maxBodyBytes', 'websocket']).properties,
  rewrite: Type.Optional(Type.Object({ stripPrefix: RewriteSchema.properties.stripPrefix }, { ...Strict, description: 'only stripPrefix: a published route\'s path is its prefix, so nothing else applies (meta gatehouse-route-strip-prefix overrides it)' })),
}, Strict);

/**
 * Routes that services registered in Consul publish with meta gatehouse-route-prefix (config/published-routes.ts):
 * the profiles they may pick and which service may publish which paths and hosts. Needs the consul section.
 */
export const PublishedRoutesSchema = Type.Object({
  profiles: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }), PublishedProfileSchema, { default: {}, description: 'named sets of policy fields a published route gets, picked with meta gatehouse-profile' }),
  allow: Type.Array(PublishedAllowSchema, { default: [], description: 'which services may publish what; the first entry whose service matches decides' }),
}, { ...Strict, description: 'routes that services registered in Consul publish with meta gatehouse-route-prefix, -route-host, -profile and -route-strip-prefix (docs/published-routes.md); needs the consul section' });

export const ConfigSchema = Type.Object({
  edge: Type.Optional(EdgeSchema),
  router: Type.Optional(RouterSchema),
  routes: Type.Array(RouteSchema, { default: [], description: 'the routes, checked most specific first: priority, then host, then path, then headers and methods, then file order' }),
  publishedRoutes: Type.Optional(PublishedRoutesSchema),
  services: SharedSections.services,
  consul: SharedSections.consul,
  redis: SharedSections.redis,
  identity: SharedSections.identity,
  authorization: AuthorizationSchema,
  rateLimits: RateLimitsSchema,
  auth: AuthSchema,
  config: SharedSections.config,
  log: SharedSections.log,
  telemetry: SharedSections.telemetry,
}, Strict);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type PublishedProfileConfig = Static<typeof PublishedProfileSchema>;
export type PublishedRoutesConfig = Static<typeof PublishedRoutesSchema>;
