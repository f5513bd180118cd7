// The whole-file config schema: each tier's and each policy's own schema, composed with shared/'s, so the
// file is validated at once and every type of it derived through TypeBox. Only entry points (the tiers'
// main.ts, the CLIs, deploy/, bench/) and tests import this; a tier's library module or shared/ never do
// (.dependency-cruiser.cjs), or loading one tier would load the other's code.
import { Type, type Static } from '@sinclair/typebox';
import { IdentitySchema } from '../shared/identity.js';
import { JwtAuthSchema } from '../edge/auth/jwt-schema.js';
import { ApiKeyAuthSchema } from '../edge/auth/api-key.js';
import { MtlsAuthSchema } from '../edge/tls/client-certificate.js';
import { RouteAuthSchema } from '../edge/auth/route-auth.js';
import { StripHeadersSchema, RouteStripHeadersSchema } from '../edge/strip-headers.js';
import { SessionAuthSchema } from '../edge/auth/session.js';
import { EdgeTlsSchema } from '../edge/tls/schema.js';
import { RateLimitPolicySchema } from '../edge/ratelimit/schema.js';
import { RegistrationSchema } from '../router/registration.js';
import { AuthzPolicySchema, AuthzDefaultSchema } from '../router/authz/schema.js';
import { ProxyProtocolSchema } from '../edge/proxy-protocol/schema.js';
import { ShutdownSchema } from '../shared/shutdown.js';
import {
  ConsulSchema, Forwarding, ListenerSchema, Millis, RedisSchema, RouteBaseSchema, ServiceSchema, Strict, TimeoutsSchema,
} from '../shared/config/schema.js';

/**
 * The plain-HTTP listener that only redirects to HTTPS. Its Location never takes the host from the
 * request unless the edge holds a certificate for that host (edge/redirect.ts).
 */
export const RedirectListenerSchema = Type.Object({
  ...ListenerSchema.properties,
  canonicalHost: Type.Optional(Type.String({
    pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$',
    description: 'host (or host:port) every redirect names, whatever the request\'s Host; without a port, the HTTPS listener\'s',
  })),
}, Strict);

const route = RouteBaseSchema.properties;

/** A route: the fields both tiers read (shared/config/schema.ts) and each tier's own, in the reference's order. */
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
  auth: RouteAuthSchema,
  stripHeaders: Type.Optional(RouteStripHeadersSchema),
  rateLimit: Type.Optional(Type.String({ minLength: 1, description: 'a key of rateLimits, counted besides edge.rateLimit' })),
  authz: Type.Optional(AuthzPolicySchema),
  maxBodyBytes: route.maxBodyBytes,
}, Strict);

/** The edge's HTTPS listener: where it listens, and whether balancers in front of it speak the PROXY protocol. */
const EdgeListenerSchema = Type.Object({
  ...ListenerSchema.properties,
  proxyProtocol: Type.Optional(ProxyProtocolSchema),
}, Strict);

export const EdgeSchema = Type.Object({
  listen: EdgeListenerSchema,
  tls: EdgeTlsSchema,
  redirectHttp: Type.Optional(RedirectListenerSchema),
  admin: ListenerSchema,
  router: ServiceSchema,
  timeouts: TimeoutsSchema,
  limits: Type.Object({
    maxHeaderBytes: Type.Integer({ minimum: 1024, maximum: 65_536, default: 16_384, description: 'request line and headers; 431 over it' }),
    // Envoy's default; Node alone would keep 2,000 header lines and silently drop the rest.
    maxHeaderCount: Type.Integer({ minimum: 10, maximum: 1_000, default: 100, description: 'request header lines; 431 over it' }),
    maxConnections: Type.Integer({ minimum: 1, default: 10_000, description: 'open client connections per edge instance' }),
    // A busy NAT of browsers (six HTTP/1.1 connections each, one HTTP/2) fits under 256; with it, the
    // global 10,000 takes some 40 addresses (IPv6: /64 networks) to exhaust instead of one.
    maxConnectionsPerClient: Type.Integer({ minimum: 1, default: 256, description: 'open connections per client address (IPv6: per /64), trusted proxies not counted; over it a connection is closed at accept' }),
    // HTTP/2 rapid reset (CVE-2023-44487): each reset stream costs the edge a request, the client one frame.
    // 100 in 10 s lets a client cancel every stream it may have open at once (100) in each window, as a
    // browser leaving a page does; a flood crosses it within its second burst.
    maxStreamResets: Type.Integer({ minimum: 1, default: 100, description: 'HTTP/2 streams per connection reset before their response, within streamResetWindowMs; over it: GOAWAY(ENHANCE_YOUR_CALM) and close' }),
    streamResetWindowMs: Millis(10_000),
  }, { ...Strict, default: {} }),
  stripHeaders: StripHeadersSchema,
  rateLimit: Type.Optional(Type.String({ minLength: 1, description: 'a key of rateLimits applied to every route' })),
  realm: Type.String({ default: 'gatehouse', pattern: '^[A-Za-z0-9 ._-]+$', description: 'realm in WWW-Authenticate' }),
  shutdown: ShutdownSchema,
  ...Forwarding,
}, Strict);

export const RouterSchema = Type.Object({
  listen: ListenerSchema,
  admin: ListenerSchema,
  register: Type.Optional(RegistrationSchema),
  timeouts: TimeoutsSchema,
  shutdown: ShutdownSchema,
  ...Forwarding,
}, Strict);

export const ConfigSchema = Type.Object({
  edge: Type.Optional(EdgeSchema),
  router: Type.Optional(RouterSchema),
  routes: Type.Array(RouteSchema, { default: [] }),
  services: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), ServiceSchema, { default: {} }),
  consul: Type.Optional(ConsulSchema),
  redis: Type.Optional(RedisSchema),
  identity: IdentitySchema,
  authorization: Type.Object({ default: AuthzDefaultSchema }, { ...Strict, default: {}, description: 'decides routes with no authz policy' }),
  rateLimits: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }), RateLimitPolicySchema, { default: {} }),
  auth: Type.Object({
    jwt: Type.Optional(JwtAuthSchema),
    apiKey: Type.Optional(ApiKeyAuthSchema),
    mtls: Type.Optional(MtlsAuthSchema),
    session: Type.Optional(SessionAuthSchema),
  }, { ...Strict, default: {} }),
  log: Type.Object({
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  }, { ...Strict, default: {} }),
}, Strict);

export type Config = Static<typeof ConfigSchema>;
export type EdgeConfig = Static<typeof EdgeSchema>;
export type RouterConfig = Static<typeof RouterSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
