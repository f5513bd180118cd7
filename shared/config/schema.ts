// The one source of truth for Gatehouse's configuration: the JSON Schema that
// validates the YAML file and, through TypeBox, every TypeScript type of it.
// Never hand-write a config type elsewhere; derive it from here with Static<>.
//
// Each policy's own schema lives next to its code (edge/auth/*, edge/tls/*)
// and is composed here, so this file imports those schema modules: the one
// place shared/ looks into a tier, and only for declarations.
import { Type, type Static } from '@sinclair/typebox';
import { IdentitySchema } from '../identity.js';
import { JwtAuthSchema } from '../../edge/auth/jwt-schema.js';
import { ApiKeyAuthSchema } from '../../edge/auth/api-key.js';
import { MtlsAuthSchema } from '../../edge/tls/client-certificate.js';
import { RouteAuthSchema } from '../../edge/auth/route-auth.js';
import { StripHeadersSchema, RouteStripHeadersSchema } from '../../edge/strip-headers.js';
import { SessionAuthSchema } from '../../edge/auth/session.js';
import { EdgeTlsSchema } from '../../edge/tls/schema.js';
import { RateLimitPolicySchema } from '../../edge/ratelimit/schema.js';
import { RegistrationSchema } from '../../router/registration.js';
import { BalancerSchema } from '../balancer/index.js';
import { AuthzPolicySchema, AuthzDefaultSchema } from '../../router/authz/schema.js';
import { OutlierSchema } from '../resilience/outlier-detection.js';
import { CircuitBreakerSchema } from '../resilience/circuit-breaker.js';
import { RetrySchema } from '../resilience/retry-budget.js';
import { CidrSchema } from '../http/forwarded.js';
import { ProxyProtocolSchema } from '../../edge/proxy-protocol/schema.js';
import { ShutdownSchema } from '../shutdown.js';

const Strict = { additionalProperties: false } as const;

const Port = Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free one)' });
const Host = Type.String({ minLength: 1, description: 'address to listen on' });
const HttpUrl = Type.String({ pattern: '^https?://[^/?#\\s]+/?$', description: 'an http(s) origin such as http://10.0.0.5:8080' });
const Millis = (def: number) => Type.Integer({ minimum: 1, default: def });

export const ListenerSchema = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Port,
}, Strict);

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

export const ConsulServiceSchema = Type.Object({
  service: Type.String({ minLength: 1 }),
  tags: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  datacenter: Type.Optional(Type.String({ minLength: 1 })),
  nodeMeta: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'only instances on nodes with all these meta values' })),
}, Strict);

/**
 * A named upstream: discovered in Consul, or a static list of origins.
 * Exactly one of the two is set; load.ts checks that, because a JSON Schema
 * union would report every branch's errors and bury the one that matters.
 */
export const ServiceSchema = Type.Object({
  consul: Type.Optional(ConsulServiceSchema),
  static: Type.Optional(Type.Array(HttpUrl, { minItems: 1 })),
  balancer: { ...BalancerSchema, default: {} },
  outlierDetection: { ...OutlierSchema, default: {} },
  circuitBreaker: { ...CircuitBreakerSchema, default: {} },
  retry: { ...RetrySchema, default: {} },
  connectTimeoutMs: Type.Integer({ minimum: 1, default: 5_000, description: 'time to open a connection to an instance' }),
}, Strict);

const Method = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
);

export const RouteMatchSchema = Type.Object({
  host: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.*-]+(:[0-9]+)?$', description: 'a host name, optionally *.suffix' })),
  pathPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'matched on whole segments: /api matches /api and /api/x, not /apix (default /)' })),
  path: Type.Optional(Type.String({ pattern: '^/', description: 'this exact path only' })),
  pathPattern: Type.Optional(Type.String({ pattern: '^(/(:[A-Za-z_][A-Za-z0-9_]*|[^/:*]+))*(/\\*)?/?$', description: 'segments with :params and an optional trailing /*, e.g. /users/:id/orders/*' })),
  methods: Type.Optional(Type.Array(Method, { minItems: 1 })),
  headers: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String(), { description: 'header values to match exactly ("*": present with any value)' })),
}, Strict);

const HeaderEdits = Type.Object({
  set: Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String({ pattern: '^[\\x20-\\x7e]*$' }), { default: {} }),
  remove: Type.Array(Type.String({ pattern: '^[a-z0-9-]+$' }), { default: [] }),
}, Strict);

