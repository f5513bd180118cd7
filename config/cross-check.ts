// Checks that span fields, which a JSON Schema cannot express: references
// between sections and "exactly one of" choices. Each problem carries the
// path of the field to blame so the loader can point at its line. A policy's own checks are its
// schema file's, run here over each kind's registry; this file keeps only references between sections.
// Like config/schema.ts, only entry points and tests import this.
import proxyAddr from '@fastify/proxy-addr';
import type { Config } from './schema.js';
import type { ServiceConfig } from '../shared/config/schema.js';
import { crossCheckAt, type Problem } from '../shared/config/policy-schema.js';
import { hasSecret } from '../shared/secrets-schema.js';
import { SERVICE_POLICIES } from '../shared/config/service-policies-schema.js';
import { registrationPolicy } from '../router/registration-schema.js';
import { edgeRegistrationPolicy } from '../edge/registration-schema.js';
import { AUTH_METHODS } from '../edge/auth/registry-schema.js';
import { buildStripList, strips } from '../edge/strip-headers-schema.js';
import { authSectionOf, checkKeyedHeader, checkRoutePolicy } from './route-policy-check.js';
import { checkPublishedRoutes } from './published-routes.js';

export function crossCheck(config: Config): Problem[] {
  const problems: Problem[] = [];
  const usesConsul = (s: ServiceConfig | undefined) => s?.consul !== undefined;
  for (const [name, svc] of Object.entries(config.services)) checkService(svc, ['services', name], problems);
  if (config.edge) checkService(config.edge.router, ['edge', 'router'], problems);
  const names = new Set<string>();
  const sectionOf = authSectionOf(config);
  config.routes.forEach((route, i) => {
    if (!(route.service in config.services)) {
      const known = Object.keys(config.services);
      problems.push({ path: ['routes', String(i), 'service'], message: `names service "${route.service}", which is not defined under services (defined: ${known.join(', ') || 'none'})` });
    }
    const m = route.match;
    const forms = [m.pathPrefix, m.path, m.pathPattern].filter((x) => x !== undefined).length;
    if (forms > 1) problems.push({ path: ['routes', String(i), 'match'], message: 'expected at most one of pathPrefix, path or pathPattern' });
    const rw = route.rewrite;
    if (rw && [rw.stripPrefix, rw.replacePrefix, rw.path].filter((x) => x !== undefined).length !== 1) problems.push({ path: ['routes', String(i), 'rewrite'], message: 'expected exactly one of stripPrefix, replacePrefix or path' });
    if ((rw?.stripPrefix || rw?.replacePrefix) && m.pathPrefix === undefined) problems.push({ path: ['routes', String(i), 'rewrite'], message: 'stripPrefix and replacePrefix need match.pathPrefix' });
    if (rw?.path) {
      const params = new Set([...(m.pathPattern ?? '').matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((x) => x[1]!));
      for (const [, name] of rw.path.matchAll(/\{([^}]*)\}/g)) if (!params.has(name!)) problems.push({ path: ['routes', String(i), 'rewrite', 'path'], message: `uses {${name}}, which match.pathPattern does not capture` });
    }
    checkRoutePolicy(config, route, ['routes', String(i)], `route "${route.name}"`, problems);
    if (config.edge) {
      const list = buildStripList(config.edge.stripHeaders, route.stripHeaders);
      checkKeyedHeader(config.services[route.service]?.balancer.hashOn, ['services', route.service, 'balancer', 'hashOn'], `route "${route.name}"`, (name) => strips(list, name), problems);
    }
    if (names.has(route.name)) problems.push({ path: ['routes', String(i), 'name'], message: `duplicate route name "${route.name}"` });
    names.add(route.name);
  });
  const consulNeeded = Object.values(config.services).some(usesConsul) || usesConsul(config.edge?.router);
  if (config.config.consul && !config.consul) problems.push({ path: ['config', 'consul'], message: 'a config in Consul KV needs a consul section (or GATEHOUSE_CONSUL_ADDR) to reach it' });
  crossCheckAt(registrationPolicy, config.router?.register, ['router', 'register'], config, problems);
  crossCheckAt(edgeRegistrationPolicy, config.edge?.register, ['edge', 'register'], config, problems);
  if (consulNeeded && !config.consul) {
    problems.push({ path: ['consul'], message: 'a service is discovered through Consul, so a consul section (or GATEHOUSE_CONSUL_ADDR) is required' });
  }
  for (const tier of ['edge', 'router'] as const) checkCidrs(config[tier]?.trustedProxies, [tier, 'trustedProxies'], problems);
  checkCidrs(config.edge?.listen.proxyProtocol?.trustedPeers, ['edge', 'listen', 'proxyProtocol', 'trustedPeers'], problems);
  for (const method of AUTH_METHODS) crossCheckAt(method, config.auth[method.key], ['auth', method.key], { file: config, sectionOf }, problems);
  config.identity.keys.forEach((key, i) => {
    const sources = [key.secret, key.secretEnv, key.secretFile].filter((x) => x !== undefined).length;
    if (sources !== 1 || !hasSecret(key)) problems.push({ path: ['identity', 'keys', String(i)], message: `expected exactly one of secret, secretEnv or secretFile, found ${sources}` });
  });
  if (config.edge) {
    for (const p of buildStripList(config.edge.stripHeaders).problems) problems.push({ path: ['edge', 'stripHeaders', 'keep', String(p.index)], message: p.message });
  }
  if (config.edge?.rateLimit !== undefined && !(config.edge.rateLimit in config.rateLimits)) {
    problems.push({ path: ['edge', 'rateLimit'], message: `names policy "${config.edge.rateLimit}", which is not defined under rateLimits` });
  }
  if (config.redis) {
    const modes = [config.redis.url, config.redis.sentinel, config.redis.cluster].filter((m) => m !== undefined).length;
    if (modes !== 1) problems.push({ path: ['redis'], message: `expected exactly one of url, sentinel or cluster, found ${modes}` });
  }
  problems.push(...checkPublishedRoutes(config));
  for (const tier of ['edge', 'router'] as const) {
    const admin = config[tier]?.admin;
    if (admin?.tokenEnv !== undefined && admin.tokenFile !== undefined) problems.push({ path: [tier, 'admin'], message: 'expected at most one of tokenEnv or tokenFile, found both' });
    if (admin && admin.tokenEnv === undefined && admin.tokenFile === undefined && !isLoopback(admin.host)) {
      problems.push({ path: [tier, 'admin', 'host'], message: `binds ${admin.host}, beyond loopback, without a token: set ${tier}.admin.tokenEnv or tokenFile (the admin API and probes would be open to the network), or bind 127.0.0.1` });
    }
  }
  if (!config.edge && !config.router) problems.push({ path: [], message: 'neither an edge nor a router section: nothing to run' });
  return problems;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const isLoopback = (host: string) => LOOPBACK.has(host.toLowerCase());

/** The schema's pattern lets through what proxy-addr would throw on at startup (999.1.1.1, a /40 on IPv4). */
function checkCidrs(cidrs: readonly string[] | undefined, path: string[], problems: Problem[]): void {
  cidrs?.forEach((cidr, i) => {
    try { proxyAddr.compile(cidr); } catch (err) {
      problems.push({ path: [...path, String(i)], message: `expected an IP address or CIDR range, found ${JSON.stringify(cidr)} (${(err as Error).message})` });
    }
  });
}

function checkService(svc: ServiceConfig, path: string[], problems: Problem[]): void {
  const set = Number(svc.consul !== undefined) + Number(svc.static !== undefined);
  if (set !== 1) problems.push({ path, message: `expected exactly one of "consul" or "static", found ${set === 0 ? 'neither' : 'both'}` });
  for (const p of SERVICE_POLICIES) crossCheckAt(p, svc[p.key], [...path, p.key], undefined, problems);
}
