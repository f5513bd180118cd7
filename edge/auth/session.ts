// The session auth method and its login/logout endpoints: a cookie naming a
// server-side session, made by exchanging another credential. It never logs a
// session id or credential, never caches a positive answer (a logout must be
// refused everywhere at once), and fails closed when Redis cannot answer.
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import type { Logger } from 'pino';
import type { SessionAuthConfig } from './session-schema.js';
import { sendError } from '../../shared/errors.js';
import { cookieValue } from '../../shared/http/cookies.js';
import { refused, refusalChallenge, type AuthMethod, type AuthMethodFactory, type AuthOutcome, type Identity } from './method.js';
import { hashSessionId, SessionStore, type Session } from './session-store.js';
import { AMBIGUOUS, certificateCompetes, mergeCarriers, NO_CARRIERS, presentedCredentials, type CredentialCarriers } from './credentials.js';

export interface SessionEndpoints {
  login(request: GatewayRequest, reply: GatewayReply): Promise<void>;
  logout(request: GatewayRequest, reply: GatewayReply): Promise<void>;
}

const WARN_EVERY_MS = 10_000;
// What randomBytes(32).toString('base64url') yields; anything else is refused without a Redis round trip.
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const MALFORMED = Object.freeze(refused('invalid_token', 'malformed session id'));
const UNKNOWN = Object.freeze(refused('invalid_token', 'unknown, expired or revoked session'));
// Belongs in shared/errors.ts with every other reply; here until that file can take it.
const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;

/**
 * The session entry of edge/auth/registry.ts, last there: a session is made from the methods built before
 * it, and its login and logout endpoints come with it. Sessions live in Redis: nothing is built without it.
 */
export const sessionFactory: AuthMethodFactory<SessionAuthConfig> = (session, { config, redis, log, methods, carriers }) => {
  if (!redis || !config.redis) return undefined;
  const store = new SessionStore(redis, config.redis.keyPrefix);
  // At login a stale session cookie is not counted: it is about to be replaced.
  const exchanged = mergeCarriers(session.exchange.map((m) => carriers.get(m)).filter((c) => c !== undefined));
  return {
    method: createSessionMethod(session, store, log),
    carriers: { headers: [], cookies: [session.cookieName], queryParams: [] },
    endpoints: { ...sessionEndpoints(session, store, methods, log, config.edge?.realm, exchanged), loginPath: session.loginPath, logoutPath: session.logoutPath },
  };
};

export function createSessionMethod(config: SessionAuthConfig, store: SessionStore, log: Logger): AuthMethod {
  const warn = storeDownWarning(log);
  const touchMs = config.touchIntervalSeconds * 1000;
  // Sessions with a touch in flight: a burst of requests on one session writes once.
  const touching = new Set<string>();

  function touch(hash: string, session: Session): void {
    const now = Date.now();
    if (now - session.lastSeenAt < touchMs || touching.has(hash)) return;
    touching.add(hash);
    store.touch(hash, session, now)
      .catch((err: Error) => warn(`touch failed: ${err.message}`))
      .finally(() => touching.delete(hash));
  }

  async function check(id: string): Promise<AuthOutcome> {
    const hash = hashSessionId(id);
    let session: Session | undefined;
    try {
      session = await store.getHash(hash);
    } catch (err) {
      const message = (err as Error).message;
      warn(message);
      return refused('invalid_token', `session store unavailable: ${message}`);
    }
    if (!session) return UNKNOWN;
    touch(hash, session);
    return { ok: true, identity: asSession(session.identity) };
  }

  return {
    name: 'session',
    authenticate(request) {
      const id = cookieValue(request.headers.cookie, config.cookieName);
      if (id === undefined) return undefined;
      return SESSION_ID.test(id) ? check(id) : MALFORMED;
    },
  };
}

