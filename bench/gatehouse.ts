// The two Gatehouse cases of the bench, as config files: bare (TLS edge ->
// router -> backend, no policies) and secured (a JWT verified, a Redis rate
// limit, the identity hand-off, an authorization rule, backends discovered in
// Consul, access logs on both tiers, trace injection).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SignJWT } from 'jose';
import type { DevCertificates } from '../shared/tls/dev-certs.js';

export interface TierPorts { readonly edge: number; readonly edgeAdmin: number; readonly router: number; readonly routerAdmin: number }

const IDENTITY = { keys: [{ id: 'bench', secret: 'bench-identity-key-0123456789abcdef0123' }] };
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';

function tiers(p: TierPorts, certs: DevCertificates) {
  return {
    edge: { listen: { port: p.edge }, admin: { port: p.edgeAdmin }, tls: { certificates: [{ cert: certs.certFile, key: certs.keyFile }] }, router: { static: [`http://127.0.0.1:${p.router}`] } },
    router: { listen: { port: p.router }, admin: { port: p.routerAdmin }, trustedProxies: ['loopback'] },
    identity: IDENTITY,
  };
}

export function bareConfig(dir: string, p: TierPorts, certs: DevCertificates, backendPort: number): string {
  const file = join(dir, 'bare.yaml');
  writeFileSync(file, stringify({
    ...tiers(p, certs),
    routes: [{ name: 'bench', match: { pathPrefix: '/' }, service: 'backend', auth: { anonymous: true }, authz: {} }],
    services: { backend: { static: [`http://127.0.0.1:${backendPort}`] } },
  }));
  return file;
}

export function securedConfig(dir: string, p: TierPorts, certs: DevCertificates, redisUrl: string, consulAddress: string): string {
  const file = join(dir, 'secured.yaml');
  const t = tiers(p, certs);
  writeFileSync(file, stringify({
    ...t,
    edge: { ...t.edge, rateLimit: 'per-consumer' },
    redis: { url: redisUrl },
    consul: { address: consulAddress },
    auth: { jwt: { issuers: [{ issuer: 'bench-idp', audience: ['bench'], algorithms: ['HS256'], secret: JWT_SECRET }] } },
    rateLimits: { 'per-consumer': { key: 'consumer', windows: [{ name: 'second', limit: 1_000_000, periodSeconds: 1 }] } },
    routes: [{ name: 'bench', match: { pathPrefix: '/' }, service: 'backend', auth: { methods: ['jwt'] }, authz: { scopes: { allOf: ['bench:read'] } } }],
    services: { backend: { consul: { service: 'bench-backend' } } },
  }));
  return file;
}

/** A token the secured case admits, valid for the whole run. */
export function benchToken(): Promise<string> {
  return new SignJWT({ sub: 'bench-consumer', scope: 'bench:read' }).setProtectedHeader({ alg: 'HS256' })
    .setIssuer('bench-idp').setAudience('bench').setIssuedAt().setExpirationTime('2h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}
