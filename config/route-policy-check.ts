// The cross-checks of a route's policy fields (auth, authz, rateLimit, stripHeaders) against the rest of the
// file, shared by configured routes and the profiles of published routes so both are held to the same rules.
// Only config/ imports this.
import type { Config, RouteConfig } from './schema.js';
import type { Problem } from '../shared/config/policy-schema.js';
import { checkAuthzPolicy } from '../router/authz/schema.js';
import { AUTH_METHOD_BY_NAME } from '../edge/auth/registry-schema.js';
import type { AuthCheckContext } from '../edge/auth/method-schema.js';
import { buildStripList, strips } from '../edge/strip-headers-schema.js';

export type RoutePolicy = Pick<RouteConfig, 'auth' | 'authz' | 'rateLimit' | 'stripHeaders'>;

/** Which auth section a method reads, and whether the file has it. */
export function authSectionOf(config: Config): AuthCheckContext['sectionOf'] {
  return (m) => {
    const key = AUTH_METHOD_BY_NAME.get(m)!.key;
    return { key, configured: config.auth[key] !== undefined };
  };
}

/**
 * path: where the fields live (['routes', '3'], ['publishedRoutes', 'profiles', 'partner-api']); label names
 * them in a message (route "orders", profile "partner-api").
 */
export function checkRoutePolicy(config: Config, route: RoutePolicy, path: readonly string[], label: string, problems: Problem[]): void {
  const sectionOf = authSectionOf(config);
  const auth = route.auth;
  if (auth.methods.length === 0 && !auth.anonymous) {
    problems.push({ path: [...path, 'auth'], message: 'admits nobody: list methods, or set anonymous: true for a public route' });
  }
  auth.methods.forEach((m, j) => {
    const section = sectionOf(m);
    if (!section.configured) problems.push({ path: [...path, 'auth', 'methods', String(j)], message: `uses ${m}, which has no auth.${section.key} section` });
  });
  if (route.authz) for (const p of checkAuthzPolicy(route.authz)) problems.push({ path: [...path, 'authz'], message: p });
  if (route.rateLimit !== undefined && !(route.rateLimit in config.rateLimits)) {
    problems.push({ path: [...path, 'rateLimit'], message: `names policy "${route.rateLimit}", which is not defined under rateLimits` });
  }
  if (config.edge) {
    const list = buildStripList(config.edge.stripHeaders, route.stripHeaders);
    for (const p of list.problems) {
      if (p.field === 'route') problems.push({ path: [...path, 'stripHeaders', 'keep', String(p.index)], message: p.message });
    }
    const rateKeys: [string | undefined, readonly string[]][] = [
      [config.edge.rateLimit, ['edge', 'rateLimit']],
      [route.rateLimit, [...path, 'rateLimit']],
    ];
    for (const [policy, at] of rateKeys) {
      checkKeyedHeader(policy === undefined ? undefined : config.rateLimits[policy]?.key, at, label, (name) => strips(list, name), problems);
    }
  }
}

/**
 * A rate limit or a balancer keyed on a header the edge strips would key every request on nothing: all
 * clients one bucket, or every request on one instance. Refused here instead of failing quietly.
 */
export function checkKeyedHeader(key: string | undefined, path: readonly string[], label: string, stripped: (name: string) => boolean, problems: Problem[]): void {
  const name = key?.startsWith('header:') ? key.slice('header:'.length) : undefined;
  if (name !== undefined && stripped(name)) {
    problems.push({ path: [...path], message: `keys on header ${name}, which the edge strips from ${label} before it is read (list it under stripHeaders.keep, or key on another header)` });
  }
}
