// `node dist/deploy/compose/token.js [SUBJECT] [--scopes a,b] [--ttl SECONDS] [--dir DIR]`:
// prints a token of the compose demo's issuer, signed with the key demo-secrets
// wrote, for trying the JWT route. A demo tool: a real deployment's tokens come
// from its identity provider, never from the gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT, importPKCS8 } from 'jose';
import { DEMO_AUDIENCE, DEMO_ISSUER, DEMO_KID, ISSUER_KEY_FILE } from './demo-secrets.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scopes: { type: 'string', default: 'orders:read' },
    ttl: { type: 'string', default: '3600' },
    dir: { type: 'string', default: process.env.GATEHOUSE_SECRETS_DIR ?? '/secrets' },
  },
});
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) {
  process.stderr.write('token: --ttl must be a whole number of seconds from 1 to 86400\n');
  process.exit(2);
}
const keyFile = join(values.dir, ISSUER_KEY_FILE);
let pem: string;
try {
  pem = readFileSync(keyFile, 'utf8');
} catch (err) {
  process.stderr.write(`token: cannot read the demo issuer's key ${keyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the compose stack's secrets service writes it on first start\n`);
  process.exit(1);
}
const key = await importPKCS8(pem, 'ES256');
const token = await new SignJWT({ scope: values.scopes.split(',').join(' ') })
  .setProtectedHeader({ alg: 'ES256', kid: DEMO_KID, typ: 'JWT' })
  .setIssuer(DEMO_ISSUER)
  .setAudience(DEMO_AUDIENCE)
  .setSubject(positionals[0] ?? 'alice')
  .setIssuedAt()
  .setExpirationTime(`${ttl}s`)
  .sign(key);
process.stdout.write(`${token}\n`);
