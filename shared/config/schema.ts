// The config schemas of concepts both tiers share (listeners, services, Consul, Redis, a route's
// common fields, timeouts), with their TypeScript types derived through TypeBox. Never import a tier
// or the composed whole-file schema (config/schema.ts) here: shared/ modules take their types from this.
// Schema only, like every file it imports (.dependency-cruiser.cjs).
import { Type, type Static } from '@sinclair/typebox';
import { CidrSchema } from '../http/cidr-schema.js';
import { IdentitySchema } from '../identity-schema.js';
import { SERVICE_POLICIES } from './service-policies-schema.js';
import { sections } from './policy-schema.js';
import { TelemetrySchema } from '../telemetry/telemetry-schema.js';

export const Strict = { additionalProperties: false } as const;

const Port = Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port (0 picks a free one)' });
const Host = Type.String({ minLength: 1, description: 'address to listen on' });
const HttpUrl = Type.String({ pattern: '^https?://[^/?#\\s]+/?$', description: 'an http(s) origin such as http://10.0.0.5:8080' });
export const Millis = (def: number, description?: string) => Type.Integer({ minimum: 1, default: def, ...(description ? { description } : {}) });

export const ListenerSchema = Type.Object({
  host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address to listen on (0.0.0.0 or :: for every interface)' }),
  port: Port,
}, Strict);

/**
 * The admin listener of a tier: probes always, and the read-only admin API (shared/admin-api.ts) once a
 * bearer token is given. A bind beyond loopback needs the token (config/cross-check.ts).
 */
export const AdminListenerSchema = Type.Object({
  ...ListenerSchema.properties,
  tokenEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the admin API\'s bearer token (at least 32 characters); without a token the API is off' })),
  tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'file holding the admin API\'s bearer token (at least 32 characters); one of tokenEnv or tokenFile' })),
  peers: Type.Array(HttpUrl, {
    default: [],
    description: 'admin listeners of other edges and routers the dashboard gathers, besides those registered in Consul (they must share this token)',
  }),
}, Strict);

export const ConsulServiceSchema = Type.Object({
  service: Type.String({ minLength: 1, description: 'the service name in Consul' }),
  tags: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'tags an instance must all carry' }),
  datacenter: Type.Optional(Type.String({ minLength: 1, description: 'the Consul datacenter to ask (default: the agent\'s)' })),
  nodeMeta: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'only instances on nodes with all these meta values' })),
}, Strict);

/**
 * A named upstream: discovered in Consul, or a static list of origins.
 * Exactly one of the two is set; load.ts checks that, because a JSON Schema
 * union would report every branch's errors and bury the one that matters.
 */
export const ServiceSchema = Type.Object({
  consul: Type.Optional({ ...ConsulServiceSchema, description: 'discover the passing instances in Consul (one blocking query per service); exactly one of consul or static' }),
  static: Type.Optional(Type.Array(HttpUrl, { minItems: 1, description: 'fixed instances; exactly one of consul or static' })),
  ...sections(SERVICE_POLICIES),
  connectTimeoutMs: Type.Integer({ minimum: 1, default: 5_000, description: 'time to open a connection to an instance' }),
}, Strict);

/** The methods a route can name; shared/stages/filter-method.ts lets no other through. */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const Method = Type.Union(ROUTE_METHODS.map((m) => Type.Literal(m)));

export const RouteMatchSchema = Type.Object({
  host: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9.*-]+(:[0-9]+)?$', description: 'a host name, optionally *.suffix' })),
  pathPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'matched on whole segments: /api matches /api and /api/x, not /apix (default /)' })),
  path: Type.Optional(Type.String({ pattern: '^/', description: 'this exact path only' })),
  pathPattern: Type.Optional(Type.String({ pattern: '^(/(:[A-Za-z_][A-Za-z0-9_]*|[^/:*]+))*(/\\*)?/?$', description: 'segments with :params and an optional trailing /*, e.g. /users/:id/orders/*' })),
  methods: Type.Optional(Type.Array(Method, { minItems: 1, description: 'the HTTP methods the route matches (default: any)' })),
  headers: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String(), { description: 'header values to match exactly ("*": present with any value)' })),
}, Strict);

