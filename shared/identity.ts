// The identity assertion the edge hands the router: a compact JWS (HS256,
// made and checked with jose) carrying who the caller is, valid for at most
// 60 s, with a key id so keys rotate with no downtime. The router believes
// nothing about the caller that is not in a valid assertion.
//
// Cost (issue budget: <= 10 CPU-us per request per tier): HMAC, and neither
// tier does crypto per request in steady state. The edge signs once per
// identity and reuses the assertion until half its lifetime is gone; the
// router verifies a given assertion once and caches the result until it
// expires. The price is that an assertion can be replayed within its lifetime
// by whoever can read edge->router traffic, so that hop must stay on a
// private network (or mutual TLS); the key never leaves the two tiers.
import type { KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, type JWTPayload } from 'jose';
import { LruMap } from 'toad-cache';
import type { Identity, AuthMethodName } from './auth-types.js';
import { resolveSecret } from './secrets.js';
import { IDENTITY_METHOD_NAMES } from './auth-methods-schema.js';
import type { IdentityConfig } from './identity-schema.js';

export const IDENTITY_HEADER = 'x-gatehouse-identity';
const ISSUER = 'gatehouse-edge';
const AUDIENCE = 'gatehouse-router';
const TYP = 'gatehouse-identity+jwt';

export { IdentityKeySchema, IdentitySchema, type IdentityConfig } from './identity-schema.js';

interface Signed { readonly assertion: string; readonly refreshAt: number }

export class AssertionSigner {
  private readonly key: KeyObject;
  private readonly kid: string;
  private readonly byIdentity = new WeakMap<Identity, Signed>();
  private readonly byValue = new LruMap<Signed>(10_000);

  constructor(private readonly config: IdentityConfig, env: NodeJS.ProcessEnv = process.env) {
    const first = config.keys[0]!;
    this.key = resolveSecret(first, 'identity.keys[0]', env);
    this.kid = first.id;
  }

  /** The assertion for this identity: a cached string when one is fresh enough, else a new signature. */
  assertionFor(identity: Identity): string | Promise<string> {
    const now = Date.now();
    const cached = this.byIdentity.get(identity);
    if (cached !== undefined && cached.refreshAt > now) return cached.assertion;
    const valueKey = identityKey(identity);
    const shared = this.byValue.get(valueKey);
    if (shared !== undefined && shared.refreshAt > now) {
      this.byIdentity.set(identity, shared);
      return shared.assertion;
    }
    return this.sign(identity, valueKey, now);
  }

  private async sign(identity: Identity, valueKey: string, now: number): Promise<string> {
    const ttl = this.config.ttlSeconds;
    const assertion = await new SignJWT({ gh: { m: identity.method, s: identity.scopes, r: identity.roles, c: identity.claims, ...(identity.issuer && { i: identity.issuer }) } })
      .setProtectedHeader({ alg: 'HS256', kid: this.kid, typ: TYP })
      .setSubject(identity.consumer)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + ttl)
      .sign(this.key);
    // Reused for half its lifetime, so the router never receives one with less than ttl/2 left.
    const signed = { assertion, refreshAt: now + (ttl * 1000) / 2 };
    this.byIdentity.set(identity, signed);
    this.byValue.set(valueKey, signed);
    return assertion;
  }
}

function identityKey(i: Identity): string {
  return JSON.stringify([i.consumer, i.method, i.scopes, i.roles, i.claims, i.issuer ?? null]);
}

interface Verified { readonly identity: Identity; readonly expiresAt: number }

export class AssertionVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private readonly verified = new LruMap<Verified>(10_000);

  constructor(config: IdentityConfig, env: NodeJS.ProcessEnv = process.env) {
    config.keys.forEach((k, i) => this.keys.set(k.id, resolveSecret(k, `identity.keys[${i}]`, env)));
  }

  /** The identity in a valid assertion, or undefined; a repeat assertion costs a map lookup. */
  verify(assertion: string | undefined): Identity | undefined | Promise<Identity | undefined> {
    if (assertion === undefined || assertion.length > 8192) return undefined;
    const hit = this.verified.get(assertion);
    if (hit !== undefined) return hit.expiresAt > Date.now() ? hit.identity : undefined;
    return this.verifyNew(assertion);
  }

  private async verifyNew(assertion: string): Promise<Identity | undefined> {
    try {
      const { payload } = await jwtVerify(assertion, (header) => {
        const key = header.kid === undefined ? undefined : this.keys.get(header.kid);
        if (key === undefined) throw new Error('unknown identity key id');
        return key;
      }, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, typ: TYP, requiredClaims: ['exp', 'iat', 'sub'], maxTokenAge: 60 + 5 });
      const identity = toIdentity(payload);
      if (identity !== undefined) this.verified.set(assertion, { identity, expiresAt: payload.exp! * 1000 });
      return identity;
    } catch {
      return undefined;
    }
  }
}

const METHODS: ReadonlySet<string> = new Set<AuthMethodName>(IDENTITY_METHOD_NAMES);

function toIdentity(payload: JWTPayload): Identity | undefined {
  const gh = payload.gh as { m?: unknown; s?: unknown; r?: unknown; c?: unknown; i?: unknown } | undefined;
  if (!gh || typeof payload.sub !== 'string' || !METHODS.has(gh.m as string)) return undefined;
  const strings = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : []);
  return Object.freeze({
    consumer: payload.sub,
    method: gh.m as AuthMethodName,
    scopes: strings(gh.s),
    roles: strings(gh.r),
    claims: gh.c && typeof gh.c === 'object' ? (gh.c as Record<string, unknown>) : {},
    ...(typeof gh.i === 'string' && { issuer: gh.i }),
  });
}
