// The registry of authorization rule kinds a route's authz policy may hold, each from its schema file, in
// the reference's order (the policy's fields and its config problems come in this order; the order they
// are checked per request is router/authz/registry.ts's). Adding a kind: its schema file and a line here,
// its compiler in router/authz/registry.ts (the compiler refuses it missing). Schema only.
import { methodsRule, authMethodsRule } from './methods-schema.js';
import { consumersRule } from './consumers-schema.js';
import { scopesRule, rolesRule } from './scopes-schema.js';
import { claimsRule } from './claims-schema.js';

export const AUTHZ_RULES = [scopesRule, rolesRule, consumersRule, claimsRule, methodsRule, authMethodsRule] as const;

export type AuthzRuleSchemaEntry = (typeof AUTHZ_RULES)[number];
