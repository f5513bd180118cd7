// Builds the security edge from a validated config: TLS listener, optional
// HTTP->HTTPS redirect listener, route table, router discovery, pools, the
// pipeline and the admin app. What a config builds per route is a generation,
// rebuilt and swapped whole by reload(); listeners and clients live on.
import type { Logger } from 'pino';
import type { EdgeConfig, EdgeFileConfig } from './schema.js';
import { RouteTable } from '../shared/routing/route-table.js';
import { ServiceDirectory } from '../shared/discovery/directory.js';
import { UpstreamPools } from '../shared/proxy/pools.js';
import { compileTrust } from '../shared/http/forwarded.js';
import { buildTierApp } from '../shared/tier-app.js';
import { buildAdminApp, isReady, type ReadinessChecks } from '../shared/admin.js';
import { adminToken } from '../shared/admin-api.js';
import { SelfRegistration, tierTarget } from '../shared/discovery/self-registration.js';
import { gatewayServiceNames, mountAdminSurface } from '../shared/dashboard/mount.js';
import { connectRedis, redisCheck, closeRedis } from '../shared/redis.js';
import { shutDown } from '../shared/shutdown.js';
import { Tracing } from '../shared/telemetry/tracing.js';
import { listenOn, SINGLE_PROCESS, type TierRuntime, type WorkerRole } from '../shared/runtime.js';
import { edgePipeline, edgeRoute, ROUTER_SERVICE } from './pipeline.js';
import { acceptUpgrades } from '../shared/proxy/websocket.js';
import { AssertionSigner } from '../shared/identity.js';
import { buildAuthMethods } from './auth/methods.js';
import { guardSlowClients } from './slow-clients.js';
import { buildRateLimits, rateLimitStores, type RateLimits } from './ratelimit/build.js';
import { RateLimitMetrics } from './ratelimit/metrics.js';
import { isDeepStrictEqual } from 'node:util';
import type { Server as TlsServer } from 'node:tls';
import type { Stage } from '../shared/exchange.js';
import type { EdgeAuth } from './auth/methods.js';
import { changedPaths, holdPaths, type FieldPath } from '../shared/config/field-paths.js';
import { retire, RESOLVE_WAIT_MS } from '../shared/reload.js';
import { CertificateStore, type SecureContextTarget } from './tls/certificate-store.js';
import { hstsHeaderValue } from './tls/schema.js';
import { trackHttp2Sessions } from './http2-sessions.js';
import { limitStreamResets } from './stream-resets.js';
import { buildRedirectApp } from './redirect.js';
import { limitConnectionsPerClient } from './client-connections.js';
import { acceptProxyProtocol } from './proxy-protocol/listener.js';
import { createTierMetrics } from '../shared/metrics/registry.js';
import { discoveryMetrics, redisMetrics } from '../shared/metrics/state.js';
import { mountMetrics } from '../shared/metrics/endpoint.js';

/**
 * What only a restart changes: the listeners, their TLS and server settings, and the connections opened at
 * start. A reload that changes one reports it and keeps the running value (shared/config/field-paths.ts).
 */
export const EDGE_RESTART_FIELDS: readonly FieldPath[] = [
  ['edge', 'listen'], ['edge', 'tls'], ['edge', 'redirectHttp'], ['edge', 'admin'], ['edge', 'timeouts'], ['edge', 'limits'],
  ['edge', 'trustedProxies'], ['edge', 'shutdown'], ['edge', 'register'], ['edge', 'workers'], ['redis'], ['consul'], ['log'], ['config'], ['telemetry'],
];

/** What one config builds: requests read its stages once, as they arrive, and finish on them. */
interface EdgeGeneration {
  readonly config: Readonly<EdgeFileConfig>;
  readonly stages: readonly Stage[];
  readonly auth: EdgeAuth;
  readonly limits: RateLimits;
}

