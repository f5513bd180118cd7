// Stage: authenticate the request with the route's methods and attach the
// signed identity assertion for the router. Built once per route; a route's
// unused methods cost nothing. Refusals are 401 with an RFC 6750
// WWW-Authenticate header; the reason goes to the access log only.
import type { Exchange, Stage } from '../../shared/exchange.js';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { GatewayError } from '../../shared/errors.js';
import { ANONYMOUS } from '../../shared/auth-types.js';
import { IDENTITY_HEADER, type AssertionSigner } from '../../shared/identity.js';
import type { AuthMethod, AuthOutcome } from './method.js';
import type { RouteAuthConfig } from './route-auth.js';

export interface RouteAuthDeps {
  readonly methods: ReadonlyMap<string, AuthMethod>;
  readonly signer: AssertionSigner;
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

  // Synchronous unless a method or the signer has to wait (a JWKS fetch, a Redis lookup, a first
  // signature): most requests then cost no promise and no microtask turn here.
  const identifyBy = (ex: Exchange, request: GatewayRequest, from: number): void | Promise<void> => {
    for (let i = from; i < methods.length; i++) {
      const answer = methods[i]!.authenticate(request);
      if (answer instanceof Promise) return answer.then((outcome) => (outcome === undefined ? identifyBy(ex, request, i + 1) : decide(ex, outcome)));
      if (answer !== undefined) return decide(ex, answer);
    }
    return decide(ex, undefined);
  };

  const decide = (ex: Exchange, outcome: AuthOutcome | undefined): void | Promise<void> => {
    let identity = ANONYMOUS;
    if (outcome?.ok === true) identity = outcome.identity;
    else if (outcome !== undefined && !auth.anonymous) {
      const { ok: _ok, code, reason, ...detail } = outcome;
      ex.authDetail = detail as Record<string, string>;
      throw new GatewayError('unauthorized', `${code}: ${reason}`, { 'www-authenticate': code === 'invalid_token' ? invalid : `${challenge}, error="${code}"` });
    } else if (outcome === undefined && !auth.anonymous) {
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
    const assertion = d.signer.assertionFor(identity);
    if (typeof assertion === 'string') ex.upstreamHeaders = { [IDENTITY_HEADER]: assertion };
    else return assertion.then((signed) => { ex.upstreamHeaders = { [IDENTITY_HEADER]: signed }; });
  };

  return (ex, request) => {
    ex.dropHeaders = drop;
    ex.dropCookies = dropCookies;
    return identifyBy(ex, request, 0);
  };
}

function withoutParams(search: string, names: readonly string[]): string {
  if (!names.some((n) => search.includes(`${n}=`))) return search;
  const params = new URLSearchParams(search);
  for (const n of names) params.delete(n);
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}
