// What a built tier looks like to its main.ts and to tests: a public app, an
// admin app, and one way to listen and one to stop. app.ts builds, main.ts listens.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ListenerConfig } from './config/schema.js';
import type { ShutdownOutcome } from './shutdown.js';
import type { ConfigStatus, ReloadReport } from './config/live.js';
import type { TierMetrics } from './metrics/registry.js';
import type { MetricsExposition } from './metrics/endpoint.js';

export interface TierRuntime<C = unknown> {
  readonly log: Logger;
  readonly app: FastifyInstance;
  readonly admin: FastifyInstance;
  /** This tier's own registry, served as GET /metrics on the admin listener. */
  readonly metrics: TierMetrics;
  /** Flips readiness to false first, so balancers stop sending before the drain. */
  draining: boolean;
  listen(): Promise<ListeningAddresses>;
  /**
   * Builds from a validated config and swaps it in: requests already running finish on the config they
   * started with. Throws (changing nothing) when the config cannot be built.
   */
  reload(config: Readonly<C>): Promise<ReloadReport>;
  /** The live config's status, set by shared/config/live-tier.ts when the tier runs under it (read by the admin API). */
  configStatus?: () => ConfigStatus;
  /** The ordered shutdown of shutdown.ts; set draining first. */
  close(): Promise<ShutdownOutcome>;
}

export interface ListeningAddresses {
  readonly url: string;
  readonly adminUrl: string;
  readonly extra?: Readonly<Record<string, string>>;
}

/** How this process shares its host with the tier's other workers (shared/workers/). */
export interface WorkerRole {
  /** Every listener bound with SO_REUSEPORT: each worker binds the same ports and the kernel spreads connections. */
  readonly reusePort: boolean;
  /** Whether this process keeps the host instance registered in Consul: one worker does, so one registration per host. */
  readonly registers: boolean;
  /** What GET /metrics serves given this process's registry: the registry itself, or the whole worker group's. */
  exposition(registry: Registry): MetricsExposition;
  /** TLS session ticket keys shared by the group; a single process keeps the random ones Node makes. */
  readonly ticketKeys?: Buffer | undefined;
}

/** A tier running as one process, as tests and the embedded default build it. */
export const SINGLE_PROCESS: WorkerRole = { reusePort: false, registers: true, exposition: (registry) => registry };

export async function listenOn(app: FastifyInstance, l: ListenerConfig, scheme: string, role: WorkerRole = SINGLE_PROCESS): Promise<string> {
  await app.listen({ host: l.host, port: l.port, ...(role.reusePort && { reusePort: true }) });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : l.port;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${scheme}://${host}:${port}`;
}
