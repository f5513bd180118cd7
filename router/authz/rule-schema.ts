// What an authorization rule kind's schema file declares: its name, its field in a route's authz policy,
// its schema and its cross-check, whose messages start with the field path inside the policy (a route's
// policy is blamed as a whole, at routes[i].authz). Schema only.
import { Type } from '@sinclair/typebox';
import { policy } from '../../shared/config/policy-schema.js';
import { Strict } from '../../shared/config/schema.js';

export const authzRule = policy<undefined>();

export { Strict };
export const Name = Type.String({ minLength: 1 });

/** A problem of a rule, blamed on the policy it sits in. */
export const problem = (message: string) => ({ path: [], message });
