// Config of rate-limit policies: what a request is counted by, its windows
// (several per policy, e.g. 20 per second and 10,000 per day, all enforced
// at once), whether each request asks Redis or spends a lease of tokens taken
// from it, and what to do while Redis is unreachable. Schema only: counting is
// edge/ratelimit/limiter.ts's and lease.ts's, built by edge/ratelimit/build.ts.
import { Type, type Static } from '@sinclair/typebox';
import { policy } from '../../shared/config/policy-schema.js';

export const RateLimitWindowSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', description: 'the window name in RateLimit headers' }),
  limit: Type.Integer({ minimum: 1, description: 'requests admitted per period' }),
  periodSeconds: Type.Integer({ minimum: 1, description: 'the window\'s length: limit requests at once, then one per periodSeconds / limit' }),
}, { additionalProperties: false });

export const RateLimitLeaseSchema = Type.Object({
  maxTokens: Type.Integer({ minimum: 2, maximum: 10_000, default: 100, description: 'the most tokens one edge takes for one caller in one round trip' }),
  ttlMs: Type.Integer({
    minimum: 10, maximum: 10_000, default: 200,
    description: 'how long leased tokens may be spent; they are charged as if spent at its end, so while a lease is out up to ttlMs * limit / periodSeconds / 1000 fewer tokens are available at once',
  }),
}, { additionalProperties: false, default: {}, description: 'lease sizes and lifetime (mode: leased)' });

export const RateLimitPolicySchema = Type.Object({
  key: Type.String({
    pattern: '^(consumer|api-key|ip|header:[a-z0-9-]+)$',
    default: 'consumer',
    description: 'consumer, api-key, ip (the trusted-proxy-aware client address) or header:<name>',
  }),
  windows: Type.Array(RateLimitWindowSchema, { minItems: 1, description: 'every window is enforced at once' }),
  mode: Type.Union([Type.Literal('exact'), Type.Literal('leased')], {
    default: 'exact',
    description: 'exact: one Redis round trip per request; leased: an edge takes a few tokens for a busy caller at once and spends them without Redis (never more than the limit; unspent ones expire)',
  }),
  lease: RateLimitLeaseSchema,
  onRedisFailure: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
    default: 'open',
    description: 'open: each edge counts locally against its share of the limit; closed: 503',
  }),
  instances: Type.Integer({ minimum: 1, default: 1, description: 'edge instances sharing the limit: the local share while Redis is down is limit / instances; a lease takes at most 1 / (2 * instances) of what a window has left' }),
}, { additionalProperties: false });

export type RateLimitWindow = Static<typeof RateLimitWindowSchema>;
export type RateLimitLease = Static<typeof RateLimitLeaseSchema>;
export type RateLimitPolicyConfig = Static<typeof RateLimitPolicySchema>;

/**
 * The rate-limit policy, one per key of rateLimits. Its checks are references to it (a route or the edge
 * naming an undefined policy, keying on a stripped header), which config/cross-check.ts makes.
 */
export const rateLimitPolicy = policy<undefined>()({ name: 'rate-limit', key: 'rateLimits', schema: RateLimitPolicySchema });
