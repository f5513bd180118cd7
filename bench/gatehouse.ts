// The two Gatehouse cases of the bench, as config files: bare (TLS edge ->
// router -> backend, no policies) and secured (a JWT verified, a leased Redis rate
// limit, the identity hand-off, an authorization rule, backends discovered in
// Consul, access logs on both tiers, trace injection); and the refusals the
// secured chain must give before it is timed (chain-checks.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { SignJWT } from 'jose';
import type { DevCertificates } from '../shared/tls/dev-certs.js';
import type { ChainCheck } from './chain-checks.js';

export interface TierPorts { readonly edge: number; readonly edgeAdmin: number; readonly router: number; readonly routerAdmin: number }

const IDENTITY = { keys: [{ id: 'bench', secret: 'bench-identity-key-0123456789abcdef0123' }] };
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef0123456789';
const THROTTLED = '/throttled';

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
    // The default 100 ms is for production's fail-open: on a CI machine busy with other test files, one slower
    // command made the edge count the 429 check's second request locally, and admit it (seen once in a fresh clone).
    redis: { url: redisUrl, commandTimeoutMs: 1_000 },
    consul: { address: consulAddress },
    auth: { jwt: { issuers: [{ issuer: 'bench-idp', audience: ['bench'], algorithms: ['HS256'], secret: JWT_SECRET }] } },
    rateLimits: {
      // Leased (issue 19): a busy consumer's tokens come a lease at a time, so most requests make no Redis round
      // trip; the bench reports how many it made per request. The policy's default is exact.
      'per-consumer': { key: 'consumer', mode: 'leased', windows: [{ name: 'second', limit: 1_000_000, periodSeconds: 1 }] },
      // Only for the 429 check, on a route of its own: the measured route is never throttled.
      'one-per-hour': { key: 'consumer', windows: [{ name: 'hour', limit: 1, periodSeconds: 3600 }] },
    },
    routes: [
      { name: 'bench', match: { pathPrefix: '/' }, service: 'backend', auth: { methods: ['jwt'] }, authz: { scopes: { allOf: ['bench:read'] } } },
      { name: 'throttled', match: { pathPrefix: THROTTLED }, service: 'backend', auth: { methods: ['jwt'] }, authz: { scopes: { allOf: ['bench:read'] } }, rateLimit: 'one-per-hour' },
    ],
    services: { backend: { consul: { service: 'bench-backend' } } },
  }));
  return file;
}

/** A token the secured case admits, valid for the whole run. */
export function benchToken(): Promise<string> {
  return token('bench-consumer', 'bench:read', JWT_SECRET);
}

function token(sub: string, scope: string, secret: string): Promise<string> {
  return new SignJWT({ sub, scope }).setProtectedHeader({ alg: 'HS256' })
    .setIssuer('bench-idp').setAudience('bench').setIssuedAt().setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
}

/** What the secured chain must refuse, each through both tiers and the real policy, before it is timed. */
export async function securedChecks(): Promise<ChainCheck[]> {
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const good = await benchToken();
  return [
    // Well formed, from the right issuer, but signed with another key.
    { name: 'bad token: 401 unauthorized', path: '/', headers: bearer(await token('bench-consumer', 'bench:read', `${JWT_SECRET}-not`)), expect: [{ status: 401, error: 'unauthorized' }] },
    // A valid token whose consumer lacks the route's scope: the router's authorization refuses it.
    { name: 'forbidden consumer: 403 forbidden', path: '/', headers: bearer(await token('bench-outsider', 'bench:write', JWT_SECRET)), expect: [{ status: 403, error: 'forbidden' }] },
    // One request an hour: the first is admitted, the second refused.
    { name: 'over its rate limit: 429 rate_limited', path: THROTTLED, headers: bearer(good), expect: [{ status: 200 }, { status: 429, error: 'rate_limited' }] },
  ];
}
