// Matchers for how a request arrives: its HTTP method, and the method the edge
// authenticated the caller with. Exact names only: GET never implies HEAD,
// and an unlisted method must never pass.
import type { AuthMethodName } from '../../shared/auth-types.js';
import type { AuthzCheck } from './check.js';

export function compileMethods(methods: readonly string[]): AuthzCheck {
  const allowed = new Set(methods);
  const expected = `not one of ${methods.join(', ')}`;
  // Over HTTP/2 :method can be any token a client sends, so the reason quotes only its start.
  return (_identity, method) => (allowed.has(method) ? undefined : `method ${method.slice(0, 20)} is ${expected}`);
}

export function compileAuthMethods(methods: readonly AuthMethodName[]): AuthzCheck {
  const allowed = new Set<string>(methods);
  const expected = `not one of ${methods.join(', ')}`;
  return (identity) => (allowed.has(identity.method) ? undefined : `authenticated by ${identity.method}, ${expected}`);
}
