// Where a shared secret comes from: inline (development), an environment
// variable or a file. Errors name the config field, never the secret.
import { readFileSync } from 'node:fs';
import { createSecretKey, type KeyObject } from 'node:crypto';
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

export function resolveSecret(source: SecretSource, field: string, env: NodeJS.ProcessEnv = process.env): KeyObject {
  let secret: string | undefined;
  if (source.secret !== undefined) secret = source.secret;
  else if (source.secretEnv !== undefined) secret = env[source.secretEnv];
  else if (source.secretFile !== undefined) {
    try {
      secret = readFileSync(source.secretFile, 'utf8').trim();
    } catch (err) {
      throw new Error(`${field}.secretFile: cannot read ${source.secretFile}: ${(err as Error).message}`);
    }
  }
  if (secret === undefined || secret.length < 32) {
    throw new Error(`${field}: the secret must be at least 32 characters (from secret, secretEnv or secretFile)`);
  }
  return createSecretKey(Buffer.from(secret, 'utf8'));
}
