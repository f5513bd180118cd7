// fastify options every listener of Gatehouse shares: the process logger with
// fastify's own per-request lines off (each tier writes one access line of
// its own) and no child logger per request.
import { LogController, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';

export function baseServerOptions(log: Logger): FastifyServerOptions {
  return {
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // A child logger per request is allocation with nothing to show for it.
    childLoggerFactory: (logger) => logger,
  } as FastifyServerOptions;
}
