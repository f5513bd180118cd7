// What a built tier looks like to its main.ts and to tests: a public app, an
// admin app, and one way to listen and one to stop. app.ts builds, main.ts listens.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ListenerConfig } from './config/schema.js';
import type { ShutdownOutcome } from './shutdown.js';
import type { ConfigStatus, ReloadReport } from './config/live.js';
import type { TierMetrics } from './metrics/registry.js';

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

export async function listenOn(app: FastifyInstance, l: ListenerConfig, scheme: string): Promise<string> {
  await app.listen({ host: l.host, port: l.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : l.port;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${scheme}://${host}:${port}`;
}
