// A local CA and a localhost certificate it signed, for `npm start` and the
// tests: generated once into a folder (git-ignored) and reused after. Never
// for production: the CA key sits next to the certificate.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface DevCertificates {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export async function ensureDevCertificates(dir: string, hostnames: readonly string[] = ['localhost']): Promise<DevCertificates> {
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'localhost.pem'), keyFile: join(dir, 'localhost-key.pem') };
  if (existsSync(files.caFile) && existsSync(files.certFile) && existsSync(files.keyFile)) return files;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = Date.now();
  const validity = { notBeforeDate: new Date(now - 60_000), notAfterDate: new Date(now + 825 * 86_400_000) };
  const ca = await generate([{ name: 'commonName', value: 'Gatehouse development CA' }], {
    ...validity, keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }],
  });
  const leaf = await generate([{ name: 'commonName', value: hostnames[0] ?? 'localhost' }], {
    ...validity, keyType: 'ec', curve: 'P-256', algorithm: 'sha256', ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...hostnames.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  writeFileSync(files.caFile, ca.cert);
  writeFileSync(files.certFile, leaf.cert);
  writeFileSync(files.keyFile, leaf.private, { mode: 0o600 });
  return files;
}
