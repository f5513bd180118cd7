// Builds the routing tier from a validated config: route table, service
// directory (Consul or static), upstream pools, the pipeline and the admin app.
import type { Logger } from 'pino';
import type { RouterConfig, RouterFileConfig } from './schema.js';
import { RouteTable } from '../shared/routing/route-table.js';
import { ServiceDirectory } from '../shared/discovery/directory.js';
import { UpstreamPools } from '../shared/proxy/pools.js';
import { compileTrust } from '../shared/http/forwarded.js';
import { buildTierApp } from '../shared/tier-app.js';
import { buildAdminApp, isReady, type ReadinessChecks } from '../shared/admin.js';
import { adminToken } from '../shared/admin-api.js';
import { listenOn, SINGLE_PROCESS, type TierRuntime, type WorkerRole } from '../shared/runtime.js';
import { routerPipeline, routerRoute } from './pipeline.js';
import { acceptUpgrades } from '../shared/proxy/websocket.js';
import { AssertionVerifier } from '../shared/identity.js';
import { SelfRegistration, tierTarget } from '../shared/discovery/self-registration.js';
import { gatewayServiceNames, mountAdminSurface } from '../shared/dashboard/mount.js';
import { shutDown } from '../shared/shutdown.js';
import { Tracing } from '../shared/telemetry/tracing.js';

import type { Stage } from '../shared/exchange.js';
import { changedPaths, holdPaths, type FieldPath } from '../shared/config/field-paths.js';
import { RESOLVE_WAIT_MS } from '../shared/reload.js';
import { createTierMetrics } from '../shared/metrics/registry.js';
import { discoveryMetrics } from '../shared/metrics/state.js';
import { mountMetrics } from '../shared/metrics/endpoint.js';

/** What only a restart changes (see EDGE_RESTART_FIELDS): the listeners, registration, the clients opened at start. */
export const ROUTER_RESTART_FIELDS: readonly FieldPath[] = [
  ['router', 'listen'], ['router', 'admin'], ['router', 'timeouts'], ['router', 'trustedProxies'], ['router', 'register'],
  ['router', 'shutdown'], ['router', 'workers'], ['consul'], ['log'], ['config'], ['telemetry'],
];

export function buildRouter(config: Readonly<RouterFileConfig>, log: Logger, role: WorkerRole = SINGLE_PROCESS): TierRuntime<RouterFileConfig> {
  const rc: RouterConfig = config.router!;
  const trust = compileTrust(rc.trustedProxies);
  const metrics = createTierMetrics('router');
  const directory = new ServiceDirectory(usedServices(config), config.consul, log, 'router', metrics.upstream);
  const pools = new UpstreamPools();
  const tracing = config.telemetry?.otlp && new Tracing(config.telemetry.otlp, 'router', log);
  discoveryMetrics(metrics.registry, () => directory.status());
  // No Redis connection: nothing the router runs uses Redis (config.redis is the edge's), and a connection
  // would only make its readiness wait on a Redis it never asks anything.

  /** One config's stages: its route table over the directory's services as that config defines them. */
  function stagesOf(c: Readonly<RouterFileConfig>): readonly Stage[] {
    const services = directory.update(usedServices(c));
    const routes = new RouteTable(c.routes, (route) => routerRoute(route, c.authorization.default, services));
    return routerPipeline({ trust, routes, pools, verifier: new AssertionVerifier(c.identity) });
  }

  /** Read by the request listener and the upgrade handler; reload() swaps its stages whole (and the config they came from, for the admin API). */
  const live: { stages: readonly Stage[]; config: Readonly<RouterFileConfig> } = { stages: stagesOf(config), config };
  const app = buildTierApp({ log, trust, isDraining: () => runtime.draining, timeouts: rc.timeouts, pipeline: live, tracing, metrics: metrics.requests, authFailures: metrics.authFailures });
  acceptUpgrades(app.server, { pipeline: live, trust, log });

  // One worker per host keeps the registration: the others share its id, and would re-add it as soon as it left.
  const registration = rc.register && config.consul && role.registers ? new SelfRegistration(rc.register, config.consul, log) : undefined;

  const readiness: ReadinessChecks = () => ({
    config: { ok: true },
    serving: { ok: !runtime.draining },
    discovery: { ...directory.status(), ok: directory.status().ready },
    ...(registration && { registration: registration.status() }),
  });
  const runtime: TierRuntime<RouterFileConfig> = {
    log,
    app,
    draining: false,
    metrics,
    admin: buildAdminApp(log, readiness),
    async reload(next) {
      if (!next.router) throw new Error('the document has no router section');
      const restartRequired = changedPaths(config, next, ROUTER_RESTART_FIELDS);
      const held = holdPaths(next, config, ROUTER_RESTART_FIELDS);
      const stages = stagesOf(held);
      await directory.resolved(RESOLVE_WAIT_MS);
      live.stages = stages;
      live.config = held;
      return { restartRequired };
    },
    async listen() {
      const url = await listenOn(app, rc.listen, 'http', role);
      const adminUrl = await listenOn(runtime.admin, rc.admin, 'http', role);
      registration?.start(tierTarget('router', rc.listen.host, Number(new URL(url).port), adminUrl, () => isReady(readiness)));
      return { url, adminUrl };
    },
    close() {
      runtime.draining = true;
      return shutDown({
        config: rc.shutdown, log, listeners: [app], admin: runtime.admin,
        deregister: registration && (() => registration.stop()), // edges stop choosing this instance before it stops accepting
        async closeClients() {
          directory.close();
          dashboard?.close();
          await pools.close();
          await tracing?.close(); // last: the spans of the drained requests go out
        },
      });
    },
  };
  const dashboard = mountAdminSurface(runtime.admin, {
    tier: 'router', token: adminToken(rc.admin, 'router.admin'), registry: metrics.registry, authFailures: metrics.authFailures, log,
    config: () => live.config,
    configStatus: () => runtime.configStatus?.(),
    services: () => directory.services(),
    consulOf: (service) => live.config.services[service]?.consul,
    ready: () => isReady(readiness),
    peers: rc.admin.peers, gatewayServices: gatewayServiceNames(config), consul: config.consul,
  });
  mountMetrics(runtime.admin, role.exposition(metrics.registry));
  return runtime;
}

/** Only services some route uses are watched: one Consul long-poll per service in use. */
function usedServices(config: Readonly<RouterFileConfig>): Record<string, NonNullable<RouterFileConfig['services'][string]>> {
  const used = new Set(config.routes.map((r) => r.service));
  return Object.fromEntries(Object.entries(config.services).filter(([name]) => used.has(name)));
}
