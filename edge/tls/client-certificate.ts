// mTLS identity: the verified client certificate of a request and the
// consumer name it carries, plus the `mtls` auth method built on them. An
// unverified certificate never yields an identity.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { ConsumerFrom, MtlsAuthConfig } from './client-certificate-schema.js';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { refused, type AuthMethod, type AuthMethodFactory } from '../auth/method.js';


/**
 * The client certificate of the request's connection, only when it verified
 * against the listener's client CA (`authorized`). Re-read per request rather
 * than cached per socket: TLS 1.2 renegotiation can change the peer of an
 * HTTP/1.1 connection.
 */
export function peerCertificateOf(request: GatewayRequest): PeerCertificate | undefined {
  const raw = request.raw as IncomingMessage | Http2ServerRequest;
  // On HTTP/2 the TLS socket belongs to the session; node hands out a proxy of it.
  const socket = ('stream' in raw ? raw.stream.session?.socket : raw.socket) as TLSSocket | undefined;
  if (socket?.authorized !== true) return undefined;
  const cert = socket.getPeerCertificate();
  // Without a certificate node returns an empty object, not undefined.
  return cert.raw ? cert : undefined;
}

const SAN_TYPE = { 'san-dns': 'DNS', 'san-uri': 'URI', 'san-email': 'email' } as const;

export function consumerFromCertificate(cert: PeerCertificate, from: ConsumerFrom): string | undefined {
  if (from === 'subject-cn') {
    // Several CNs arrive as an array; picking one would be a guess.
    const cn: unknown = cert.subject?.CN;
    return typeof cn === 'string' && cn !== '' ? cn : undefined;
  }
  return subjectAltNames(cert.subjectaltname, SAN_TYPE[from])[0];
}

/**
 * The values of one type in node's subjectAltName text (`DNS:a, URI:b`).
 * Node JSON-quotes a value holding a comma or quote, so a naive split on
 * ", " would let a crafted name smuggle in a second entry.
 */
export function subjectAltNames(text: string | undefined, type: 'DNS' | 'URI' | 'email'): string[] {
  const names: string[] = [];
  for (const [, kind, value] of (text ?? '').matchAll(/([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    if (kind !== type || value === undefined) continue;
    const name = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    if (name !== '') names.push(name);
  }
  return names;
}

export function createMtlsMethod(config: MtlsAuthConfig): AuthMethod {
  const missing = `client certificate has no ${config.consumerFrom}`;
  return {
    name: 'mtls',
    authenticate(request) {
      const cert = peerCertificateOf(request);
      if (!cert) return undefined;
      const consumer = consumerFromCertificate(cert, config.consumerFrom);
      if (consumer === undefined) return refused('invalid_token', missing);
      return {
        ok: true,
        identity: { consumer, method: 'mtls', scopes: [], roles: [], claims: { certificateFingerprint: cert.fingerprint256 } },
      };
    },
  };
}

/** The mtls entry of edge/auth/registry.ts: the certificate belongs to the connection, so no carrier to count. */
export const mtlsFactory: AuthMethodFactory<MtlsAuthConfig> = (mtls) => ({
  method: createMtlsMethod(mtls),
  carriers: { headers: [], cookies: [], queryParams: [] },
});
