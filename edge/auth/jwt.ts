// JWT bearer authentication with jose. Per issuer: pinned algorithms (never
// `none`; HMAC only with a shared secret, asymmetric only with public keys, so
// RS/HS confusion cannot happen), iss/aud/exp/nbf/iat with clock skew, an
// optional maximum lifetime, and required claims. A token over maxTokenBytes
// is refused unparsed, with a reason the client is told. Verified tokens are cached until they expire, so a repeat
// token costs a map lookup, not a signature check. Never reads a key from a
// location the token names.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LruMap } from 'toad-cache';
import type { Logger } from 'pino';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import { refused, type AuthMethod, type AuthMethodFactory, type AuthOutcome, type Identity } from './method.js';
import { RemoteJwks } from './jwks.js';
import { hasSecret, resolveSecret } from '../../shared/secrets.js';
import type { JwtAuthConfig, JwtIssuerConfig } from './jwt-schema.js';
import { isUnicodeText } from '../../shared/http/structured-fields.js';

export { JwtAuthSchema, type JwtAuthConfig } from './jwt-schema.js';

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const NEGATIVE_TTL_MS = 5_000;
const MALFORMED = Object.freeze(refused('invalid_token', 'malformed bearer token'));

interface Issuer {
  readonly config: JwtIssuerConfig;
  readonly key: KeyObject | JWTVerifyGetKey;
}

/** The jwt entry of edge/auth/registry.ts: a bearer token in Authorization. */
export const jwtFactory: AuthMethodFactory<JwtAuthConfig> = (jwt, { log }) => ({
  method: createJwtMethod(jwt, log),
  carriers: { headers: [{ name: 'authorization', scheme: 'bearer ' }], cookies: [], queryParams: [] },
});

type Cached = { readonly identity: Identity; readonly until: number } | { readonly refusal: AuthOutcome; readonly until: number };

export function createJwtMethod(config: JwtAuthConfig, log: Logger): AuthMethod {
  const issuers = new Map<string, Issuer>();
  config.issuers.forEach((c, i) => issuers.set(c.issuer, buildIssuer(c, i, log)));
  const cache = new LruMap<Cached>(config.cacheSize);
  const tooLarge = (bytes: number): AuthOutcome => {
    const reason = `token too large (${bytes} bytes > ${config.maxTokenBytes})`;
    return refused('invalid_token', reason, { description: reason });
  };

  const verify = async (token: string, now: number): Promise<AuthOutcome> => {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch (err) {
      return refused('invalid_token', `malformed token: ${(err as Error).message}`);
    }
    const issuer = typeof iss === 'string' ? issuers.get(iss) : undefined;
    if (issuer === undefined) return refused('invalid_token', 'unknown issuer', { issuer: String(iss).slice(0, 200) });
    const c = issuer.config;
    try {
      const { payload, protectedHeader } = await jwtVerify(token, issuer.key as JWTVerifyGetKey, {
        algorithms: [...c.algorithms],
        issuer: c.issuer,
        audience: [...c.audience],
        clockTolerance: c.clockSkewSeconds,
        requiredClaims: ['exp', ...c.requiredClaims],
        ...(c.maxTokenAgeSeconds !== undefined && { maxTokenAge: c.maxTokenAgeSeconds }),
      });
      const late = timeRefusal(payload, c, Math.floor(now / 1000));
      if (late !== undefined) {
        const refusal = refused('invalid_token', late, { issuer: c.issuer, ...(protectedHeader.kid && { kid: protectedHeader.kid }) });
        cache.set(token, { refusal, until: now + NEGATIVE_TTL_MS });
        return refusal;
      }
      const identity = toIdentity(payload, c);
      if (typeof identity === 'string') return refused('invalid_token', identity, { issuer: c.issuer, ...(protectedHeader.kid && { kid: protectedHeader.kid }) });
      cache.set(token, { identity, until: (payload.exp! + c.clockSkewSeconds) * 1000 });
      return { ok: true, identity };
    } catch (err) {
      const kid = headerKid(token);
      const refusal = refused('invalid_token', (err as Error).message, { issuer: c.issuer, ...(kid && { kid }) });
      cache.set(token, { refusal, until: now + NEGATIVE_TTL_MS });
      return refusal;
    }
  };

  return {
    name: 'jwt',
    authenticate(request: GatewayRequest): AuthOutcome | undefined | Promise<AuthOutcome> {
      const header = request.headers.authorization;
      if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
      const token = header.slice(7).trim();
      // Header values are latin1 strings in node: one character is one byte on the wire.
      if (token.length > config.maxTokenBytes) return tooLarge(token.length);
      if (!TOKEN.test(token)) return MALFORMED;
      const now = Date.now();
      const hit = cache.get(token);
      if (hit !== undefined && hit.until > now) return 'identity' in hit ? { ok: true, identity: hit.identity } : hit.refusal;
      return verify(token, now);
    },
  };
}

