// Config of a route's authorization policy, composed from the rule kinds of router/authz/registry-schema.ts,
// and the checks a JSON Schema cannot express. Load-time only: nothing here runs per request, and a policy
// that fails checkAuthzPolicy must never be compiled.
import { Type, type Static } from '@sinclair/typebox';
import { crossCheckAt, optionalSections, type Problem } from '../../shared/config/policy-schema.js';
import { AUTHZ_RULES } from './registry-schema.js';
import { Strict } from './rule-schema.js';

export { HTTP_METHODS } from './methods-schema.js';
export type { GrantRule } from './scopes-schema.js';
export type { ClaimRule } from './claims-schema.js';

export const AuthzPolicySchema = optionalSections(AUTHZ_RULES, Strict);

export const AuthzDefaultSchema = Type.Union([Type.Literal('deny'), Type.Literal('allow')], { default: 'deny', description: 'the decision for a route without authz' });

export type AuthzPolicy = Static<typeof AuthzPolicySchema>;
export type AuthzDefault = Static<typeof AuthzDefaultSchema>;

/** Every problem of a policy at once, each starting with its field path inside the policy. */
export function checkAuthzPolicy(policy: AuthzPolicy): string[] {
  const problems: Problem[] = [];
  for (const rule of AUTHZ_RULES) crossCheckAt(rule, policy[rule.key], [], undefined, problems);
  return problems.map((p) => p.message);
}