const HeaderEdits = Type.Object({
  set: Type.Record(Type.String({ pattern: '^[a-z0-9-]+$' }), Type.String({ pattern: '^[\\x20-\\x7e]*$' }), { default: {}, description: 'lower-case header names and the values they are set to' }),
  remove: Type.Array(Type.String({ pattern: '^[a-z0-9-]+$' }), { default: [], description: 'lower-case header names to remove' }),
}, Strict);

export const RewriteSchema = Type.Object({
  stripPrefix: Type.Optional(Type.Boolean({ description: 'remove the matched pathPrefix' })),
  replacePrefix: Type.Optional(Type.String({ pattern: '^/', description: 'put this in place of the matched pathPrefix' })),
  path: Type.Optional(Type.String({ pattern: '^/', description: 'a template filled from pathPattern params: /v2/users/{id}' })),
}, Strict);

/**
 * The fields of a route that both tiers read. config/schema.ts composes the whole route from these and
 * each tier's own fields (auth, stripHeaders, rateLimit, authz), in this order around them.
 */
export const RouteBaseSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'kebab-case name used in logs' }),
  match: { ...RouteMatchSchema, description: 'the requests the route takes: at most one of path, pathPrefix or pathPattern, with host, methods and headers' },
  service: Type.String({ minLength: 1, description: 'a key of services' }),
  timeoutMs: Millis(30_000, 'time to the upstream\'s response headers, and between body chunks; past it 504'),
  totalTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, description: 'the whole exchange, body included; past it 504, or the connection is cut mid-body' })),
  priority: Type.Integer({ default: 0, description: 'higher wins over any specificity' }),
  websocket: Type.Boolean({ default: false, description: 'pass WebSocket upgrades through (HTTP/1.1)' }),
  rewrite: Type.Optional({ ...RewriteSchema, description: 'a path rewrite at the router, after authorization: one of stripPrefix, replacePrefix or path' }),
  requestHeaders: Type.Optional({ ...HeaderEdits, description: 'headers set or removed on the request to the backend (never x-gatehouse-*)' }),
  responseHeaders: Type.Optional({ ...HeaderEdits, description: 'headers set or removed on the response to the client' }),
  maxBodyBytes: Type.Integer({ minimum: 0, default: 1_048_576, description: 'request body limit in bytes (413 over it)' }),
}, Strict);

/** Spread into each tier's section. */
export const Forwarding = {
  trustedProxies: Type.Array(CidrSchema, { default: [], description: 'peers whose X-Forwarded-* and X-Request-Id are believed' }),
};

export const TimeoutsSchema = Type.Object({
  headersMs: Millis(15_000, 'time a client has to send complete request headers (408); an idle keep-alive connection is closed silently'),
  requestMs: Millis(60_000, 'time a client has to send the whole request, body included (408)'),
  keepAliveMs: Millis(72_000, 'an idle client connection is closed after this long'),
}, { ...Strict, default: {}, description: 'client-side timeouts' });

export const ConsulSchema = Type.Object({
  address: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:8500', description: 'the Consul agent\'s HTTP address' }),
  token: Type.Optional(Type.String({ description: 'ACL token sent with every Consul request' })),
  waitSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30, description: 'how long one blocking query may wait for a change' }),
  snapshotDir: Type.Optional(Type.String({ minLength: 1, description: 'where each tier keeps its last known instances (<tier>-discovery.json), so a restart while Consul is down can serve' })),
  snapshotMaxAgeSeconds: Type.Integer({ minimum: 1, default: 86_400, description: 'an older snapshot is ignored' }),
}, Strict);

const HostPort = Type.Object({ host: Type.String({ minLength: 1, description: 'a host name or IP address' }), port: Port }, Strict);

