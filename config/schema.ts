// The whole-file config schema: each tier's part (edge/schema.ts, router/schema.ts) composed with shared/'s,
// so the file is validated at once and every type of it derived through TypeBox. Only entry points (the
// tiers' main.ts, deploy/, bench/) and tests import this; a tier's library module or shared/ never do
// (.dependency-cruiser.cjs), or loading one tier would load the other's code.
import { Type, type Static } from '@sinclair/typebox';
import { AuthSchema, EdgeRouteFields, EdgeSchema, RateLimitsSchema } from '../edge/schema.js';
import { AuthorizationSchema, RouterRouteFields, RouterSchema } from '../router/schema.js';
import { RouteBaseSchema, SharedSections, Strict } from '../shared/config/schema.js';

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

export const ConfigSchema = Type.Object({
  edge: Type.Optional(EdgeSchema),
  router: Type.Optional(RouterSchema),
  routes: Type.Array(RouteSchema, { default: [], description: 'the routes, checked most specific first: priority, then host, then path, then headers and methods, then file order' }),
  services: SharedSections.services,
  consul: SharedSections.consul,
  redis: SharedSections.redis,
  identity: SharedSections.identity,
  authorization: AuthorizationSchema,
  rateLimits: RateLimitsSchema,
  auth: AuthSchema,
  config: SharedSections.config,
  log: SharedSections.log,
}, Strict);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
