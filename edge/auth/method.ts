// What every authentication method of the edge answers, and the identity it
// yields; what its factory is given and builds (edge/auth/registry.ts lists
// the factories). The edge pipeline tries a route's methods in order; the first that
// finds its credential decides. A method never throws for a bad credential:
// it says why, and the edge logs the reason and answers 401.
import type { Logger } from 'pino';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import type { RedisClient } from '../../shared/redis.js';
import type { EdgeFileConfig } from '../schema.js';

import type { AuthMethodName, Identity } from '../../shared/auth-types.js';

export type { AuthMethodName, Identity };

/** Where a method's credential travels: counted on every route (credentials.ts), removed upstream when a route hides credentials. */
export interface HeaderCarrier {
  /** Lower-case header name. */
  readonly name: string;
  /** Lower-case scheme with its space ('bearer '): one line with another scheme is not this method's credential. */
  readonly scheme?: string;
}

export interface CredentialCarriers {
  readonly headers: readonly HeaderCarrier[];
  readonly cookies: readonly string[];
  readonly queryParams: readonly string[];
}

/** RFC 6750 error codes: all a client learns about why it was refused. */
export type AuthErrorCode = 'invalid_request' | 'invalid_token';

export type AuthOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | {
      readonly ok: false;
      readonly code: AuthErrorCode;
      /** For the log line only, never the reply. */
      readonly reason: string;
      /**
       * Only for a refusal the client must fix and may be told about (a token too large): sent as the
       * RFC 6750 error_description, so it names nothing of the checks (no issuer, key or claim).
       */
      readonly description?: string;
      readonly issuer?: string;
      readonly kid?: string;
      readonly consumer?: string;
    };

export interface AuthMethod {
  readonly name: AuthMethodName;
  /**
   * undefined: this method's credential is absent, so the next method may try.
   * Synchronous when the answer is cached, so the hot path awaits nothing.
   */
  authenticate(request: GatewayRequest): AuthOutcome | undefined | Promise<AuthOutcome | undefined>;
}

export function refused(code: AuthErrorCode, reason: string, detail: { issuer?: string; kid?: string; consumer?: string; description?: string } = {}): AuthOutcome {
  return { ok: false, code, reason, ...detail };
}

/** The RFC 6750 challenge for a refusal: its error code, and an error_description only when it has one. */
export function refusalChallenge(challenge: string, outcome: { readonly code: AuthErrorCode; readonly description?: string | undefined }): string {
  const description = outcome.description === undefined ? '' : `, error_description="${outcome.description}"`;
  return `${challenge}, error="${outcome.code}"${description}`;
}

/** Handlers a method adds beside the routes (the session's login and logout), mounted by the edge app. */
export interface AuthEndpoints {
  readonly loginPath: string;
  readonly logoutPath: string;
  login(request: GatewayRequest, reply: GatewayReply): Promise<void>;
  logout(request: GatewayRequest, reply: GatewayReply): Promise<void>;
}

/** What a factory builds from its section: the method, where its credential travels, what to release at close. */
export interface BuiltAuthMethod {
  readonly method: AuthMethod;
  readonly carriers: CredentialCarriers;
  readonly close?: () => void;
  readonly endpoints?: AuthEndpoints;
}

export interface AuthMethodDeps {
  readonly config: Readonly<EdgeFileConfig>;
  readonly redis: RedisClient | undefined;
  readonly log: Logger;
  /** The methods built before this one (the registry's order), and where their credentials travel. */
  readonly methods: ReadonlyMap<string, AuthMethod>;
  readonly carriers: ReadonlyMap<string, CredentialCarriers>;
}

/** Builds a method from its configured section once per config; undefined when what it needs is missing. */
export type AuthMethodFactory<C> = (section: C, deps: AuthMethodDeps) => BuiltAuthMethod | undefined;
