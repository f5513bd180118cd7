// The live dashboard on a tier's admin listener: the page (GET /dashboard: plain HTML, CSS and a script,
// no build step, nothing fetched from elsewhere) and the two token-guarded endpoints it polls,
// /admin/snapshot (this instance) and /admin/cluster (every edge and router found, cluster.ts).
//
// The page itself holds no data, so it is served without the token: a browser cannot send a bearer token
// on navigation. The token comes in the URL's fragment (#token=..., which never leaves the browser) or is
// typed in, and the page sends it on each poll. With no token configured the admin API is off, and so is
// the dashboard (404).
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Cluster, type ClusterSources } from './cluster.js';
import { instanceSnapshot, type SnapshotSources } from './snapshot.js';
import { randomHex } from '../ids.js';
import { registerAdminApi, type AdminApiDeps, type AdminViewConfig } from '../admin-api.js';

/** Read once at start from the source tree (the image copies shared/dashboard/page/ beside dist/). */
const PAGE_DIR = new URL('../../../shared/dashboard/page/', import.meta.url);
const ASSETS = [
  { path: '/dashboard', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

// Only its own script, style and API: an injected script or a frame of the page from elsewhere does nothing.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export interface Dashboard {
  /** The endpoints for the admin API's extra (under /admin/, behind the token). */
  readonly endpoints: Readonly<Record<string, () => unknown>>;
  close(): void;
}

export type DashboardSources = Omit<SnapshotSources, 'id'> & Omit<ClusterSources, 'self' | 'token' | 'id'>;

/** Mounts the page and returns its endpoints; undefined (nothing mounted) when the admin API is off. */
export function mountDashboard(admin: FastifyInstance, token: string | undefined, sources: DashboardSources): Dashboard | undefined {
  if (token === undefined) return undefined;
  for (const asset of ASSETS) {
    const body = readFileSync(new URL(asset.file, PAGE_DIR));
    admin.get(asset.path, async (_req, reply) => reply.headers(PAGE_HEADERS).header('content-type', asset.type).send(body));
  }
  // Per tier instance, not per process: tests and the embedded default run several tiers in one process.
  const id = randomHex(8);
  const self = () => instanceSnapshot({ ...sources, id });
  const cluster = new Cluster({ ...sources, id, token, self });
  return {
    endpoints: { snapshot: self, cluster: () => cluster.view() },
    close: () => cluster.close(),
  };
}

/** The gateway's own service names in Consul, configured or default, which the cluster view asks for. */
export function gatewayServiceNames(config: {
  readonly edge?: { readonly register?: { readonly service: string } | undefined; readonly router: { readonly consul?: { readonly service: string } | undefined } } | undefined;
  readonly router?: { readonly register?: { readonly service: string } | undefined } | undefined;
}): string[] {
  const names = ['gatehouse-edge', 'gatehouse-router', config.edge?.register?.service, config.edge?.router.consul?.service, config.router?.register?.service];
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** What a tier hands its admin listener: the admin API's views and the dashboard's sources, one set of functions. */
export type AdminSurface<C extends AdminViewConfig> = AdminApiDeps<C> & Omit<DashboardSources, 'routes' | 'tier'>;

/** The admin API and the dashboard of a tier, from one description; the dashboard (undefined when off) is for closing. */
export function mountAdminSurface<C extends AdminViewConfig>(admin: FastifyInstance, s: AdminSurface<C>): Dashboard | undefined {
  const dashboard = mountDashboard(admin, s.token, { ...s, routes: () => s.config().routes });
  registerAdminApi(admin, { ...s, extra: { ...s.extra, ...dashboard?.endpoints } });
  return dashboard;
}
