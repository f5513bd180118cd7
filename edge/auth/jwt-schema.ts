// Config schema of the jwt method (auth.jwt): one entry per trusted issuer, and the checks across an
// issuer's fields. Schema only: never imports the method or anything that fetches a key.
import { Type, type Static } from '@sinclair/typebox';
import { SecretSourceFields } from '../../shared/secrets-schema.js';
import { authMethod } from './method-schema.js';

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;

const Seconds = (def: number, max: number) => Type.Integer({ minimum: 0, maximum: max, default: def });

export const JwtIssuerSchema = Type.Object({
  issuer: Type.String({ minLength: 1, description: 'the exact "iss" this issuer signs' }),
  audience: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'accepted "aud" values; the token must name one' }),
  algorithms: Type.Array(Type.Union([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS].map((a) => Type.Literal(a))), { minItems: 1, description: 'the only algorithms accepted ("none" never is)' }),
  jwksUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'an http(s) URL of a JWK set' })),
  keyFiles: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'PEM public keys or certificates, or JWK / JWK-set JSON files' })),
  ...SecretSourceFields,
  clockSkewSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30, description: 'tolerance on exp, nbf and iat: a token issued ("iat") further in the future than this is refused' }),
  maxTokenAgeSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'refuse tokens issued ("iat") longer ago than this' })),
  maxLifetimeSeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'refuse tokens meant to live longer than this: exp - iat, or exp - now (plus the clock skew) without iat' })),
  requiredClaims: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'claims that must be present, beyond "exp"' }),
  consumerClaim: Type.String({ default: 'sub', description: 'the claim naming the consumer' }),
  scopesClaim: Type.String({ default: 'scope', description: 'the claim holding scopes, space-separated or a list' }),
  rolesClaim: Type.String({ default: 'roles', description: 'the claim holding roles' }),
  forwardClaims: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'claims passed to the router in the identity' }),
  jwks: Type.Object({
    cooldownSeconds: { ...Seconds(30, 3600), description: 'at most one fetch per this long for an unknown kid, shared by all requests' },
    cacheMaxAgeSeconds: { ...Seconds(600, 86_400), description: 'keys older than this are refreshed on use' },
    maxStaleSeconds: { ...Seconds(3600, 604_800), description: 'while the endpoint fails, the last good keys serve this long' },
    timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 2_000, description: 'time a JWK set fetch may take' }),
  }, { additionalProperties: false, default: {}, description: 'the fetching and caching of the jwksUrl key set' }),
}, { additionalProperties: false });

export const JwtAuthSchema = Type.Object({
  issuers: Type.Array(JwtIssuerSchema, { minItems: 1, description: 'each with exactly one key source: jwksUrl, keyFiles, or a shared secret' }),
  cacheSize: Type.Integer({ minimum: 0, default: 10_000, description: 'verified tokens kept until they expire' }),
  // Below edge.limits.maxHeaderBytes (16 KiB), so a large token gets its own 401 and reason, not a 431.
  maxTokenBytes: Type.Integer({ minimum: 1024, maximum: 65_536, default: 8192, description: 'a longer bearer token is refused (401 invalid_token, "token too large") before it is parsed' }),
}, { additionalProperties: false, description: 'JWT bearer tokens, verified against each issuer\'s keys' });

export type JwtAuthConfig = Static<typeof JwtAuthSchema>;
export type JwtIssuerConfig = Static<typeof JwtIssuerSchema>;

/** One key source per issuer, and algorithms that fit it: RS/HS confusion is a config error, not a runtime chance. */
export function checkJwtIssuer(c: JwtIssuerConfig): string | undefined {
  const sources = [c.jwksUrl, c.keyFiles, c.secret ?? c.secretEnv ?? c.secretFile].filter((s) => s !== undefined).length;
  if (sources !== 1) return `expected exactly one key source (jwksUrl, keyFiles, or secret/secretEnv/secretFile), found ${sources}`;
  const hmac = c.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a));
  const symmetric = c.jwksUrl === undefined && c.keyFiles === undefined;
  if (symmetric && hmac.length !== c.algorithms.length) return 'a shared secret verifies only HS256/HS384/HS512';
  if (!symmetric && hmac.length > 0) return `HMAC algorithms (${hmac.join(', ')}) cannot be used with public keys`;
  return undefined;
}

/** The jwt method in edge/auth/registry-schema.ts. */
export const jwtMethod = authMethod({
  name: 'jwt',
  key: 'jwt',
  schema: JwtAuthSchema,
  crossCheck: (jwt) => jwt.issuers.flatMap((issuer, i) => {
    const message = checkJwtIssuer(issuer);
    return message === undefined ? [] : [{ path: ['issuers', String(i)], message }];
  }),
  resolveFiles: (jwt, resolve) => {
    for (const issuer of jwt.issuers) {
      if (issuer.keyFiles) issuer.keyFiles = issuer.keyFiles.map(resolve);
      if (issuer.secretFile) issuer.secretFile = resolve(issuer.secretFile);
    }
  },
});