/** Exactly one of url, sentinel or cluster (checked in config/cross-check.ts). */
export const RedisSchema = Type.Object({
  url: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a redis:// or rediss:// URL (single node)' })),
  sentinel: Type.Optional(Type.Object({
    name: Type.String({ minLength: 1, description: 'the monitored master name' }),
    sentinels: Type.Array(HostPort, { minItems: 1, description: 'the sentinels to ask for the master' }),
    password: Type.Optional(Type.String({ description: 'the sentinels\' own password' })),
  }, { ...Strict, description: 'Redis Sentinel: the sentinels that name the master' })),
  cluster: Type.Optional(Type.Object({ nodes: Type.Array(HostPort, { minItems: 1, description: 'seed nodes of the cluster' }) }, { ...Strict, description: 'Redis Cluster' })),
  username: Type.Optional(Type.String({ description: 'Redis ACL user' })),
  passwordEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the Redis password' })),
  db: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'database number (Redis Cluster has only 0)' })),
  tls: Type.Optional(Type.Object({
    ca: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle to verify the server' })),
    servername: Type.Optional(Type.String({ minLength: 1, description: 'the name the server\'s certificate must carry (SNI), if not the host\'s' })),
    rejectUnauthorized: Type.Boolean({ default: true, description: 'false: connect even when the server\'s certificate does not verify (never in production)' }),
  }, { ...Strict, description: 'TLS to Redis (implied by rediss://): the server\'s certificate is verified' })),
  keyPrefix: Type.String({ default: 'gatehouse:', pattern: '^[A-Za-z0-9:_.-]*$', description: 'prefix of every key Gatehouse writes' }),
  commandTimeoutMs: Type.Integer({ minimum: 10, default: 100, description: 'a request-path command that takes longer fails' }),
  connectTimeoutMs: Type.Integer({ minimum: 10, default: 500, description: 'time to connect to Redis' }),
}, Strict);

/**
 * Where a tier's live config comes from after start-up, and when it is read again (shared/config/live.ts).
 * Read from the bootstrap file only: a document in Consul KV cannot move the watch somewhere else.
 */
export const LiveConfigSchema = Type.Object({
  watchFile: Type.Boolean({ default: true, description: 'reload when the config file changes (SIGHUP always reloads)' }),
  consul: Type.Optional(Type.Object({
    key: Type.String({ pattern: '^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$', description: 'the Consul KV key whose value, a whole config document, replaces this file while it exists; watched with blocking queries' }),
    historySize: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'versions kept under <key>/history/ for `npm run config -- rollback`' }),
  }, { ...Strict, description: 'a live config kept in Consul KV' })),
}, { ...Strict, default: {}, description: 'the source of a tier\'s config after start-up, read from the file it started with' });

/** The sections of the file both tiers read, spread into each tier's view and composed in config/schema.ts. */
export const SharedSections = {
  services: Type.Record(Type.String({ pattern: '^[A-Za-z0-9._-]+$' }), ServiceSchema, { default: {}, description: 'the upstreams routes send to, by name' }),
  consul: Type.Optional({ ...ConsulSchema, description: 'the Consul agent; required when any service uses Consul' }),
  redis: Type.Optional({ ...RedisSchema, description: 'shared state (rate limits, API keys, sessions); exactly one of url, sentinel or cluster' }),
  identity: { ...IdentitySchema, description: 'the keys edge and router share to sign and verify the identity hand-off; required' },
  config: LiveConfigSchema,
  log: Type.Object({
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'the least severe level written; access lines are info' }),
  }, { ...Strict, default: {}, description: 'logging: JSON lines on stdout' }),
  telemetry: Type.Optional(TelemetrySchema),
};

const SharedFileSchema = Type.Object(SharedSections);

export type SharedFileConfig = Static<typeof SharedFileSchema>;
export type RouteBaseConfig = Static<typeof RouteBaseSchema>;
export type HeaderEditsConfig = Static<typeof HeaderEdits>;
export type ServiceConfig = Static<typeof ServiceSchema>;
export type ConsulServiceConfig = Static<typeof ConsulServiceSchema>;
export type ConsulConfig = Static<typeof ConsulSchema>;
export type RedisConfig = Static<typeof RedisSchema>;
export type ListenerConfig = Static<typeof ListenerSchema>;
export type AdminListenerConfig = Static<typeof AdminListenerSchema>;
export type TimeoutsConfig = Static<typeof TimeoutsSchema>;
export type LiveConfigConfig = Static<typeof LiveConfigSchema>;
