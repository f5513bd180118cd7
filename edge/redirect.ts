// The optional plain-HTTP listener: every request is sent to HTTPS with a
// 308 (method and body kept). Nothing is proxied from it, and its Location
// never names a host the edge does not serve: the configured canonical host,
// else the request's Host only when an edge certificate names it (else 421).
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { baseServerOptions } from '../shared/http/server-options.js';
import { sendError } from '../shared/errors.js';
import { isValidHost } from '../shared/http/forwarded.js';

export interface RedirectTarget {
  /** edge.redirectHttp.canonicalHost: named by every Location, whatever the request's Host. */
  readonly canonicalHost?: string | undefined;
  /** Whether an edge certificate names this host, so that HTTPS there reaches this edge. */
  readonly serves: (hostname: string) => boolean;
  /** Read per request: with port 0 in config it is known only after listen. */
  readonly httpsPort: () => number;
}

export function buildRedirectApp(log: Logger, to: RedirectTarget): FastifyInstance {
  const app = fastify(baseServerOptions(log)) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  const canonical = to.canonicalHost;
  // A canonical host with its own port names the public one (which a port mapping may make differ from the listener's).
  const fixedAuthority = canonical !== undefined && HAS_PORT.test(canonical) ? canonical.replace(/:443$/, '') : undefined;
  const withPort = (host: string) => (to.httpsPort() === 443 ? host : `${host}:${to.httpsPort()}`);
  const redirect = (request: FastifyRequest, reply: FastifyReply) => {
    const target = request.raw.url ?? '/';
    if (target.charCodeAt(0) !== 47) return sendError(reply, 'bad_request', request.id);
    let authority: string;
    if (canonical !== undefined) {
      authority = fixedAuthority ?? withPort(canonical);
    } else {
      const host = request.headers.host ?? '';
      if (!isValidHost(host)) return sendError(reply, 'bad_request', request.id);
      const hostname = host.replace(HAS_PORT, '').toLowerCase();
      // A name no edge certificate covers (IP literals included) is not this edge's to send clients to:
      // redirecting there would hand the client's own Host back as a link (an open redirect, a poisoned cache).
      if (!to.serves(hostname)) return sendError(reply, 'misdirected_request', request.id);
      authority = withPort(hostname);
    }
    return reply.code(308).header('location', `https://${authority}${target}`).header('connection', 'close').send();
  };
  app.setNotFoundHandler(redirect);
  return app;
}

const HAS_PORT = /:\d+$/;
