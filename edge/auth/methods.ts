// Builds the configured authentication methods once per edge, with what the
// edge needs to know about each: which headers, cookies and query parameters
// carry its credential (counted for ambiguity, removed upstream when a route
// hides credentials).
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { RedisClient } from '../../shared/redis.js';
import type { EdgeFileConfig } from '../schema.js';
import { connectRedis } from '../../shared/redis.js';
import type { AuthMethod } from './method.js';
import { createJwtMethod } from './jwt.js';
import { createApiKeyMethod } from './api-key.js';
import { ApiKeyStore } from './api-key-store.js';
import { createMtlsMethod } from '../tls/client-certificate.js';
import { createSessionMethod, sessionEndpoints, type SessionEndpoints } from './session.js';
import { SessionStore } from './session-store.js';
import { mergeCarriers, type CredentialCarriers } from './credentials.js';

export interface EdgeAuth {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  /** Where each method's credential travels; the three lists below are read from it. */
  readonly carriers: ReadonlyMap<string, CredentialCarriers>;
  readonly credentialHeaders: ReadonlyMap<string, readonly string[]>;
  readonly credentialQueryParams: readonly string[];
  readonly credentialCookies: ReadonlyMap<string, readonly string[]>;
  /** Login and logout handlers, when sessions are configured: served by a stage of edge/pipeline.ts. */
  readonly sessions: (SessionEndpoints & { loginPath: string; logoutPath: string }) | undefined;
  close(): void;
}

export function buildAuthMethods(config: Readonly<EdgeFileConfig>, redis: RedisClient | undefined, log: Logger): EdgeAuth {
  const methods = new Map<string, AuthMethod>();
  const carriers = new Map<string, CredentialCarriers>();
  const closers: (() => void)[] = [];
  const { jwt, apiKey, mtls, session } = config.auth;
  if (jwt) {
    methods.set('jwt', createJwtMethod(jwt, log));
    carriers.set('jwt', { headers: [{ name: 'authorization', scheme: 'bearer ' }], cookies: [], queryParams: [] });
  }
  if (apiKey && redis && config.redis) {
    // A subscribed connection can run nothing else: revocations get their own.
    const subscriber = connectRedis(config.redis, log, 'api-key revocations') as Redis;
    const method = createApiKeyMethod(apiKey, new ApiKeyStore(redis as Redis, config.redis.keyPrefix), subscriber, log);
    methods.set('api-key', method);
    carriers.set('api-key', { headers: [{ name: apiKey.header }], cookies: [], queryParams: apiKey.queryParam ? [apiKey.queryParam] : [] });
    closers.push(() => { method.close(); subscriber.disconnect(); });
  }
  if (mtls) methods.set('mtls', createMtlsMethod(mtls));
  let sessions: EdgeAuth['sessions'];
  if (session && redis && config.redis) {
    const store = new SessionStore(redis, config.redis.keyPrefix);
    // Built before the session method joins: a session is exchanged for another credential, never for itself.
    // At login a stale session cookie is not counted: it is about to be replaced.
    const exchanged = mergeCarriers(session.exchange.map((m) => carriers.get(m)).filter((c) => c !== undefined));
    sessions = { ...sessionEndpoints(session, store, methods, log, config.edge?.realm, exchanged), loginPath: session.loginPath, logoutPath: session.logoutPath };
    methods.set('session', createSessionMethod(session, store, log));
    carriers.set('session', { headers: [], cookies: [session.cookieName], queryParams: [] });
  }
  const each = <T>(pick: (c: CredentialCarriers) => readonly T[]) => new Map([...carriers].map(([m, c]) => [m, pick(c)] as const));
  return {
    methods,
    carriers,
    credentialHeaders: each((c) => c.headers.map((h) => h.name)),
    credentialCookies: each((c) => c.cookies),
    sessions,
    credentialQueryParams: mergeCarriers(carriers.values()).queryParams,
    close: () => closers.forEach((c) => c()),
  };
}
