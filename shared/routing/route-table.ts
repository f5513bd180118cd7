// Compiles the configured routes into a lookup built once at config load.
// Both tiers use it: the edge to pick a route's auth and limits, the router to
// pick its service. Order of precedence, most specific first: exact host,
// wildcard host, any host; then the longest path prefix; then routes that
// name methods; then file order.
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteBaseConfig } from '../config/schema.js';
import { compilePathMatcher, type PathMatcher } from './path-matcher.js';


export interface CompiledRoute<T = unknown> {
  /** The route's fields both tiers read; each tier keeps its own fields in data, built from the whole route. */
  readonly config: RouteBaseConfig;
  readonly name: string;
  /** Per-tier data built once for this route (handler chain, balancer...). */
  readonly data: T;
  readonly path: PathMatcher;
  readonly methods: ReadonlySet<string> | undefined;
  /** [name, value] pairs; value '*' means present with any value. */
  readonly headers: readonly (readonly [string, string])[] | undefined;
  readonly hostExact: string | undefined;
  readonly hostSuffix: string | undefined;
}

export class RouteTable<T = unknown, R extends RouteBaseConfig = RouteBaseConfig> {
  private readonly routes: readonly CompiledRoute<T>[];

  constructor(routes: readonly R[], build: (route: R) => T) {
    this.routes = routes
      .map((config, order) => ({ route: compile(config, build(config)), order }))
      .sort((a, b) => rank(b.route) - rank(a.route) || a.order - b.order)
      .map((x) => x.route);
  }

  match(method: string, authority: string, path: string, headers: IncomingHttpHeaders = {}): CompiledRoute<T> | undefined {
    const host = authority.toLowerCase();
    const hostname = stripPort(host);
    for (const r of this.routes) {
      if (r.hostExact !== undefined && r.hostExact !== host && r.hostExact !== hostname) continue;
      if (r.hostSuffix !== undefined && !hostname.endsWith(r.hostSuffix)) continue;
      if (r.methods !== undefined && !r.methods.has(method)) continue;
      if (!r.path.matches(path)) continue;
      if (r.headers !== undefined && !headersMatch(r.headers, headers)) continue;
      return r;
    }
    return undefined;
  }
}

function compile<T>(config: RouteBaseConfig, data: T): CompiledRoute<T> {
  const host = config.match.host?.toLowerCase();
  const wildcard = host?.startsWith('*.');
  return {
    config,
    name: config.name,
    data,
    path: compilePathMatcher(config.match),
    methods: config.match.methods ? new Set(config.match.methods) : undefined,
    headers: config.match.headers ? Object.entries(config.match.headers) : undefined,
    hostExact: wildcard ? undefined : host,
    hostSuffix: wildcard ? host!.slice(1) : undefined,
  };
}

/** Explicit priority first; then host, path, header and method specificity. */
function rank(r: CompiledRoute<unknown>): number {
  const hostRank = r.hostExact !== undefined ? 2 : r.hostSuffix !== undefined ? 1 : 0;
  return r.config.priority * 1e12 + hostRank * 1e9 + r.path.specificity * 100 + (r.headers?.length ?? 0) * 2 + (r.methods ? 1 : 0);
}

function headersMatch(wanted: readonly (readonly [string, string])[], headers: IncomingHttpHeaders): boolean {
  for (const [name, value] of wanted) {
    const got = headers[name];
    if (got === undefined || (value !== '*' && got !== value)) return false;
  }
  return true;
}

function stripPort(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
