// Stage: count the request against the route's rate-limit policies (the
// global one and the route's own, in one round trip) and refuse with 429
// when any window is spent. Replies carry the IETF RateLimit-Policy and
// RateLimit headers. While the shared store is down, each policy fails open
// onto a local limiter at this instance's share, or closed with 503. A leased
// policy (lease.ts) is decided from the tokens this edge holds for the caller
// when it has some, and asks Redis for more when it has none.
// Written here rather than as @fastify/rate-limit hooks: that plugin counts
// one window per hook (several windows would cost several round trips), its
// store answers a single count, and its hooks attach to fastify routes while
// Gatehouse routes are its own table. Its store split is kept (store.ts).
import { createHash } from 'node:crypto';
import type { GatewayReply, GatewayRequest } from '../../shared/http/gateway-io.js';
import type { Exchange, Stage } from '../../shared/exchange.js';
import { GatewayError } from '../../shared/errors.js';
import { compileWindows, type CompiledWindow, type Decision, type Hit, type RateLimitStore } from './store.js';
import type { RateLimitPolicyConfig } from './schema.js';
import type { StoreHealth } from './outage.js';
import { compileLease, type CompiledLease, type Leases } from './lease.js';
import { countDecisions, countRoundTrip, Decided, type PolicyRows, type RateLimitMetrics } from './metrics.js';

export interface Policy {
  readonly name: string;
  readonly config: RateLimitPolicyConfig;
  readonly windows: readonly CompiledWindow[];
  /** The windows at this instance's share, for the local fallback. */
  readonly localWindows: readonly CompiledWindow[];
  /** RateLimit-Policy header value, built once. */
  readonly policyHeader: string;
  /** mode: leased; undefined for exact counting. */
  readonly lease: CompiledLease | undefined;
}

export function compilePolicy(name: string, config: RateLimitPolicyConfig): Policy {
  const windows = compileWindows(config.windows);
  return {
    name, config, windows,
    localWindows: compileWindows(config.windows, config.instances),
    policyHeader: windows.map((w) => `"${w.name}";q=${w.limit};w=${w.periodMs / 1000}`).join(', '),
    lease: config.mode === 'leased' ? compileLease(config.lease, config.instances) : undefined,
  };
}

export interface LimiterDeps {
  readonly shared: RateLimitStore;
  readonly local: RateLimitStore;
  readonly health: StoreHealth;
  readonly prefix: string;
  /** The edge's rate-limit metrics; undefined where none are kept. */
  readonly metrics?: RateLimitMetrics | undefined;
  /** What this edge holds of leased policies' tokens; undefined where the shared store is local (no Redis). */
  readonly leases?: Leases | undefined;
}

export function rateLimit(policies: readonly Policy[], d: LimiterDeps): Stage {
  const policyHeader = policies.map((p) => p.policyHeader).join(', ');
  const rows = d.metrics && policies.map((p) => d.metrics!.policy(p.name));
  // The memory store of an edge without Redis makes no round trip to count, and has nothing to lease.
  const roundTrips = d.shared !== d.local;
  const leases = roundTrips && policies.some((p) => p.lease !== undefined) ? d.leases : undefined;
  const every = policies.map((_, i) => i);
  const keyCaches = policies.map(() => new Map<string, string>());
  /** Counts the request's decisions, sets the RateLimit headers and refuses with 429 when any window is spent. */
  const conclude = (decisions: Decision[], reply: GatewayReply, asked: readonly number[], fellBack: boolean): void => {
    if (rows !== undefined) {
      if (roundTrips && !fellBack) countRoundTrip(rows, asked.length > 0 ? asked[0]! : -1);
      countDecisions(rows, decisions, fellBack && asked);
    }
    reply.header('ratelimit-policy', policyHeader);
    reply.header('ratelimit', closestToLimit(policies, decisions));
    let refused = -1;
    for (const x of decisions) if (!x.allowed && x.retryAfterMs > refused) refused = x.retryAfterMs;
    if (refused >= 0) {
      throw new GatewayError('rate_limited', `rate limit ${policies.map((p) => p.name).join('+')} spent`, {
        'retry-after': String(Math.max(1, Math.ceil(refused / 1000))),
        'ratelimit-policy': policyHeader,
        'ratelimit': closestToLimit(policies, decisions),
      });
    }
  };
  const decideAsking = async (keys: string[], decisions: Decision[], reply: GatewayReply): Promise<void> => {
    const asking = leases === undefined ? exactly(policies, keys, every) : await decideFromLeases(policies, keys, leases, decisions);
    const fellBack = asking.asked.length > 0 && await askStore(policies, keys, asking, decisions, d, leases, rows);
    conclude(decisions, reply, asking.asked, fellBack);
  };
  return (ex, request, reply) => {
    const keys = new Array<string>(policies.length);
    for (let i = 0; i < policies.length; i++) keys[i] = keyOf(policies[i]!, ex, request, d.prefix, keyCaches[i]!);
    const decisions: Decision[] = new Array<Decision>(policies.length);
    // Every policy decided from tokens this edge holds: no round trip, and no promise or microtask turn either.
    if (leases !== undefined && decidedFromHeld(policies, keys, leases, decisions)) return conclude(decisions, reply, NONE_ASKED, false);
    return decideAsking(keys, decisions, reply);
  };
}

const NONE_ASKED: readonly number[] = [];

