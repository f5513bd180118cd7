// GET /metrics on a tier's admin listener, in Prometheus's text format. Never
// mounted on the public listener: metrics name routes, services and instances.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export function mountMetrics(admin: FastifyInstance, registry: Registry): void {
  admin.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
  });
}
