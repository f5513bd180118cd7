// Where a shared secret comes from: inline (development), an environment
// variable or a file. Errors name the config field, never the secret.
import { readFileSync } from 'node:fs';
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { SecretSource } from './secrets-schema.js';

export { SecretSourceFields, hasSecret, type SecretSource } from './secrets-schema.js';

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
