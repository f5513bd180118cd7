// A real identity provider for tests: RSA keys made with jose, a JWK set
// served over HTTP on loopback (counting fetches, rotatable, breakable), and
// tokens signed the way an IdP would sign them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, exportJWK, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface TestIdp {
  readonly issuer: string;
  readonly jwksUrl: string;
  /** JWKS fetches the IdP has served (or failed). */
  fetches: number;
  /** Keys published in the JWK set. */
  published: SigningKey[];
  /** When set, the JWKS endpoint answers 500. */
  broken: boolean;
  token(key: SigningKey, claims?: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export const AUDIENCE = 'orders-api';

export async function startIdp(keys: SigningKey[]): Promise<TestIdp> {
  let server: Server;
  const idp: TestIdp = {
    issuer: '',
    jwksUrl: '',
    fetches: 0,
    published: keys,
    broken: false,
    async token(key, claims = {}, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: 'alice', scope: 'orders:read orders:write', roles: ['buyer'], iat: now, exp: now + 300, iss: idp.issuer, aud: AUDIENCE, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, ...header })
        .sign(key.privateKey);
    },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  server = createServer((req, res) => {
    idp.fetches++;
    if (idp.broken) {
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: idp.published.map((k) => k.publicJwk) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  (idp as { issuer: string }).issuer = `${base}/`;
  (idp as { jwksUrl: string }).jwksUrl = `${base}/.well-known/jwks.json`;
  return idp;
}

/** The JWT issuer config for this IdP as the edge would have it. */
export function issuerConfig(idp: TestIdp, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: idp.issuer,
    audience: [AUDIENCE],
    algorithms: ['RS256'],
    jwksUrl: idp.jwksUrl,
    clockSkewSeconds: 30,
    forwardClaims: ['tenant'],
    ...extra,
  };
}
