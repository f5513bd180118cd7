// The methods and authMethods rule kinds of an authz policy: the request's HTTP method, and the method the
// edge authenticated the caller with (the names both tiers know, shared/auth-methods-schema.ts). Schema
// only: matching is router/authz/methods.ts's.
import { Type } from '@sinclair/typebox';
import { oneOf } from '../../shared/config/policy-schema.js';
import { IDENTITY_METHOD_NAMES } from '../../shared/auth-methods-schema.js';
import { authzRule } from './rule-schema.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export const methodsRule = authzRule({ name: 'methods', key: 'methods', schema: Type.Array(oneOf(HTTP_METHODS), { minItems: 1, description: 'HTTP methods allowed' }) });

export const authMethodsRule = authzRule({
  name: 'auth-methods',
  key: 'authMethods',
  schema: Type.Array(oneOf(IDENTITY_METHOD_NAMES), { minItems: 1, description: 'how the caller must have authenticated' }),
});