export function buildEdge(config: Readonly<EdgeFileConfig>, log: Logger, role: WorkerRole = SINGLE_PROCESS): TierRuntime<EdgeFileConfig> {
  const ec: EdgeConfig = config.edge!;
  const trust = compileTrust(ec.trustedProxies);
  const redis = config.redis ? connectRedis(config.redis, log) : undefined;
  const metrics = createTierMetrics('edge');
  // One worker per host keeps the registration: the others share its id, and would re-add it as soon as it left.
  const registration = ec.register && config.consul && role.registers ? new SelfRegistration(ec.register, config.consul, log) : undefined;
  const routers = new ServiceDirectory({ [ROUTER_SERVICE]: ec.router }, config.consul, log, 'edge', metrics.upstream);
  const pools = new UpstreamPools();
  const certificates = new CertificateStore(ec.tls, log);
  const tracing = config.telemetry?.otlp && new Tracing(config.telemetry.otlp, 'edge', log);
  discoveryMetrics(metrics.registry, () => routers.status());
  if (redis) redisMetrics(metrics.registry, () => redisCheck(redis));
  const limiter = rateLimitStores(config, redis, log, new RateLimitMetrics(metrics.registry));

  /** Builds a generation, reusing what the previous one built from the same sections (JWKS and key caches). */
  function generationOf(c: Readonly<EdgeFileConfig>, previous: EdgeGeneration | undefined): EdgeGeneration {
    const e = c.edge!;
    const sameAuth = previous !== undefined && isDeepStrictEqual(previous.config.auth, c.auth) && previous.config.edge!.realm === e.realm;
    const auth = sameAuth ? previous.auth : buildAuthMethods(c, redis, log);
    const limits = buildRateLimits(c, limiter);
    const routerService = routers.update({ [ROUTER_SERVICE]: e.router }).service(ROUTER_SERVICE)!;
    const stageDeps = { auth: { ...auth, realm: e.realm }, stripHeaders: e.stripHeaders, ...limits };
    const routes = new RouteTable(c.routes, (route) => edgeRoute(route, stageDeps, routerService));
    const stages = edgePipeline({
      trust, routes, pools, signer: new AssertionSigner(c.identity), sessions: auth.sessions,
      maxHeaderBytes: ec.limits.maxHeaderBytes, maxHeaderCount: ec.limits.maxHeaderCount,
    });
    return { config: c, stages, auth, limits };
  }

  let generation = generationOf(config, undefined);
  /** Read by the request listener and the upgrade handler; reload() swaps its stages whole. */
  const live: { stages: readonly Stage[] } = { stages: generation.stages };
  const app = buildTierApp({
    log, trust, timeouts: ec.timeouts, isDraining: () => runtime.draining,
    tls: {
      // Bounds per-connection concurrency against stream floods; churn (rapid reset) is stream-resets.ts's.
      options: { ...certificates.serverOptions(), settings: { maxConcurrentStreams: 100, maxHeaderListSize: ec.limits.maxHeaderBytes } },
      sessionTimeoutMs: ec.timeouts.keepAliveMs,
    },
    ...(ec.tls.hsts && { responseHeaders: { 'strict-transport-security': hstsHeaderValue(ec.tls.hsts) } }),
    pipeline: live, tracing,
    metrics: metrics.requests,
    authFailures: metrics.authFailures,
  });
  acceptUpgrades(app.server, { pipeline: live, trust, log });
  app.server.maxConnections = ec.limits.maxConnections;
  // Order matters: each takes over the 'connection' listeners registered before it. The per-client cap goes
  // first so that the PROXY gate runs it once the header is read: it then counts the client the header names,
  // not the balancer every client shares.
  limitConnectionsPerClient(app.server, ec.limits.maxConnectionsPerClient, trust, log, 'https');
  const proxyProtocol = ec.listen.proxyProtocol && acceptProxyProtocol(app.server, ec.listen.proxyProtocol, log);
  certificates.attach(app.server as unknown as SecureContextTarget);
  // Workers share ticket keys: a client resumes its TLS session on whichever worker takes its next connection.
  if (role.ticketKeys) (app.server as unknown as TlsServer).setTicketKeys(role.ticketKeys);
  certificates.startWatching();
  const sessions = trackHttp2Sessions(app.server);
  limitStreamResets(app.server, ec.limits.maxStreamResets, ec.limits.streamResetWindowMs, log);
  guardSlowClients(app.server, ec.timeouts.headersMs, ec.timeouts.requestMs, log);
  let httpsPort = ec.listen.port;
  const redirect = ec.redirectHttp && buildRedirectApp(log, {
    canonicalHost: ec.redirectHttp.canonicalHost,
    serves: (hostname) => certificates.serves(hostname),
    httpsPort: () => httpsPort,
  });
  if (redirect) {
    // As open to the world as the HTTPS listener, so held to the same connection limits.
    redirect.server.maxConnections = ec.limits.maxConnections;
    limitConnectionsPerClient(redirect.server, ec.limits.maxConnectionsPerClient, trust, log, 'redirect');
  }

  const readiness: ReadinessChecks = () => {
    const discovery = routers.status();
    return {
      config: { ok: true },
      serving: { ok: !runtime.draining },
      routers: { ...discovery, ok: discovery.ready },
      ...(redis && { redis: redisCheck(redis) }),
      ...(generation.limits.policies.size > 0 && { rateLimit: limiter.health.status() }),
      ...(registration && { registration: registration.status() }),
    };
  };
  const runtime: TierRuntime<EdgeFileConfig> = {
    log,
    app,
    draining: false,
    metrics,
    admin: buildAdminApp(log, readiness),
    async reload(next) {
      if (!next.edge) throw new Error('the document has no edge section');
      const restartRequired = changedPaths(config, next, EDGE_RESTART_FIELDS);
      const previous = generation;
      const built = generationOf(holdPaths(next, config, EDGE_RESTART_FIELDS), previous);
      await routers.resolved(RESOLVE_WAIT_MS);
      generation = built;
      live.stages = built.stages;
      if (built.auth !== previous.auth) retire(() => previous.auth.close());
      return { restartRequired };
    },
    async listen() {
      const url = await listenOn(app, ec.listen, 'https', role);
      httpsPort = Number(new URL(url).port || 443);
      const adminUrl = await listenOn(runtime.admin, ec.admin, 'http', role);
      const extra = redirect && ec.redirectHttp ? { redirectUrl: await listenOn(redirect, ec.redirectHttp, 'http', role) } : undefined;
      registration?.start(tierTarget('edge', ec.listen.host, httpsPort, adminUrl, () => isReady(readiness)));
      return { url, adminUrl, ...(extra && { extra }) };
    },
    close() {
      runtime.draining = true;
      return shutDown({
        config: ec.shutdown, log, listeners: redirect ? [app, redirect] : [app], admin: runtime.admin,
        deregister: registration && (() => registration.stop()),
        beforeClose() {
          certificates.close();
          sessions.closeAll(); // GOAWAY: in-flight streams finish, no new ones start
          proxyProtocol?.close(); // connections still owing their PROXY header would only wait out its timeout
        },
        cut: () => sessions.destroyAll(),
        async closeClients() {
          routers.close();
          dashboard?.close();
          generation.auth.close();
          await pools.close();
          if (redis) await closeRedis(redis);
          await tracing?.close(); // last: the spans of the drained requests go out
        },
      });
    },
  };
  const dashboard = mountAdminSurface(runtime.admin, {
    tier: 'edge', token: adminToken(ec.admin, 'edge.admin'), registry: metrics.registry, authFailures: metrics.authFailures, log,
    config: () => generation.config,
    configStatus: () => runtime.configStatus?.(),
    services: () => routers.services(),
    consulOf: () => ec.router.consul,
    ready: () => isReady(readiness),
    peers: ec.admin.peers, gatewayServices: gatewayServiceNames(config), consul: config.consul,
    extra: {
      ratelimits: () => ({
        global: generation.config.edge!.rateLimit ?? null,
        policies: Object.entries(generation.config.rateLimits).map(([name, p]) => ({ name, ...p })),
        store: { kind: redis ? 'redis' : 'memory', ...limiter.health.status() },
      }),
    },
  });
  mountMetrics(runtime.admin, role.exposition(metrics.registry));
  return runtime;
}
