// The edge's part of the config file: its section (edge:), its fields of a route, and the sections only it
// reads (rateLimits, auth), composed from its policies' schemas and shared/'s. config/schema.ts puts them
// in the whole file; the edge's modules take their config types from here and never import config/.
import { Type, type Static } from '@sinclair/typebox';
import { AuthSchema } from './auth/registry-schema.js';
import { RouteAuthSchema } from './auth/route-auth-schema.js';
import { StripHeadersSchema, RouteStripHeadersSchema } from './strip-headers-schema.js';
import { EdgeTlsSchema } from './tls/schema.js';
import { rateLimitPolicy } from './ratelimit/schema.js';
import { ProxyProtocolSchema } from './proxy-protocol/schema.js';
import { ShutdownSchema } from '../shared/shutdown-schema.js';
import { WorkersSchema } from '../shared/workers/schema.js';
import { edgeRegistrationPolicy } from './registration-schema.js';
import {
  AdminListenerSchema, Forwarding, ListenerSchema, Millis, RouteBaseSchema, ServiceSchema, SharedSections, Strict, TimeoutsSchema,
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

/** The edge's HTTPS listener: where it listens, and whether balancers in front of it speak the PROXY protocol. */
const EdgeListenerSchema = Type.Object({
  ...ListenerSchema.properties,
  proxyProtocol: Type.Optional(ProxyProtocolSchema),
}, Strict);

export const EdgeSchema = Type.Object({
  listen: { ...EdgeListenerSchema, description: 'the HTTPS listener (HTTP/2 and HTTP/1.1 by ALPN)' },
  tls: { ...EdgeTlsSchema, description: 'the TLS settings: certificates chosen by SNI, re-read when their files change' },
  redirectHttp: Type.Optional({ ...RedirectListenerSchema, description: 'a plain-HTTP listener that answers every request with 308 to HTTPS' }),
  admin: { ...AdminListenerSchema, description: 'the admin listener: GET /live, GET /ready, and the admin API under /admin/ when a token is set' },
  router: { ...ServiceSchema, description: 'the routers, found like a service: consul or static' },
  register: Type.Optional({ ...edgeRegistrationPolicy.schema, description: 'the edge\'s own registration in Consul (with an HTTP check on its readiness), by which the dashboard finds every edge' }),
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
    streamResetWindowMs: Millis(10_000, 'the window maxStreamResets is counted in'),
  }, { ...Strict, default: {}, description: 'limits on what one client may send or hold open' }),
  stripHeaders: StripHeadersSchema,
  rateLimit: Type.Optional(Type.String({ minLength: 1, description: 'a key of rateLimits applied to every route' })),
  realm: Type.String({ default: 'gatehouse', pattern: '^[A-Za-z0-9 ._-]+$', description: 'realm in WWW-Authenticate' }),
  shutdown: { ...ShutdownSchema, description: 'the drain on SIGTERM or SIGINT' },
  workers: WorkersSchema,
  ...Forwarding,
}, { ...Strict, description: 'the security tier: TLS, authentication, rate limits; required to run an edge' });

/** The edge's fields of a route. */
export const EdgeRouteFields = {
  auth: { ...RouteAuthSchema, description: 'who may call the route: methods, or anonymous: true (a route that admits nobody is an error)' },
  stripHeaders: Type.Optional(RouteStripHeadersSchema),
  rateLimit: Type.Optional(Type.String({ minLength: 1, description: 'a key of rateLimits, counted besides edge.rateLimit' })),
};

export const RateLimitsSchema = Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }), rateLimitPolicy.schema, { default: {}, description: 'rate-limit policies by name, applied by edge.rateLimit and routes[].rateLimit' });

/** One optional section per method of edge/auth/registry-schema.ts. */
export { AuthSchema };

const EdgeRouteSchema = Type.Object({ ...RouteBaseSchema.properties, ...EdgeRouteFields });

/** What the edge reads of the file; the whole file (config/schema.ts) has this shape and more. */
const EdgeFileSchema = Type.Object({
  edge: Type.Optional(EdgeSchema),
  routes: Type.Array(EdgeRouteSchema),
  ...SharedSections,
  rateLimits: RateLimitsSchema,
  auth: AuthSchema,
});

export type EdgeConfig = Static<typeof EdgeSchema>;
export type EdgeRouteConfig = Static<typeof EdgeRouteSchema>;
export type EdgeFileConfig = Static<typeof EdgeFileSchema>;
