// The one access-log line per request, the same shape on both tiers and for
// every kind of reply (proxied, refused by a stage, or served by fastify).
import type { Logger } from 'pino';
import type { Exchange } from './exchange.js';
import { plainAddress } from './http/forwarded.js';
import type { RawRequest } from './http/gateway-io.js';

/** upgrade: set for a WebSocket handshake, whose reply is a tunnel rather than a response. */
export function logAccess(log: Logger, ex: Exchange, req: RawRequest, status: number, contentLength: unknown, upgrade?: 'websocket'): void {
  const trace = ex.trace;
  const identity = ex.identity;
  log.info({
    event: 'access',
    upgrade,
    requestId: ex.requestId,
    traceId: trace?.traceId,
    spanId: trace?.spanId,
    parentSpanId: trace?.parentSpanId,
    method: req.method,
    path: ex.path || (req.url ?? '').slice(0, 256),
    route: ex.route?.name,
    service: ex.service,
    upstream: ex.upstream,
    status,
    bytesOut: ex.bytesOut || Number(contentLength ?? 0),
    durationMs: Math.round((performance.now() - ex.startedAt) * 100) / 100,
    client: ex.forwarded?.clientIp ?? plainAddress(req.socket?.remoteAddress),
    consumer: identity?.consumer,
    authMethod: identity?.method,
    auth: ex.authDetail,
    retries: ex.retries || undefined,
    reason: ex.reason,
  });
}
