// `node dist/deploy/compose/demo-secrets.js DIR`: the compose demo's first-start
// step. Writes, unless already there, what the stack mounts instead of baking
// into the image: a development CA and certificate for localhost, the identity
// key edge and router share, the admin API's bearer token, and the demo token
// issuer's key pair (private key for `token`, public JWK set for the edge). It never overwrites a file, so
// certificates and keys an operator put in the volume are kept.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { ensureDevCertificates } from '../../shared/tls/dev-certs.js';

export const DEMO_ISSUER = 'https://demo-idp.gatehouse.local';
export const DEMO_AUDIENCE = 'gatehouse-demo';
export const DEMO_KID = 'demo-1';
export const ISSUER_KEY_FILE = 'demo-issuer-key.pem';
export const ISSUER_JWKS_FILE = 'demo-issuer-jwks.json';
export const IDENTITY_KEY_FILE = 'identity-key';
export const ADMIN_TOKEN_FILE = 'admin-token';

export async function ensureDemoSecrets(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  await ensureDevCertificates(join(dir, 'certs'), ['localhost', '127.0.0.1']);
  for (const name of [IDENTITY_KEY_FILE, ADMIN_TOKEN_FILE]) {
    const file = join(dir, name);
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
      written.push(file);
    }
  }
  const privateFile = join(dir, ISSUER_KEY_FILE);
  if (!existsSync(privateFile)) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: DEMO_KID, alg: 'ES256', use: 'sig' };
    writeFileSync(join(dir, ISSUER_JWKS_FILE), `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`);
    writeFileSync(privateFile, await exportPKCS8(privateKey), { mode: 0o600 });
    written.push(privateFile, join(dir, ISSUER_JWKS_FILE));
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? '/secrets';
  const written = await ensureDemoSecrets(dir);
  process.stdout.write(written.length > 0 ? `demo-secrets: wrote ${written.join(', ')}\n` : `demo-secrets: ${dir} already complete\n`);
}
