// The registry of the edge's authentication methods: each one's name, section under auth:, schema and
// cross-check, from its schema file. The auth section, a route's `methods` and config/cross-check.ts's
// checks are all read from this list. Adding a method: its schema file and a line here, its factory in
// edge/auth/registry.ts, its name in shared/auth-methods-schema.ts (the router must know it); the compiler
// refuses any of the three missing. Schema only: never imports a method's runtime.
import type { Static } from '@sinclair/typebox';
import { optionalSections } from '../../shared/config/policy-schema.js';
import type { EdgeAuthMethodName } from '../../shared/auth-methods-schema.js';
import { jwtMethod } from './jwt-schema.js';
import { apiKeyMethod } from './api-key-schema.js';
import { mtlsMethod } from '../tls/client-certificate-schema.js';
import { sessionMethod } from './session-schema.js';

/** Built in this order: session last, as it is made from the methods before it. */
export const AUTH_METHODS = [jwtMethod, apiKeyMethod, mtlsMethod, sessionMethod] as const;

export type AuthMethodSchemaEntry = (typeof AUTH_METHODS)[number];
type Registered = AuthMethodSchemaEntry['name'];

/** Does not compile unless this registry holds exactly the names both tiers know. */
export const REGISTERED_AS_SHARED: [Exclude<EdgeAuthMethodName, Registered> | Exclude<Registered, EdgeAuthMethodName>] extends [never] ? true : never = true;

export const AuthSchema = optionalSections(AUTH_METHODS, { additionalProperties: false, default: {}, description: 'the authentication methods routes may use' });

export type AuthConfig = Static<typeof AuthSchema>;

export const AUTH_METHOD_BY_NAME: ReadonlyMap<string, AuthMethodSchemaEntry> = new Map(AUTH_METHODS.map((m) => [m.name, m]));