/**
 * Decides what it can from the tokens (or standing refusals) held now, synchronously; true when that was
 * every policy. The rest are left undefined for decideFromLeases, which passes over those decided here.
 */
function decidedFromHeld(policies: readonly Policy[], keys: readonly string[], leases: Leases, decisions: Decision[]): boolean {
  let all = true;
  const now = Date.now();
  for (let i = 0; i < policies.length; i++) {
    const local = policies[i]!.lease === undefined ? undefined : leases.decide(keys[i]!, now);
    if (local === undefined) all = false;
    else decisions[i] = local;
  }
  return all;
}

/** What a request asks Redis: the policies (indexes), their hits, and the lease round trips to settle once it answers. */
interface Asking {
  readonly asked: readonly number[];
  readonly hits: Hit[];
  readonly settles: (() => void)[];
}

function exactly(policies: readonly Policy[], keys: readonly string[], every: readonly number[]): Asking {
  return { asked: every, hits: policies.map((p, i) => ({ key: keys[i]!, windows: p.windows })), settles: [] };
}

/**
 * Decides the leased policies this edge holds tokens (or a standing refusal) for; the others are asked of
 * Redis. A request finding a round trip in flight for its caller waits for it rather than making its own,
 * so a burst at one edge costs about two round trips: one alone, one asking for everyone who queued behind it.
 * A lease is asked for (and its round trip marked in flight) in the same tick as the check that found none.
 */
async function decideFromLeases(policies: readonly Policy[], keys: readonly string[], leases: Leases, decisions: Decision[]): Promise<Asking> {
  const asking: Asking = { asked: [], hits: [], settles: [] };
  for (let i = 0; i < policies.length; i++) {
    if (decisions[i] !== undefined) continue; // decided from held tokens (decidedFromHeld)
    const p = policies[i]!;
    const key = keys[i]!;
    if (p.lease === undefined) {
      (asking.asked as number[]).push(i);
      asking.hits.push({ key, windows: p.windows });
      continue;
    }
    let local = leases.decide(key, Date.now());
    while (local === undefined) {
      const queued = leases.waitFor(key);
      if (queued === undefined) break;
      await queued;
      local = leases.decide(key, Date.now(), true);
    }
    if (local !== undefined) {
      decisions[i] = local;
      continue;
    }
    const { ask, settled } = leases.ask(key, p.lease, Date.now());
    (asking.asked as number[]).push(i);
    asking.hits.push({ key, windows: p.windows, lease: ask });
    asking.settles.push(settled);
  }
  return asking;
}

/** One round trip for the asked policies; leased ones ask for a lease. Says whether Redis failed (the fallback decided). */
async function askStore(
  policies: readonly Policy[], keys: readonly string[], { asked, hits, settles }: Asking, decisions: Decision[],
  d: LimiterDeps, leases: Leases | undefined, rows: readonly PolicyRows[] | undefined,
): Promise<boolean> {
  const sentAt = Date.now();
  try {
    const pending = d.shared.hit(hits);
    const answered = pending instanceof Promise ? await pending : pending;
    d.health.succeeded();
    for (let j = 0; j < asked.length; j++) {
      const i = asked[j]!;
      decisions[i] = answered[j]!;
      const lease = policies[i]!.lease;
      if (leases !== undefined && lease !== undefined) leases.granted(keys[i]!, answered[j]!, lease, sentAt);
    }
    return false;
  } catch (err) {
    const local = await fallback(asked.map((i) => policies[i]!), hits, d, err as Error, rows);
    for (let j = 0; j < asked.length; j++) decisions[asked[j]!] = local[j]!;
    return true;
  } finally {
    for (const settled of settles) settled();
  }
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
  let least = Infinity;
  let p = -1;
  let w = -1;
  for (let i = 0; i < decisions.length; i++) {
    const remaining = decisions[i]!.remaining;
    for (let j = 0; j < remaining.length; j++) if (remaining[j]! < least) { least = remaining[j]!; p = i; w = j; }
  }
  return p < 0 ? '' : `"${policies[p]!.windows[w]!.name}";r=${least};t=${Math.ceil(decisions[p]!.resetMs[w]! / 1000)}`;
}

/** Key strings cached per policy and caller, up to this many callers each, then begun afresh. */
const KEY_CACHE_SIZE = 10_000;

function keyOf(p: Policy, ex: Exchange, request: GatewayRequest, prefix: string, cache: Map<string, string>): string {
  const kind = p.config.key;
  let value: string;
  if (kind === 'consumer') value = ex.identity?.consumer ?? ex.forwarded!.clientIp;
  else if (kind === 'api-key') value = String(ex.identity?.claims.keyId ?? ex.identity?.consumer ?? ex.forwarded!.clientIp);
  else if (kind === 'ip') value = ex.forwarded!.clientIp;
  else {
    const header = request.headers[kind.slice(7)];
    value = typeof header === 'string' && header !== '' ? header : ex.forwarded!.clientIp;
  }
  const known = cache.get(value);
  if (known !== undefined) return known;
  // Bounded, brace-free key material: a client cannot pick another caller's slot or bloat the key.
  const safe = value.length > 64 || /[{}\s]/.test(value) ? createHash('sha256').update(value).digest('base64url') : value;
  const key = `${prefix}rl:{${p.name}:${kind}:${safe}}`;
  if (cache.size >= KEY_CACHE_SIZE) cache.clear();
  cache.set(value, key);
  return key;
}
