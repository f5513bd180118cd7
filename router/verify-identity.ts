// Stage: the router believes only a valid identity assertion from an edge.
// A request without one (a client that reached the router directly, or a
// forged or expired assertion) is refused with 401. The verified identity is
// passed to the backend in x-gatehouse-* headers, which clients cannot set.
import type { Exchange, Stage } from '../shared/exchange.js';
import { GatewayError } from '../shared/errors.js';
import { IDENTITY_HEADER, type AssertionVerifier } from '../shared/identity.js';
import type { Identity } from '../shared/auth-types.js';

export function verifyIdentity(verifier: AssertionVerifier): Stage {
  // Synchronous for an assertion verified before (the steady state): no promise per request.
  return (ex, request) => {
    const header = request.headers[IDENTITY_HEADER];
    const checked = verifier.verify(typeof header === 'string' ? header : undefined);
    if (checked instanceof Promise) return checked.then((identity) => admit(ex, identity, header !== undefined));
    admit(ex, checked, header !== undefined);
  };
}

function admit(ex: Exchange, identity: Identity | undefined, sent: boolean): void {
  if (identity === undefined) {
    throw new GatewayError('unauthorized', !sent ? 'no identity assertion (request did not come through an edge)' : 'invalid identity assertion', { 'www-authenticate': 'Bearer realm="gatehouse"' });
  }
  ex.identity = identity;
  ex.upstreamHeaders = backendHeaders(identity);
}

const cache = new WeakMap<Identity, Record<string, string>>();

/** Built once per identity object: verified identities are cached, so this is a lookup per request. */
function backendHeaders(identity: Identity): Record<string, string> {
  let headers = cache.get(identity);
  if (headers === undefined) {
    headers = {
      'x-gatehouse-consumer': headerSafe(identity.consumer),
      'x-gatehouse-auth-method': identity.method,
      'x-gatehouse-scopes': identity.scopes.join(' '),
      'x-gatehouse-roles': identity.roles.join(' '),
      ...(Object.keys(identity.claims).length > 0 && { 'x-gatehouse-claims': headerSafe(JSON.stringify(identity.claims)) }),
    };
    cache.set(identity, headers);
  }
  return headers;
}

/** Header values are visible ASCII; anything else (a Unicode subject, say) is percent-encoded. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