function buildIssuer(c: JwtIssuerConfig, i: number, log: Logger): Issuer {
  const field = `auth.jwt.issuers[${i}]`;
  if (c.jwksUrl !== undefined) {
    const jwks = new RemoteJwks(c.jwksUrl, {
      cooldownMs: c.jwks.cooldownSeconds * 1000,
      maxAgeMs: c.jwks.cacheMaxAgeSeconds * 1000,
      maxStaleMs: c.jwks.maxStaleSeconds * 1000,
      timeoutMs: c.jwks.timeoutMs,
    }, log);
    return { config: c, key: jwks.getKey };
  }
  if (c.keyFiles !== undefined) return { config: c, key: createLocalJWKSet({ keys: c.keyFiles.flatMap((f, j) => readKeyFile(f, `${field}.keyFiles[${j}]`)) }) };
  if (hasSecret(c)) return { config: c, key: resolveSecret(c, field) };
  throw new Error(`${field}: no key source`);
}

/** A PEM public key or certificate, or a JWK / JWK set in JSON. Private material is reduced to its public half. */
function readKeyFile(path: string, field: string): JWK[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${field}: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    if (text.trimStart().startsWith('{')) {
      const json = JSON.parse(text) as JWK | { keys: JWK[] };
      const keys = 'keys' in json && Array.isArray(json.keys) ? json.keys : [json as JWK];
      return keys.map((k) => publicJwk(k));
    }
    const jwk = createPublicKey(text).export({ format: 'jwk' }) as JWK;
    return [{ ...jwk, kid: basename(path).replace(/\.[^.]+$/, '') }];
  } catch (err) {
    throw new Error(`${field}: ${path} is not a PEM public key, certificate or JWK: ${(err as Error).message}`);
  }
}

function publicJwk(k: JWK): JWK {
  if (k.kty === 'oct') throw new Error('symmetric keys belong in secret, not keyFiles');
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = k;
  return pub;
}

/**
 * What jose leaves unchecked: an "iat" in the future (jose looks at it only with maxTokenAge), and a
 * lifetime over the issuer's maximum. exp - iat when the token says when it was issued; otherwise
 * exp - now, which is all that can be known, with the skew allowed for the edge's clock being behind.
 */
function timeRefusal(payload: JWTPayload, c: JwtIssuerConfig, now: number): string | undefined {
  const { iat, exp } = payload;
  if (iat !== undefined && iat > now + c.clockSkewSeconds) return `"iat" claim is ${iat - now} s in the future (clock skew allowed: ${c.clockSkewSeconds} s)`;
  if (c.maxLifetimeSeconds === undefined) return undefined;
  const lifetime = exp! - (iat ?? now);
  const allowed = c.maxLifetimeSeconds + (iat === undefined ? c.clockSkewSeconds : 0);
  return lifetime > allowed ? `token lifetime ${lifetime} s (exp - ${iat === undefined ? 'now' : 'iat'}) is over maxLifetimeSeconds ${c.maxLifetimeSeconds}` : undefined;
}

function toIdentity(payload: JWTPayload, c: JwtIssuerConfig): Identity | string {
  const consumer = payload[c.consumerClaim];
  if (typeof consumer !== 'string' || consumer === '') return `claim "${c.consumerClaim}" must be a non-empty string`;
  const scopes = stringList(payload[c.scopesClaim]);
  const roles = stringList(payload[c.rolesClaim]);
  // The backend gets these as structured-field strings, which carry any Unicode text but not broken UTF-16.
  if (!isUnicodeText(consumer) || !scopes.every(isUnicodeText) || !roles.every(isUnicodeText)) return 'the consumer, scopes or roles are not Unicode text (a lone surrogate)';
  const claims: Record<string, unknown> = {};
  for (const name of c.forwardClaims) if (payload[name] !== undefined) claims[name] = payload[name];
  return Object.freeze({ consumer, method: 'jwt', scopes, roles, claims, issuer: c.issuer });
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function headerKid(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid.slice(0, 128) : undefined;
  } catch {
    return undefined;
  }
}
