// Builds the configured authentication methods once per edge, with what the
// edge needs to know about each: which headers and query parameters carry
// its credential (removed upstream when a route hides credentials).
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../../shared/redis.js';
import type { Config } from '../../shared/config/schema.js';
import { connectRedis } from '../../shared/redis.js';
import type { AuthMethod } from './method.js';
import { createJwtMethod } from './jwt.js';
import { createApiKeyMethod } from './api-key.js';
import { ApiKeyStore } from './api-key-store.js';
import { createMtlsMethod } from '../tls/client-certificate.js';
import { createSessionMethod, sessionEndpoints, type SessionEndpoints } from './session.js';
import { SessionStore } from './session-store.js';

export interface EdgeAuth {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  readonly credentialHeaders: ReadonlyMap<string, readonly string[]>;
  readonly credentialQueryParams: readonly string[];
  readonly credentialCookies: ReadonlyMap<string, readonly string[]>;
  /** Login and logout handlers, when sessions are configured: mounted by the edge app. */
  readonly sessions: (SessionEndpoints & { loginPath: string; logoutPath: string }) | undefined;
  close(): void;
}

export function buildAuthMethods(config: Readonly<Config>, redis: RedisClient | undefined, log: Logger): EdgeAuth {
  const methods = new Map<string, AuthMethod>();
  const credentialHeaders = new Map<string, readonly string[]>();
  const closers: (() => void)[] = [];
  const credentialCookies = new Map<string, readonly string[]>();
  const { jwt, apiKey, mtls, session } = config.auth;
  if (jwt) {
    methods.set('jwt', createJwtMethod(jwt, log));
    credentialHeaders.set('jwt', ['authorization']);
  }
  if (apiKey && redis && config.redis) {
    // A subscribed connection can run nothing else: revocations get their own.
    const subscriber = connectRedis(config.redis, log, 'api-key revocations') as Redis;
    const method = createApiKeyMethod(apiKey, new ApiKeyStore(redis as Redis, config.redis.keyPrefix), subscriber, log);
    methods.set('api-key', method);
    credentialHeaders.set('api-key', [apiKey.header]);
    closers.push(() => { method.close(); subscriber.disconnect(); });
  }
  if (mtls) methods.set('mtls', createMtlsMethod(mtls));
  let sessions: EdgeAuth['sessions'];
  if (session && redis && config.redis) {
    const store = new SessionStore(redis, config.redis.keyPrefix);
    // Built before the session method joins: a session is exchanged for another credential, never for itself.
    sessions = { ...sessionEndpoints(session, store, methods, log, config.edge?.realm), loginPath: session.loginPath, logoutPath: session.logoutPath };
    methods.set('session', createSessionMethod(session, store, log));
    credentialCookies.set('session', [session.cookieName]);
  }
  return {
    methods,
    credentialHeaders,
    credentialCookies,
    sessions,
    credentialQueryParams: apiKey?.queryParam ? [apiKey.queryParam] : [],
    close: () => closers.forEach((c) => c()),
  };
}
