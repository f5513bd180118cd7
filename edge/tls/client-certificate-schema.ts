// Config schema of the mtls method (auth.mtls): which field of a verified client certificate names the
// consumer. Schema only: never imports the method or anything that reads a certificate.
import { Type, type Static } from '@sinclair/typebox';
import { authMethod } from '../auth/method-schema.js';

export const ConsumerFromSchema = Type.Union([
  Type.Literal('subject-cn'), Type.Literal('san-dns'), Type.Literal('san-uri'), Type.Literal('san-email'),
], { default: 'subject-cn', description: 'which certificate field names the consumer' });

export const MtlsAuthSchema = Type.Object({ consumerFrom: ConsumerFromSchema }, { additionalProperties: false, description: 'a verified client certificate as the credential; needs edge.tls.clientCertificates' });

export type ConsumerFrom = Static<typeof ConsumerFromSchema>;
export type MtlsAuthConfig = Static<typeof MtlsAuthSchema>;

/** The mtls method in edge/auth/registry-schema.ts: the listener verifies the certificate, so nothing to cross-check. */
export const mtlsMethod = authMethod({ name: 'mtls', key: 'mtls', schema: MtlsAuthSchema });
