// A CA for client certificates (mTLS tests), written to disk, that issues
// clientAuth certificates on demand.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

const EC = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const;

export interface ClientCa {
  /** The CA certificate's PEM file: what the edge is configured to trust. */
  readonly file: string;
  issue(cn: string, altNames?: { type: 1 | 6; value: string }[]): Promise<{ cert: string; key: string }>;
}

export async function clientCa(dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-ca-'))): Promise<ClientCa> {
  const ca = await generate([{ name: 'commonName', value: 'Test client CA' }], {
    ...EC, extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, critical: true }],
  });
  const file = join(dir, `client-ca-${Date.now()}-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, ca.cert);
  const issue = (cn: string, altNames: { type: 1 | 6; value: string }[] = []) => generate([{ name: 'commonName', value: cn }], {
    ...EC, ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true }, { name: 'extKeyUsage', clientAuth: true },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : [])],
  }).then((c) => ({ cert: c.cert, key: c.private }));
  return { file, issue };
}
