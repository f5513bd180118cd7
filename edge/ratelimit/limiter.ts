// Stage: count the request against the route's rate-limit policies (the
// global one and the route's own, in one round trip) and refuse with 429
// when any window is spent. Replies carry the IETF RateLimit-Policy and
// RateLimit headers. While the shared store is down, each policy fails open
// onto a local limiter at this instance's share, or closed with 503.
// Written here rather than as @fastify/rate-limit hooks: that plugin counts
// one window per hook (several windows would cost several round trips), its
// store answers a single count, and its hooks attach to fastify routes while
// Gatehouse routes are its own table. Its store split is kept (store.ts).
import { createHash } from 'node:crypto';
import type { GatewayRequest } from '../../shared/http/gateway-io.js';
import type { Exchange, Stage } from '../../shared/exchange.js';
import { GatewayError } from '../../shared/errors.js';
import { compileWindows, type CompiledWindow, type Decision, type Hit, type RateLimitStore } from './store.js';
import type { RateLimitPolicyConfig } from './schema.js';
import type { StoreHealth } from './outage.js';
import { countDecisions, countRoundTrip, Decided, type PolicyRows, type RateLimitMetrics } from './metrics.js';

export interface Policy {
  readonly name: string;
  readonly config: RateLimitPolicyConfig;
  readonly windows: readonly CompiledWindow[];
  /** The windows at this instance's share, for the local fallback. */
  readonly localWindows: readonly CompiledWindow[];
  /** RateLimit-Policy header value, built once. */
  readonly policyHeader: string;
}

export function compilePolicy(name: string, config: RateLimitPolicyConfig): Policy {
  const windows = compileWindows(config.windows);
  return {
    name, config, windows,
    localWindows: compileWindows(config.windows, config.instances),
    policyHeader: windows.map((w) => `"${w.name}";q=${w.limit};w=${w.periodMs / 1000}`).join(', '),
  };
}

export interface LimiterDeps {
  readonly shared: RateLimitStore;
  readonly local: RateLimitStore;
  readonly health: StoreHealth;
  readonly prefix: string;
  /** The edge's rate-limit metrics; undefined where none are kept. */
  readonly metrics?: RateLimitMetrics | undefined;
}

export function rateLimit(policies: readonly Policy[], d: LimiterDeps): Stage {
  const policyHeader = policies.map((p) => p.policyHeader).join(', ');
  const rows = d.metrics && policies.map((p) => d.metrics!.policy(p.name));
  // The memory store of an edge without Redis makes no round trip to count.
  const roundTrips = d.shared !== d.local;
  return async (ex, request, reply) => {
    const hits = policies.map((p) => ({ key: keyOf(p, ex, request, d.prefix), windows: p.windows }));
    let decisions: Decision[];
    let fellBack = false;
    try {
      const pending = d.shared.hit(hits);
      decisions = pending instanceof Promise ? await pending : pending;
      d.health.succeeded();
      if (rows !== undefined && roundTrips) countRoundTrip(rows);
    } catch (err) {
      fellBack = true;
      decisions = await fallback(policies, hits, d, err as Error, rows);
    }
    if (rows !== undefined) countDecisions(rows, decisions, fellBack);
    reply.header('ratelimit-policy', policyHeader);
    reply.header('ratelimit', closestToLimit(policies, decisions));
    const refused = decisions.reduce((ms, x) => (x.allowed ? ms : Math.max(ms, x.retryAfterMs)), -1);
    if (refused >= 0) {
      throw new GatewayError('rate_limited', `rate limit ${policies.map((p) => p.name).join('+')} spent`, {
        'retry-after': String(Math.max(1, Math.ceil(refused / 1000))),
        'ratelimit-policy': policyHeader,
        'ratelimit': closestToLimit(policies, decisions),
      });
    }
  };
}

async function fallback(policies: readonly Policy[], hits: Hit[], d: LimiterDeps, err: Error, rows: readonly PolicyRows[] | undefined): Promise<Decision[]> {
  if (policies.some((p) => p.config.onRedisFailure === 'closed')) {
    if (rows !== undefined) for (const r of rows) r.decisions.counts[Decided.unavailable]!++;
    d.health.failed(err, 'closed');
    throw new GatewayError('rate_limit_unavailable', `rate-limit store unavailable: ${err.message}`);
  }
  d.health.failed(err, 'open');
  const local = d.local.hit(hits.map((h, i) => ({ key: h.key, windows: policies[i]!.localWindows })));
  return local instanceof Promise ? await local : local;
}

/** RateLimit names the window nearest exhaustion across all policies. */
function closestToLimit(policies: readonly Policy[], decisions: readonly Decision[]): string {
  let best = '';
  let least = Infinity;
  decisions.forEach((dec, p) => dec.remaining.forEach((r, w) => {
    if (r < least) {
      least = r;
      best = `"${policies[p]!.windows[w]!.name}";r=${r};t=${Math.ceil(dec.resetMs[w]! / 1000)}`;
    }
  }));
  return best;
}

function keyOf(p: Policy, ex: Exchange, request: GatewayRequest, prefix: string): string {
  const kind = p.config.key;
  let value: string;
  if (kind === 'consumer') value = ex.identity?.consumer ?? ex.forwarded!.clientIp;
  else if (kind === 'api-key') value = String(ex.identity?.claims.keyId ?? ex.identity?.consumer ?? ex.forwarded!.clientIp);
  else if (kind === 'ip') value = ex.forwarded!.clientIp;
  else {
    const header = request.headers[kind.slice(7)];
    value = typeof header === 'string' && header !== '' ? header : ex.forwarded!.clientIp;
  }
  // Bounded, brace-free key material: a client cannot pick another caller's slot or bloat the key.
  const safe = value.length > 64 || /[{}\s]/.test(value) ? createHash('sha256').update(value).digest('base64url') : value;
  return `${prefix}rl:{${p.name}:${kind}:${safe}}`;
}

