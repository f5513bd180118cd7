// Compiles the configured routes into a lookup built once at config load.
// Both tiers use it: the edge to pick a route's auth and limits, the router to
// pick its service. Order of precedence, most specific first: exact host,
// wildcard host, any host; then the longest path prefix; then routes that
// name methods; then file order.
import type { RouteConfig } from '../config/schema.js';

export interface CompiledRoute<T = unknown> {
  readonly config: RouteConfig;
  readonly name: string;
  /** Per-tier data built once for this route (handler chain, balancer...). */
  readonly data: T;
  readonly prefix: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly hostExact: string | undefined;
  readonly hostSuffix: string | undefined;
}

export class RouteTable<T = unknown> {
  private readonly routes: readonly CompiledRoute<T>[];

  constructor(routes: readonly RouteConfig[], build: (route: RouteConfig) => T) {
    this.routes = routes
      .map((config, order) => ({ route: compile(config, build(config)), order }))
      .sort((a, b) => rank(b.route) - rank(a.route) || a.order - b.order)
      .map((x) => x.route);
  }

  match(method: string, authority: string, path: string): CompiledRoute<T> | undefined {
    const host = authority.toLowerCase();
    const hostname = stripPort(host);
    for (const r of this.routes) {
      if (r.hostExact !== undefined && r.hostExact !== host && r.hostExact !== hostname) continue;
      if (r.hostSuffix !== undefined && !hostname.endsWith(r.hostSuffix)) continue;
      if (r.methods !== undefined && !r.methods.has(method)) continue;
      if (!prefixMatches(r.prefix, path)) continue;
      return r;
    }
    return undefined;
  }

  get all(): readonly CompiledRoute<T>[] {
    return this.routes;
  }
}

function compile<T>(config: RouteConfig, data: T): CompiledRoute<T> {
  const host = config.match.host?.toLowerCase();
  const wildcard = host?.startsWith('*.');
  const prefix = config.match.pathPrefix.length > 1 && config.match.pathPrefix.endsWith('/')
    ? config.match.pathPrefix.slice(0, -1)
    : config.match.pathPrefix;
  return {
    config,
    name: config.name,
    data,
    prefix,
    methods: config.match.methods ? new Set(config.match.methods) : undefined,
    hostExact: wildcard ? undefined : host,
    hostSuffix: wildcard ? host!.slice(1) : undefined,
  };
}

function rank(r: CompiledRoute<unknown>): number {
  const hostRank = r.hostExact !== undefined ? 2 : r.hostSuffix !== undefined ? 1 : 0;
  return hostRank * 1e6 + r.prefix.length * 2 + (r.methods ? 1 : 0);
}

/** Whole segments only: /api matches /api and /api/x, never /apix. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */;
}

function stripPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