export const RewriteSchema = Type.Object({
  stripPrefix: Type.Optional(Type.Boolean({ description: 'remove the matched pathPrefix' })),
  replacePrefix: Type.Optional(Type.String({ pattern: '^/', description: 'put this in place of the matched pathPrefix' })),
  path: Type.Optional(Type.String({ pattern: '^/', description: 'a template filled from pathPattern params: /v2/users/{id}' })),
}, Strict);

export const RouteSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'kebab-case name used in logs' }),
  match: RouteMatchSchema,
  service: Type.String({ minLength: 1, description: 'a key of services' }),
  timeoutMs: Millis(30_000),
  totalTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, description: 'the whole exchange, body included; past it 504, or the connection is cut mid-body' })),
  priority: Type.Integer({ default: 0, description: 'higher wins over any specificity' }),
  websocket: Type.Boolean({ default: false, description: 'pass WebSocket upgrades through (HTTP/1.1)' }),
  rewrite: Type.Optional(RewriteSchema),
  requestHeaders: Type.Optional(HeaderEdits),
  responseHeaders: Type.Optional(HeaderEdits),
  auth: RouteAuthSchema,
  stripHeaders: Type.Optional(RouteStripHeadersSchema),
  rateLimit: Type.Optional(Type.String({ minLength: 1, description: 'a key of rateLimits, counted besides edge.rateLimit' })),
  authz: Type.Optional(AuthzPolicySchema),
  maxBodyBytes: Type.Integer({ minimum: 0, default: 1_048_576, description: 'request body limit in bytes (413 over it)' }),
}, Strict);

const Forwarding = {
  trustedProxies: Type.Array(CidrSchema, { default: [], description: 'peers whose X-Forwarded-* and X-Request-Id are believed' }),
};

const Timeouts = Type.Object({
  headersMs: Millis(15_000),
  requestMs: Millis(60_000),
  keepAliveMs: Millis(72_000),
}, { ...Strict, default: {} });

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
  timeouts: Timeouts,
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
  timeouts: Timeouts,
  shutdown: ShutdownSchema,
  ...Forwarding,
}, Strict);

export const ConsulSchema = Type.Object({
  address: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:8500' }),
  token: Type.Optional(Type.String()),
  waitSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
  snapshotDir: Type.Optional(Type.String({ minLength: 1, description: 'where each tier keeps its last known instances (<tier>-discovery.json), so a restart while Consul is down can serve' })),
  snapshotMaxAgeSeconds: Type.Integer({ minimum: 1, default: 86_400, description: 'an older snapshot is ignored' }),
}, Strict);

const HostPort = Type.Object({ host: Type.String({ minLength: 1 }), port: Port }, Strict);

/** Exactly one of url, sentinel or cluster (checked in cross-check.ts). */
export const RedisSchema = Type.Object({
  url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a redis:// or rediss:// URL (single node)' })),
  sentinel: Type.Optional(Type.Object({
    name: Type.String({ minLength: 1, description: 'the monitored master name' }),
    sentinels: Type.Array(HostPort, { minItems: 1 }),
    password: Type.Optional(Type.String()),
  }, Strict)),
  cluster: Type.Optional(Type.Object({ nodes: Type.Array(HostPort, { minItems: 1 }) }, Strict)),
  username: Type.Optional(Type.String()),
  passwordEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the Redis password' })),
  db: Type.Optional(Type.Integer({ minimum: 0, maximum: 15 })),
  tls: Type.Optional(Type.Object({
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to verify the server' })),
    servername: Type.Optional(Type.String({ minLength: 1 })),
    rejectUnauthorized: Type.Boolean({ default: true }),
  }, Strict)),
  keyPrefix: Type.String({ default: 'gatehouse:', pattern: '^[A-Za-z0-9:_.-]*$', description: 'prefix of every key Gatehouse writes' }),
  commandTimeoutMs: Type.Integer({ minimum: 10, default: 100, description: 'a request-path command that takes longer fails' }),
  connectTimeoutMs: Type.Integer({ minimum: 10, default: 500 }),
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
export type HeaderEditsConfig = Static<typeof HeaderEdits>;
export type ServiceConfig = Static<typeof ServiceSchema>;
export type ConsulConfig = Static<typeof ConsulSchema>;
export type RedisConfig = Static<typeof RedisSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type TimeoutsConfig = Static<typeof Timeouts>;
