// The scopes and roles rule kinds of an authz policy: grants the identity must hold, all of them or any.
// Schema only: matching is router/authz/scopes.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { authzRule, Name, problem, Strict } from './rule-schema.js';

const GrantRuleSchema = Type.Object({
  allOf: Type.Optional(Type.Array(Name, { minItems: 1, description: 'names that must all be held' })),
  anyOf: Type.Optional(Type.Array(Name, { minItems: 1, description: 'names of which at least one must be held' })),
}, Strict);

export type GrantRule = Static<typeof GrantRuleSchema>;

const checkGrants = (key: string) => (rule: GrantRule) => (rule.allOf === undefined && rule.anyOf === undefined
  ? [problem(`${key}: expected allOf or anyOf, found an empty object (it would allow everyone)`)]
  : []);

export const scopesRule = authzRule({ name: 'scopes', key: 'scopes', schema: { ...GrantRuleSchema, description: 'scopes the caller must hold' }, crossCheck: checkGrants('scopes') });
export const rolesRule = authzRule({ name: 'roles', key: 'roles', schema: { ...GrantRuleSchema, description: 'roles the caller must hold' }, crossCheck: checkGrants('roles') });
