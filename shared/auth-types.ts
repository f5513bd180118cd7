// Who a request is from, as both tiers understand it: the edge establishes
// it, the identity assertion carries it, the router authorizes on it.

import type { AuthMethodName } from './auth-methods-schema.js';

export type { AuthMethodName };

export interface Identity {
  /** Who: the consumer id (JWT subject, API-key owner, certificate subject...). */
  readonly consumer: string;
  readonly method: AuthMethodName;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** Selected claims passed on to the router (configured per issuer). */
  readonly claims: Readonly<Record<string, unknown>>;
  readonly issuer?: string;
}

export const ANONYMOUS: Identity = Object.freeze({ consumer: 'anonymous', method: 'anonymous', scopes: [], roles: [], claims: {} });
