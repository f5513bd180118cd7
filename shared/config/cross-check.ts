// Checks that span fields, which a JSON Schema cannot express: references
// between sections and "exactly one of" choices. Each problem carries the
// path of the field to blame so load.ts can point at its line.
import proxyAddr from '@fastify/proxy-addr';
import type { Config, ServiceConfig } from './schema.js';

export interface Problem { readonly path: string[]; readonly message: string }

export function crossCheck(config: Config): Problem[] {
  const problems: Problem[] = [];
  const usesConsul = (s: ServiceConfig | undefined) => s?.consul !== undefined;
  for (const [name, svc] of Object.entries(config.services)) checkService(svc, ['services', name], problems);
  if (config.edge) checkService(config.edge.router, ['edge', 'router'], problems);
  const names = new Set<string>();
  config.routes.forEach((route, i) => {
    if (!(route.service in config.services)) {
      const known = Object.keys(config.services);
      problems.push({ path: ['routes', String(i), 'service'], message: `names service "${route.service}", which is not defined under services (defined: ${known.join(', ') || 'none'})` });
    }
    if (names.has(route.name)) problems.push({ path: ['routes', String(i), 'name'], message: `duplicate route name "${route.name}"` });
    names.add(route.name);
  });
  const consulNeeded = Object.values(config.services).some(usesConsul) || usesConsul(config.edge?.router);
  if (consulNeeded && !config.consul) {
    problems.push({ path: ['consul'], message: 'a service is discovered through Consul, so a consul section (or GATEHOUSE_CONSUL_ADDR) is required' });
  }
  for (const tier of ['edge', 'router'] as const) {
    config[tier]?.trustedProxies.forEach((cidr, i) => {
      try { proxyAddr.compile(cidr); } catch (err) {
        problems.push({ path: [tier, 'trustedProxies', String(i)], message: `expected an IP address or CIDR range, found ${JSON.stringify(cidr)} (${(err as Error).message})` });
      }
    });
  }
  if (!config.edge && !config.router) problems.push({ path: [], message: 'neither an edge nor a router section: nothing to run' });
  return problems;
}

function checkService(svc: ServiceConfig, path: string[], problems: Problem[]): void {
  const set = Number(svc.consul !== undefined) + Number(svc.static !== undefined);
  if (set !== 1) problems.push({ path, message: `expected exactly one of "consul" or "static", found ${set === 0 ? 'neither' : 'both'}` });
}
