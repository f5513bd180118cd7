// GET /metrics on a tier's admin listener, in Prometheus's text format. Never
// mounted on the public listener: metrics name routes, services and instances.
import type { FastifyInstance } from 'fastify';

/** A registry, or what stands for several (shared/workers/worker.ts: the whole worker group's). */
export interface MetricsExposition {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export function mountMetrics(admin: FastifyInstance, registry: MetricsExposition): void {
  admin.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
