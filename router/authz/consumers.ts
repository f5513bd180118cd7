// Matcher for who the caller is: a consumer on the deny list is refused even
// when also allowed; when an allow list is given, only those pass. It must
// never let an allow entry override a deny entry.
import type { AuthzCheck } from './check.js';

/** A reason quotes at most this much of a consumer id, which a caller's credential chose. */
const SHOWN = 100;

export function compileConsumers(rule: { readonly allow?: readonly string[]; readonly deny?: readonly string[] }): AuthzCheck {
  const deny = new Set(rule.deny ?? []);
  const allow = rule.allow && new Set(rule.allow);
  // Denied ids come from config, so their reasons are built here, once.
  const denied = new Map([...deny].map((id) => [id, `consumer ${id} is denied`]));
  return (identity) => {
    const id = identity.consumer;
    if (deny.has(id)) return denied.get(id);
    if (allow === undefined || allow.has(id)) return undefined;
    return `consumer ${id.length > SHOWN ? `${id.slice(0, SHOWN)}...` : id} is not allowed`;
  };
}
