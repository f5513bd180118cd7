// Config of the identity assertion the edge signs and the router verifies: the shared HMAC keys (the
// first signs, all verify) and the assertion's lifetime. Schema only: signing is shared/identity.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { SecretSourceFields } from './secrets-schema.js';

export const IdentityKeySchema = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'key id, sent in the assertion header' }),
  ...SecretSourceFields,
}, { additionalProperties: false });

export const IdentitySchema = Type.Object({
  keys: Type.Array(IdentityKeySchema, { minItems: 1, description: 'HMAC keys: the first signs, all verify' }),
  ttlSeconds: Type.Integer({ minimum: 5, maximum: 60, default: 60, description: 'how long an identity assertion is valid' }),
}, { additionalProperties: false });

export type IdentityConfig = Static<typeof IdentitySchema>;
