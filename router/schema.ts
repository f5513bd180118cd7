// The router's part of the config file: its section (router:), its field of a route (authz) and the
// section only it reads (authorization), composed from its policies' schemas and shared/'s.
// config/schema.ts puts them in the whole file; the router's modules take their config types from here
// and never import config/.
import { Type, type Static } from '@sinclair/typebox';
import { RegistrationSchema } from './registration-schema.js';
import { AuthzPolicySchema, AuthzDefaultSchema } from './authz/schema.js';
import { ShutdownSchema } from '../shared/shutdown-schema.js';
import { WorkersSchema } from '../shared/workers/schema.js';
import { AdminListenerSchema, Forwarding, ListenerSchema, RouteBaseSchema, SharedSections, Strict, TimeoutsSchema } from '../shared/config/schema.js';

export const RouterSchema = Type.Object({
  listen: { ...ListenerSchema, description: 'the router\'s plain-HTTP listener, reached by the edges' },
  admin: { ...AdminListenerSchema, description: 'the admin listener: GET /live, GET /ready, and the admin API under /admin/ when a token is set' },
  register: Type.Optional({ ...RegistrationSchema, description: 'the router\'s own registration in Consul (with an HTTP check on its readiness), by which edges find it' }),
  timeouts: TimeoutsSchema,
  shutdown: { ...ShutdownSchema, description: 'the drain on SIGTERM or SIGINT' },
  workers: WorkersSchema,
  ...Forwarding,
}, { ...Strict, description: 'the routing tier: route match, authorization, discovery, balancing; required to run a router' });

/** The router's field of a route. */
export const RouterRouteFields = {
  authz: Type.Optional({ ...AuthzPolicySchema, description: 'the router\'s authorization policy: every matcher given must pass ({} admits any authenticated caller)' }),
};

export const AuthorizationSchema = Type.Object({ default: AuthzDefaultSchema }, { ...Strict, default: {}, description: 'decides routes with no authz policy' });

const RouterRouteSchema = Type.Object({ ...RouteBaseSchema.properties, ...RouterRouteFields });

/** What the router reads of the file; the whole file (config/schema.ts) has this shape and more. */
const RouterFileSchema = Type.Object({
  router: Type.Optional(RouterSchema),
  routes: Type.Array(RouterRouteSchema),
  ...SharedSections,
  authorization: AuthorizationSchema,
});

export type RouterConfig = Static<typeof RouterSchema>;
export type RouterRouteConfig = Static<typeof RouterRouteSchema>;
export type RouterFileConfig = Static<typeof RouterFileSchema>;
