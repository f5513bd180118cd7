// Builds the configured authentication methods once per config, in the order of the registry
// (edge/auth/registry-schema.ts) with each one's factory (edge/auth/registry.ts), with what the edge needs
// to know about each: which headers, cookies and query parameters carry its credential (counted for
// ambiguity, removed upstream when a route hides credentials). Knows no method by name.
import type { Logger } from 'pino';
import type { RedisClient } from '../../shared/redis.js';
import type { EdgeFileConfig } from '../schema.js';
import type { AuthEndpoints, AuthMethod, AuthMethodFactory } from './method.js';
import { AUTH_METHODS } from './registry-schema.js';
import { AUTH_FACTORIES } from './registry.js';
import { mergeCarriers, type CredentialCarriers } from './credentials.js';

export interface EdgeAuth {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  /** Where each method's credential travels; the three lists below are read from it. */
  readonly carriers: ReadonlyMap<string, CredentialCarriers>;
  readonly credentialHeaders: ReadonlyMap<string, readonly string[]>;
  readonly credentialQueryParams: readonly string[];
  readonly credentialCookies: ReadonlyMap<string, readonly string[]>;
  /** Login and logout handlers, when sessions are configured: mounted by the edge app. */
  readonly sessions: AuthEndpoints | undefined;
  close(): void;
}

export function buildAuthMethods(config: Readonly<EdgeFileConfig>, redis: RedisClient | undefined, log: Logger): EdgeAuth {
  const methods = new Map<string, AuthMethod>();
  const carriers = new Map<string, CredentialCarriers>();
  const closers: (() => void)[] = [];
  let sessions: AuthEndpoints | undefined;
  for (const entry of AUTH_METHODS) {
    const section = config.auth[entry.key];
    if (section === undefined) continue;
    // Each factory takes the section under its own key, which its schema validated.
    const factory: AuthMethodFactory<never> = AUTH_FACTORIES[entry.name];
    const built = factory(section as never, { config, redis, log, methods, carriers });
    if (built === undefined) continue;
    methods.set(entry.name, built.method);
    carriers.set(entry.name, built.carriers);
    if (built.close) closers.push(built.close);
    if (built.endpoints) sessions = built.endpoints;
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
