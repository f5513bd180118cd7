// Routes that services publish, put in the whole config: the cross-checks of the publishedRoutes section, and
// the config a tier builds from (its routes and services plus the published ones, complete route objects).
// What a service may get is decided in shared/routing/published-routes.ts; this only applies and completes it.
import { Value } from '@sinclair/typebox/value';
import type { Config, RouteConfig } from './schema.js';
import { ServiceSchema, type ServiceConfig } from '../shared/config/schema.js';
import { deepFreeze, type Problem } from '../shared/config/load.js';
import {
  checkPublishedHost, checkPublishedPrefix, resolvePublishedRoutes,
  type PublishedClaim, type PublishedRoute, type Refusal,
} from '../shared/routing/published-routes.js';
import { checkRoutePolicy } from './route-policy-check.js';

export interface ConfigWithPublished {
  /** The config with the published routes and their services added; the input's own fields untouched. */
  readonly config: Readonly<Config>;
  /** What was granted, for the log (shared/routing/published-routes-report.ts). */
  readonly published: readonly PublishedRoute[];
  readonly refusals: readonly Refusal[];
}

export function checkPublishedRoutes(config: Config): Problem[] {
  const section = config.publishedRoutes;
  if (!section) return [];
  const problems: Problem[] = [];
  if (!config.consul) problems.push({ path: ['publishedRoutes'], message: 'services publish routes through Consul, so a consul section (or GATEHOUSE_CONSUL_ADDR) is required' });
  for (const [name, profile] of Object.entries(section.profiles)) checkRoutePolicy(config, profile, ['publishedRoutes', 'profiles', name], `the routes of profile "${name}"`, problems);
  section.allow.forEach((entry, i) => {
    const at = ['publishedRoutes', 'allow', String(i)];
    entry.pathPrefixes.forEach((p, j) => {
      const problem = checkPublishedPrefix(p);
      if (problem) problems.push({ path: [...at, 'pathPrefixes', String(j)], message: `${JSON.stringify(p)} ${problem}` });
    });
    entry.hosts?.forEach((h, j) => {
      const problem = checkPublishedHost(h);
      if (problem) problems.push({ path: [...at, 'hosts', String(j)], message: `${JSON.stringify(h)} ${problem}` });
    });
    entry.profiles.forEach((p, j) => {
      if (!(p in section.profiles)) problems.push({ path: [...at, 'profiles', String(j)], message: `names profile "${p}", which is not defined under publishedRoutes.profiles (defined: ${Object.keys(section.profiles).join(', ') || 'none'})` });
    });
    if (entry.defaultProfile !== undefined && !entry.profiles.includes(entry.defaultProfile)) {
      problems.push({ path: [...at, 'defaultProfile'], message: `"${entry.defaultProfile}" is not one of this entry's profiles (${entry.profiles.join(', ')})` });
    }
  });
  return problems;
}

/**
 * The config a tier builds its route table from, given the claims the Consul source last reported. Pure:
 * the same config and claims give the same routes on every instance. Without a publishedRoutes section,
 * nothing is published and the config is returned as it is.
 */
export function withPublishedRoutes(config: Readonly<Config>, claims: readonly PublishedClaim[]): ConfigWithPublished {
  const section = config.publishedRoutes;
  if (!section) return { config, published: [], refusals: [] };
  const resolved = resolvePublishedRoutes({ claims, allow: section.allow, profiles: Object.keys(section.profiles), configured: config.routes });
  const refusals = [...resolved.refusals];
  const routes: RouteConfig[] = [];
  const services: Record<string, ServiceConfig> = {};
  const published: PublishedRoute[] = [];
  for (const r of resolved.routes) {
    const key = serviceKey(config, r);
    if (key === undefined) {
      refusals.push({ service: r.service, reason: `services.${r.name} is defined in the config for another upstream; the route's service cannot take its name` });
      continue;
    }
    if (!(key in config.services)) services[key] = Value.Default(ServiceSchema, { consul: { service: r.service } }) as ServiceConfig;
    const { rewrite, ...fields } = section.profiles[r.profile]!;
    const strip = r.stripPrefix ?? rewrite?.stripPrefix ?? false;
    routes.push({ ...fields, name: r.name, match: r.match, service: key, priority: r.priority, ...(strip && { rewrite: { stripPrefix: true } }) });
    published.push(r);
  }
  if (routes.length === 0) return { config, published, refusals };
  return {
    config: deepFreeze({ ...config, routes: [...config.routes, ...routes], services: { ...config.services, ...services } }),
    published,
    refusals,
  };
}

/**
 * The key of services a published route sends to: the operator's own definition of that Consul service when
 * there is one with no narrowing (tags, datacenter, node meta), so its balancer and resilience settings apply;
 * else a new entry named like the route. Undefined when that name is taken by something else.
 */
function serviceKey(config: Readonly<Config>, route: PublishedRoute): string | undefined {
  const own = Object.keys(config.services).sort().find((k) => {
    const c = config.services[k]!.consul;
    return c !== undefined && c.service === route.service && c.tags.length === 0 && c.datacenter === undefined && c.nodeMeta === undefined;
  });
  if (own !== undefined) return own;
  return route.name in config.services ? undefined : route.name;
}
