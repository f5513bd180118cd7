// Stage: the router believes only a valid identity assertion from an edge.
// A request without one (a client that reached the router directly, or a
// forged or expired assertion) is refused with 401. The verified identity is
// passed to the backend in x-gatehouse-* headers, which clients cannot set,
// as RFC 9651 structured fields.
import type { Exchange, Stage } from '../shared/exchange.js';
import { GatewayError } from '../shared/errors.js';
import { IDENTITY_HEADER, type AssertionVerifier } from '../shared/identity.js';
import type { Identity } from '../shared/auth-types.js';
import { serializeString, serializeStringList } from '../shared/http/structured-fields.js';

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

/**
 * Built once per identity object: verified identities are cached, so this is a lookup per request.
 * Structured fields (RFC 9651, shared/http/structured-fields.ts): the consumer and the method are
 * strings, scopes and roles lists of strings (left out when empty), claims a string holding JSON.
 * One encoding, read back exactly by any structured-field parser: no value is passed on as it came.
 */
function backendHeaders(identity: Identity): Record<string, string> {
  let headers = cache.get(identity);
  if (headers === undefined) {
    const scopes = serializeStringList(identity.scopes);
    const roles = serializeStringList(identity.roles);
    headers = {
      'x-gatehouse-consumer': serializeString(identity.consumer),
      'x-gatehouse-auth-method': serializeString(identity.method),
      ...(scopes !== undefined && { 'x-gatehouse-scopes': scopes }),
      ...(roles !== undefined && { 'x-gatehouse-roles': roles }),
      ...(Object.keys(identity.claims).length > 0 && { 'x-gatehouse-claims': serializeString(asciiJson(identity.claims)) }),
    };
    cache.set(identity, headers);
  }
  return headers;
}

/** JSON with every character outside printable ASCII escaped as \uXXXX: still the same JSON, and always an sf-string. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
