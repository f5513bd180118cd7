// What every authentication method of the edge answers, and the identity it
// yields. The edge pipeline tries a route's methods in order; the first that
// finds its credential decides. A method never throws for a bad credential:
// it says why, and the edge logs the reason and answers 401.
import type { GatewayRequest } from '../../shared/http/gateway-io.js';

import type { AuthMethodName, Identity } from '../../shared/auth-types.js';

export type { AuthMethodName, Identity };

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
