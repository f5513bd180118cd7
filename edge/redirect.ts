// The optional plain-HTTP listener: every request is sent to HTTPS with a
// 308 (method and body kept). Nothing is proxied from it.
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { baseServerOptions } from '../shared/http/server-options.js';
import { sendError } from '../shared/errors.js';
import { isValidHost } from '../shared/http/forwarded.js';

/** httpsPort is read per request: with port 0 in config it is known only after listen. */
export function buildRedirectApp(log: Logger, httpsPort: () => number): FastifyInstance {
  const app = fastify(baseServerOptions(log)) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  const redirect = (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
    const host = request.headers.host ?? '';
    const target = request.raw.url ?? '/';
    if (!isValidHost(host) || target.charCodeAt(0) !== 47) return sendError(reply, 'bad_request', request.id);
    const hostname = host.replace(/:\d+$/, '');
    const port = httpsPort() === 443 ? '' : `:${httpsPort()}`;
    return reply.code(308).header('location', `https://${hostname}${port}${target}`).header('connection', 'close').send();
  };
  app.setNotFoundHandler(redirect);
  return app;
}
