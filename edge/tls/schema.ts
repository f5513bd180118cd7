// The config of the edge's TLS listener: certificates served by SNI, protocol
// floor, client certificates (mTLS) and HSTS. Types come from here through
// Static<>; nothing else declares them.
import { Type, type Static } from '@sinclair/typebox';

const Strict = { additionalProperties: false } as const;

const PemFile = (what: string) => Type.String({ minLength: 1, description: `path to ${what} (relative to the config file)` });

const ServerName = Type.String({
  pattern: '^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$',
  description: 'an SNI host name, exact (api.example.com) or wildcard (*.example.com)',
});

export const CertificateSchema = Type.Object({
  cert: PemFile('a PEM certificate chain'),
  key: PemFile('a PEM private key'),
  hosts: Type.Optional(Type.Array(ServerName, {
    minItems: 1,
    description: 'SNI names this certificate serves; default: the DNS names of its subjectAltName',
  })),
}, Strict);

export const ClientCertificatesSchema = Type.Object({
  ca: PemFile('a PEM bundle of the CAs that sign client certificates'),
  required: Type.Boolean({ default: false, description: 'true: a client without a verified certificate fails the handshake' }),
}, Strict);

export const HstsSchema = Type.Object({
  maxAgeSeconds: Type.Integer({ minimum: 0, default: 31_536_000, description: 'max-age of Strict-Transport-Security' }),
  includeSubDomains: Type.Boolean({ default: true, description: 'whether it says includeSubDomains' }),
  preload: Type.Boolean({ default: false, description: 'whether it says preload' }),
}, Strict);

export const EdgeTlsSchema = Type.Object({
  certificates: Type.Array(CertificateSchema, {
    minItems: 1,
    description: 'the first is the default, served when SNI is absent or names no listed host',
  }),
  minVersion: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2', description: 'the oldest TLS version accepted' }),
  ciphers: Type.Optional(Type.String({
    minLength: 1,
    description: 'OpenSSL cipher string for TLS 1.2; TLS 1.3 suites are fixed by Node and not affected',
  })),
  reloadIntervalMs: Type.Integer({ minimum: 100, default: 1000, description: 'how often certificate files are checked for changes' }),
  // Node's own default is 120 s, so a connection that never starts TLS held a slot of maxConnections that long.
  handshakeTimeoutMs: Type.Integer({ minimum: 100, default: 10_000, description: 'a connection that has not completed its TLS handshake this long after it opened is closed' }),
  clientCertificates: Type.Optional({ ...ClientCertificatesSchema, description: 'client certificates (mTLS) requested in the handshake; the CA file is re-read when it changes' }),
  hsts: Type.Optional({ ...HstsSchema, description: 'the Strict-Transport-Security header of every reply' }),
}, Strict);

export type CertificateConfig = Static<typeof CertificateSchema>;
export type HstsConfig = Static<typeof HstsSchema>;
export type EdgeTlsConfig = Static<typeof EdgeTlsSchema>;

/** The Strict-Transport-Security value, e.g. `max-age=31536000; includeSubDomains`. */
export function hstsHeaderValue(hsts: HstsConfig): string {
  return `max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
}
