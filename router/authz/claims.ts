// Matcher for one claim of the identity, by name or dotted path (org.id):
// equals (strict), oneOf (membership) or pattern (string claims only). The
// regex is compiled once at config load; a missing claim must never match.
import type { Identity } from '../../shared/auth-types.js';
import type { ClaimRule } from './schema.js';
import type { AuthzCheck } from './check.js';

/** A reason quotes at most this much of a claim value: values come from callers' tokens. */
const SHOWN = 100;

export function compileClaim(rule: ClaimRule): AuthzCheck {
  const read = claimReader(rule.claim);
  const name = rule.claim;
  const missing = `claim ${name} is missing`;
  const { equals, oneOf, pattern } = rule;
  if (equals !== undefined) {
    const expected = `not ${JSON.stringify(equals)}`;
    return (identity) => {
      const value = read(identity);
      if (value === undefined) return missing;
      return value === equals ? undefined : `claim ${name} is ${shown(value)}, ${expected}`;
    };
  }
  if (oneOf !== undefined) {
    const allowed = new Set<unknown>(oneOf);
    const expected = `not one of ${JSON.stringify(oneOf)}`;
    return (identity) => {
      const value = read(identity);
      if (value === undefined) return missing;
      return allowed.has(value) ? undefined : `claim ${name} is ${shown(value)}, ${expected}`;
    };
  }
  if (pattern !== undefined) {
    // No flags: a g or y flag would make test() stateful across requests.
    const regex = new RegExp(pattern);
    const expected = `does not match /${pattern}/`;
    const notString = `claim ${name} is not a string, so cannot match /${pattern}/`;
    return (identity) => {
      const value = read(identity);
      if (value === undefined) return missing;
      if (typeof value !== 'string') return notString;
      return regex.test(value) ? undefined : `claim ${name} ${shown(value)} ${expected}`;
    };
  }
  // checkAuthzPolicy refuses this; should it slip through, loading fails rather than a rule that allows everyone.
  throw new Error(`claim matcher for ${name} has none of equals, oneOf, pattern`);
}

/**
 * A claim named with dots is first looked up whole, because namespaced claims
 * such as https://example.com/tenant are common; otherwise it is a path. Only
 * own properties count, so "constructor" or "__proto__" never resolve.
 */
function claimReader(path: string): (identity: Identity) => unknown {
  const steps = path.split('.');
  return (identity) => {
    if (Object.hasOwn(identity.claims, path)) return identity.claims[path];
    let at: unknown = identity.claims;
    for (let i = 0; i < steps.length; i++) {
      if (at === null || typeof at !== 'object' || !Object.hasOwn(at, steps[i]!)) return undefined;
      at = (at as Record<string, unknown>)[steps[i]!];
    }
    return at;
  };
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > SHOWN ? `${value.slice(0, SHOWN)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object';
}
