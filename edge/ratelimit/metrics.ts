// What the rate limiter decided, per policy (its name from config), and the
// Redis round trips it made or saved: the edge's share of /metrics. Rows are
// looked up when a route's stage is built; a request only increments them.
import type { Registry } from 'prom-client';
import { CountedCounter, type CountRow } from '../../shared/metrics/counts.js';
import type { Decision } from './store.js';

/**
 * admitted / limited: decided by the shared store (Redis, or memory when the edge has no Redis), or from a lease of its tokens;
 * fallback_admitted / fallback_limited: by the local limiter at this edge's share while Redis failed (onRedisFailure: open);
 * unavailable: refused with 503 while Redis failed (a policy of the request has onRedisFailure: closed).
 */
export const DECISIONS = ['admitted', 'limited', 'fallback_admitted', 'fallback_limited', 'unavailable'] as const;
export const Decided = { admitted: 0, limited: 1, fallbackAdmitted: 2, fallbackLimited: 3, unavailable: 4 } as const;
/**
 * made: a round trip Redis answered (one failed shows as a fallback or unavailable decision instead);
 * saved: a policy decided in another policy's round trip (a request's policies share one pipeline), or
 * from tokens this edge leased earlier (mode: leased).
 */
export const ROUND_TRIPS = ['made', 'saved'] as const;
export const RoundTrip = { made: 0, saved: 1 } as const;

export interface PolicyRows {
  readonly decisions: CountRow;
  readonly roundTrips: CountRow;
}

export class RateLimitMetrics {
  private readonly decisions: CountedCounter;
  private readonly roundTrips: CountedCounter;
  private readonly byPolicy = new Map<string, PolicyRows>();

  /**
   * A policy's rows are never dropped: names come from config, and a stage built for a config not yet
   * serving (a reload waits on discovery before it swaps) must never hold rows a scrape dropped meanwhile.
   * A policy a reload removed keeps its last counts, as a removed route's request counts do.
   */
  constructor(registry: Registry) {
    this.decisions = new CountedCounter(registry, {
      name: 'gatehouse_ratelimit_decisions_total', help: 'Rate-limit decisions, by policy and outcome (admitted, limited, fallback_admitted, fallback_limited, unavailable).',
      labelNames: ['policy'], closed: { name: 'outcome', values: DECISIONS },
    });
    this.roundTrips = new CountedCounter(registry, {
      name: 'gatehouse_ratelimit_redis_roundtrips_total', help: 'Redis round trips the rate limiter made for a policy, or saved by deciding it in another policy\'s round trip or from a lease.',
      labelNames: ['policy'], closed: { name: 'result', values: ROUND_TRIPS },
    });
  }

  /** The rows of a policy by name, the same for every route and config generation naming it. */
  policy(name: string): PolicyRows {
    let rows = this.byPolicy.get(name);
    if (rows === undefined) {
      rows = { decisions: this.decisions.row(name), roundTrips: this.roundTrips.row(name) };
      this.byPolicy.set(name, rows);
    }
    return rows;
  }
}

/**
 * One round trip carries every policy of the request Redis was asked about: made for one (`made`, an index
 * into rows; -1 when Redis was not asked at all), saved for each other, including those decided from a lease.
 */
export function countRoundTrip(rows: readonly PolicyRows[], made = 0): void {
  for (let i = 0; i < rows.length; i++) rows[i]!.roundTrips.counts[i === made ? RoundTrip.made : RoundTrip.saved]!++;
}

/** fellBack: whether the local fallback decided while Redis failed; a list: which policies it decided (the others had leases). */
export function countDecisions(rows: readonly PolicyRows[], decisions: readonly Decision[], fellBack: boolean | readonly number[]): void {
  for (let i = 0; i < rows.length; i++) {
    const allowed = decisions[i]!.allowed;
    const local = fellBack === true || (fellBack !== false && fellBack.includes(i));
    const outcome = local ? (allowed ? Decided.fallbackAdmitted : Decided.fallbackLimited) : (allowed ? Decided.admitted : Decided.limited);
    rows[i]!.decisions.counts[outcome]!++;
  }
}
