// The config fields of a shared secret (inline for development, an environment variable or a file), and
// whether one is given. Schema only: reading the secret is shared/secrets.ts's, at start-up.
import { Type, type Static } from '@sinclair/typebox';

export const SecretSourceFields = {
  secret: Type.Optional(Type.String({ minLength: 32, description: 'at least 32 characters; prefer secretEnv or secretFile outside development' })),
  secretEnv: Type.Optional(Type.String({ minLength: 1, description: 'environment variable holding the secret' })),
  secretFile: Type.Optional(Type.String({ minLength: 1, description: 'file holding the secret' })),
};
const SecretSource = Type.Object(SecretSourceFields);
export type SecretSource = Static<typeof SecretSource>;

export function hasSecret(s: SecretSource): boolean {
  return s.secret !== undefined || s.secretEnv !== undefined || s.secretFile !== undefined;
}
