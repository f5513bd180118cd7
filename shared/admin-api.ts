// The read-only admin API under /admin/ on a tier's admin listener: the config the running generation was
// built from (secrets redacted) and its version, its routes, the services and instances as this process
// sees them, build facts. Behind a bearer token; with no token configured it registers nothing (404:
// secure by default). It never changes what it reports on.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { resolveSecret } from './secrets.js';
import { errorBody } from './errors.js';
import { randomHex } from './ids.js';
import { redactSecrets } from './config/redact.js';
import { buildFacts } from './build-facts.js';
import type { AdminListenerConfig, RouteBaseConfig } from './config/schema.js';
import type { ConfigStatus } from './config/live.js';
import type { UpstreamService } from './discovery/upstream-service.js';

/** What the API reads of a config: the whole of it is shown, its routes listed. */
export interface AdminViewConfig {
  readonly routes: readonly Pick<RouteBaseConfig, 'name' | 'match' | 'service'>[];
}

export interface AdminApiDeps<C extends AdminViewConfig> {
  readonly tier: 'edge' | 'router';
  /** From adminToken(); undefined: the API is off. */
  readonly token: string | undefined;
  /** The config the current generation was built from, published routes included. */
  config(): Readonly<C>;
  /** The live config's status (version, hash, generation); undefined when the tier runs without live config. */
  configStatus(): ConfigStatus | undefined;
  /** The services the current generation sends to (the edge's: its routers). */
  services(): readonly UpstreamService[];
  /** More endpoints by path under /admin/: the edge's ratelimits, the dashboard's snapshot and cluster. */
  readonly extra?: Readonly<Record<string, () => unknown>>;
}

/** The admin token from the listener's tokenEnv or tokenFile, read once at start; errors name the field, never the token. */
export function adminToken(admin: AdminListenerConfig, field: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (admin.tokenEnv === undefined && admin.tokenFile === undefined) return undefined;
  try {
    return resolveSecret({ secretEnv: admin.tokenEnv, secretFile: admin.tokenFile }, field, env).export().toString('utf8');
  } catch (err) {
    throw new Error(`${field}: the admin token from ${admin.tokenEnv !== undefined ? `tokenEnv (${admin.tokenEnv})` : `tokenFile (${admin.tokenFile})`} is missing or shorter than 32 characters (${(err as Error).message})`);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Equal-length digests, so the comparison takes the same time whatever the guess and however long it is. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const given = header?.startsWith('Bearer ') ? header.slice(7) : '';
  return timingSafeEqual(digest(given), expected) && given !== '';
}

export function registerAdminApi<C extends AdminViewConfig>(app: FastifyInstance, deps: AdminApiDeps<C>): void {
  if (deps.token === undefined) return;
  const expected = digest(deps.token);
  const endpoints: Record<string, () => unknown> = {
    config: () => ({ status: deps.configStatus() ?? null, config: redactSecrets(deps.config()) }),
    routes: () => ({ routes: deps.config().routes.map(routeView) }),
    services: () => ({ services: deps.services().map((s) => ({ name: s.name, ...s.source.status, instances: s.instanceStatus() })) }),
    build: () => buildFacts(deps.tier),
    ...deps.extra,
  };
  // Its own scope: the token check covers these endpoints only, never /live and /ready (probes carry no token).
  void app.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (bearerMatches(req.headers.authorization, expected)) return;
      const requestId = randomHex(16);
      await reply.code(401).header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store')
        .header('www-authenticate', 'Bearer realm="gatehouse-admin"').header('x-request-id', requestId).send(errorBody('unauthorized', requestId));
    });
    for (const [name, view] of Object.entries(endpoints)) {
      scope.get(`/admin/${name}`, async (_req, reply) => reply.header('cache-control', 'no-store').send(await view()));
    }
  });
}

/**
 * Published routes are named published-<service> (shared/routing/published-routes.ts) and carry no other
 * mark once merged into the config; a configured route given such a name would be listed as published.
 */
function routeView(r: AdminViewConfig['routes'][number]) {
  return { name: r.name, match: r.match, service: r.service, source: r.name.startsWith('published-') ? 'published' : 'configured' };
}
