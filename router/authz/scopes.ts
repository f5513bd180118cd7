// Matcher for the scopes and the roles an identity holds: allOf needs every
// one, anyOf at least one. Reasons are built at config load, so a request
// never allocates here; it must never treat a missing list as satisfied.
import type { Identity } from '../../shared/auth-types.js';
import type { GrantRule } from './schema.js';
import type { AuthzCheck } from './check.js';

export type GrantKind = 'scope' | 'role';

export function compileGrants(rule: GrantRule, kind: GrantKind): AuthzCheck {
  const held = kind === 'scope' ? (i: Identity) => i.scopes : (i: Identity) => i.roles;
  const allOf = rule.allOf ?? [];
  const missing = allOf.map((name) => `missing ${kind} ${name}`);
  const anyOf = rule.anyOf;
  const noneOf = anyOf && `needs a ${kind} among ${anyOf.join(', ')}`;
  return (identity) => {
    const names = held(identity);
    for (let i = 0; i < allOf.length; i++) if (!names.includes(allOf[i]!)) return missing[i];
    if (anyOf === undefined) return undefined;
    for (let i = 0; i < anyOf.length; i++) if (names.includes(anyOf[i]!)) return undefined;
    return noneOf;
  };
}