export function sessionEndpoints(
  config: SessionAuthConfig, store: SessionStore, methods: ReadonlyMap<string, AuthMethod>, log: Logger, realm = 'gatehouse',
  /** Where the exchanged methods' credentials travel: a login that presents two is refused, as on a route. */
  carriers: CredentialCarriers = NO_CARRIERS,
): SessionEndpoints {
  // Resolved once: a name with no configured method is a start-up error, not a 401 per login.
  const exchange = config.exchange.map((name) => {
    const method = methods.get(name);
    if (!method) throw new Error(`auth.session.exchange: "${name}" is not a configured auth method (configured: ${[...methods.keys()].join(', ') || 'none'})`);
    return method;
  });
  const attributes = `; Path=${config.path}; HttpOnly; Secure; SameSite=${SAME_SITE[config.sameSite]}${config.domain ? `; Domain=${config.domain}` : ''}`;
  const clearCookie = `${config.cookieName}=${attributes}; Max-Age=0`;
  const lifetime = { idleSeconds: config.idleSeconds, absoluteSeconds: config.absoluteSeconds };
  const challenge = `Bearer realm="${realm}"`;
  const warn = storeDownWarning(log);
  const certificate = certificateCompetes(config.exchange);

  /** The second credential's refusal, or undefined when the login presents at most one. */
  function ambiguity(request: GatewayRequest): AuthOutcome | undefined {
    const q = request.url.indexOf('?');
    const search = q === -1 ? '' : request.url.slice(q);
    if (presentedCredentials(carriers, certificate, request, search) < 2) return undefined;
    const found: string[] = [];
    presentedCredentials(carriers, certificate, request, search, found);
    return refused('invalid_request', `${AMBIGUOUS} (${found.join(', ')})`, { description: AMBIGUOUS });
  }

  async function unavailable(err: unknown, request: GatewayRequest, reply: GatewayReply): Promise<void> {
    warn((err as Error).message);
    await sendError(reply, 'session_store_unavailable', request.id);
  }

  return {
    async login(request, reply) {
      // The loop of authenticate.ts: undefined lets the next method try; a refusal stops.
      let outcome = ambiguity(request);
      for (let i = 0; i < exchange.length && outcome === undefined; i++) outcome = await exchange[i]!.authenticate(request);
      if (outcome?.ok !== true) {
        log.info({ event: 'session-login-refused', requestId: request.id, reason: outcome ? `${outcome.code}: ${outcome.reason}` : 'no credential' });
        reply.header('www-authenticate', outcome ? refusalChallenge(challenge, outcome) : challenge);
        await sendError(reply, 'unauthorized', request.id);
        return;
      }
      let created: { id: string; expiresAt: number };
      try {
        created = await store.create(outcome.identity, lifetime);
      } catch (err) {
        return unavailable(err, request, reply);
      }
      const { consumer } = outcome.identity;
      log.info({ event: 'session-login', consumer, requestId: request.id });
      await reply.code(201)
        .header('set-cookie', `${config.cookieName}=${created.id}${attributes}; Max-Age=${config.absoluteSeconds}`)
        .header('cache-control', 'no-store')
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ consumer, expiresAt: new Date(created.expiresAt).toISOString() }));
    },

    async logout(request, reply) {
      const id = cookieValue(request.headers.cookie, config.cookieName);
      let consumer: string | undefined;
      if (id !== undefined && SESSION_ID.test(id)) {
        const hash = hashSessionId(id);
        try {
          consumer = (await store.getHash(hash))?.identity.consumer;
          await store.revokeHash(hash);
        } catch (err) {
          // The cookie is kept: the session still lives, and the client needs it to retry.
          return unavailable(err, request, reply);
        }
      }
      log.info({ event: 'session-logout', consumer, requestId: request.id });
      await reply.code(204).header('set-cookie', clearCookie).header('cache-control', 'no-store').send();
    },
  };
}

/** The stored identity, admitted as a session: who it was made from stays visible in claims.via. */
function asSession(stored: Identity): Identity {
  return { ...stored, method: 'session', claims: { ...stored.claims, via: stored.method } };
}

function storeDownWarning(log: Logger): (message: string) => void {
  let last = -Infinity;
  return (message) => {
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) return;
    last = now;
    log.warn({ event: 'session-store-down', err: message }, 'session store unavailable; refusing sessions');
  };
}
