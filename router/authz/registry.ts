// The compiler of each authorization rule kind, under the name router/authz/registry-schema.ts gives it: the
// compiler refuses a kind of that registry with none here, or one taking another rule than its schema's.
// A compiler runs once per route at config load and yields the checks run per request, in this order:
// cheapest and broadest first, so the reported failure is predictable.
import type { Static } from '@sinclair/typebox';
import type { AuthzCheck } from './check.js';
import type { AuthzRuleSchemaEntry } from './registry-schema.js';
import { compileGrants } from './scopes.js';
import { compileConsumers } from './consumers.js';
import { compileClaim } from './claims.js';
import { compileAuthMethods, compileMethods } from './methods.js';

export type AuthzRuleCompiler<R> = (rule: R) => readonly AuthzCheck[];

export const AUTHZ_COMPILERS: { readonly [E in AuthzRuleSchemaEntry as E['name']]: AuthzRuleCompiler<Static<E['schema']>> } = {
  methods: (methods) => [compileMethods(methods)],
  'auth-methods': (methods) => [compileAuthMethods(methods)],
  consumers: (rule) => [compileConsumers(rule)],
  scopes: (rule) => [compileGrants(rule, 'scope')],
  roles: (rule) => [compileGrants(rule, 'role')],
  claims: (rules) => rules.map(compileClaim),
};
