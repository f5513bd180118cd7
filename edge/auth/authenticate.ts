// Stage: authenticate the request with the route's methods and set who the
// caller is (ex.identity, which edge/handoff.ts signs for the router). Built
// once per route; a route's unused methods cost nothing. Refusals are 401 with an RFC 6750
// WWW-Authenticate header; the reason goes to the access log only, unless it
// is one a client must fix and may know (error_description). A request that
// presents more than one credential is refused before any method answers.
import type { Exchange, Stage } from '../../shared/exchange.js';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { GatewayError } from '../../shared/errors.js';
import { ANONYMOUS } from '../../shared/auth-types.js';
import { refusalChallenge, type AuthMethod, type AuthOutcome } from './method.js';
import type { RouteAuthConfig } from './route-auth-schema.js';
import { AMBIGUOUS, certificateCompetes, mayHoldParam, mergeCarriers, presentedCredentials, type CredentialCarriers } from './credentials.js';

export interface RouteAuthDeps {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  /** Where each configured method's credential travels: all of them are counted on every route. */
  readonly carriers: ReadonlyMap<string, CredentialCarriers>;
  /** Credential headers of each method, removed upstream when hideCredentials is on. */
  readonly credentialHeaders: ReadonlyMap<string, readonly string[]>;
  /** Cookies of each method that carry a credential (the session cookie). */
  readonly credentialCookies: ReadonlyMap<string, readonly string[]>;
  /** Query parameters that can carry a credential (opt-in API keys). */
  readonly credentialQueryParams: readonly string[];
  readonly realm: string;
}

export function authenticate(auth: RouteAuthConfig, d: RouteAuthDeps): Stage {
  const methods = auth.methods.map((name) => d.methods.get(name)!);
  // Identity-looking client headers are gone already (strip-headers.ts); here only the credentials this stage read.
  const hidden = auth.hideCredentials ? auth.methods.flatMap((m) => d.credentialHeaders.get(m) ?? []) : [];
  const drop = hidden.length > 0 ? hidden : undefined;
  const cookies = auth.hideCredentials ? auth.methods.flatMap((m) => d.credentialCookies.get(m) ?? []) : [];
  const dropCookies = cookies.length > 0 ? cookies : undefined;
  // On an anonymous route a refused credential of any method is dropped; built here, not per request.
  const dropOnRefusal = [...new Set([...hidden, ...[...d.credentialHeaders.values()].flat()])];
  const challenge = `Bearer realm="${d.realm}"`;
  const invalid = `${challenge}, error="invalid_token"`;
  // Every configured method's carriers, not only the route's: a second credential the route cannot use
  // still says the client does not know which one it is using, and would go on to the backend.
  const carriers = mergeCarriers(d.carriers.values());
  const certificate = certificateCompetes(auth.methods);

  // Synchronous unless a method has to wait (a JWKS fetch, a Redis lookup): most requests then cost
  // no promise and no microtask turn here.
  const identifyBy = (ex: Exchange, request: GatewayRequest, from: number): void | Promise<void> => {
    for (let i = from; i < methods.length; i++) {
      const answer = methods[i]!.authenticate(request);
      if (answer instanceof Promise) return answer.then((outcome) => (outcome === undefined ? identifyBy(ex, request, i + 1) : decide(ex, outcome)));
      if (answer !== undefined) return decide(ex, answer);
    }
    return decide(ex, undefined);
  };

  const decide = (ex: Exchange, outcome: AuthOutcome | undefined): void => {
    let identity = ANONYMOUS;
    if (outcome?.ok === true) identity = outcome.identity;
    else if (outcome !== undefined && !auth.anonymous) {
      const { ok: _ok, code, reason, description, ...detail } = outcome;
      ex.authDetail = detail as Record<string, string>;
      ex.authFailure = code;
      const refusal = code === 'invalid_token' && description === undefined ? invalid : refusalChallenge(challenge, outcome);
      throw new GatewayError('unauthorized', `${code}: ${reason}`, { 'www-authenticate': refusal });
    } else if (outcome === undefined && !auth.anonymous) {
      ex.authFailure = 'no_credential';
      throw new GatewayError('unauthorized', 'no credential', { 'www-authenticate': challenge });
    } else if (outcome !== undefined) {
      // A refused credential on an anonymous route: served as anonymous, and the credential is not passed on.
      ex.authDetail = { refusedAs: 'anonymous', reason: outcome.reason };
      ex.dropHeaders = dropOnRefusal;
    }
    if (d.credentialQueryParams.length > 0 && ex.search !== '' && (auth.hideCredentials || outcome?.ok !== true)) {
      ex.search = withoutParams(ex.search, d.credentialQueryParams);
    }
    ex.identity = identity;
  };

  const ambiguousChallenge = refusalChallenge(challenge, { code: 'invalid_request', description: AMBIGUOUS });
  const ambiguous = (ex: Exchange, request: GatewayRequest): GatewayError => {
    const found: string[] = [];
    presentedCredentials(carriers, certificate, request, ex.search, found);
    ex.authDetail = { credentials: found.join(', ') };
    return new GatewayError('unauthorized', `invalid_request: ${AMBIGUOUS} (${found.join(', ')})`, { 'www-authenticate': ambiguousChallenge });
  };

  return (ex, request) => {
    // Refused whatever the methods would say and even on an anonymous route: RFC 6750 2 lets a client use one method.
    if (presentedCredentials(carriers, certificate, request, ex.search) > 1) throw ambiguous(ex, request);
    ex.dropHeaders = drop;
    ex.dropCookies = dropCookies;
    return identifyBy(ex, request, 0);
  };
}

function withoutParams(search: string, names: readonly string[]): string {
  if (!names.some((n) => mayHoldParam(search, n))) return search;
  const params = new URLSearchParams(search);
  for (const n of names) params.delete(n);
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}
