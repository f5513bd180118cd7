// The admin listener of a tier: liveness and readiness here; /metrics
// (shared/metrics/), /config/status (config/live-tier.ts) and the token-guarded
// /admin/ API (admin-api.ts) mount on it. Kept off the public listener so probes
// and internals are never reachable through the gateway's routes.
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { baseServerOptions } from './http/server-options.js';

export interface ReadinessCheck {
  readonly ok: boolean;
  readonly [detail: string]: unknown;
}

export type ReadinessChecks = () => Record<string, ReadinessCheck>;

const everyOk = (results: Record<string, ReadinessCheck>) => Object.values(results).every((c) => c.ok);

/** What /ready answers, also read by a router registering in Consul. */
export const isReady = (checks: ReadinessChecks): boolean => everyOk(checks());

export function buildAdminApp(log: Logger, checks: ReadinessChecks): FastifyInstance {
  const app = fastify(baseServerOptions(log)) as unknown as FastifyInstance;
  app.get('/live', async (_req, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const results = checks();
    const ready = everyOk(results);
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ ready, checks: results });
  });
  return app;
}
