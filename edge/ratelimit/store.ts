// The interface every rate-limit store answers (after @fastify/rate-limit's
// store split): Redis in production, memory for the embedded default and as
// the fail-open fallback. Both run the same GCRA, so they agree on results.
export interface CompiledWindow {
  readonly name: string;
  readonly limit: number;
  readonly periodMs: number;
  /** GCRA emission interval: one request's worth of the period. */
  readonly intervalMs: number;
}

export interface Hit {
  /** Hash-tagged key prefix shared by the windows of one policy and one caller. */
  readonly key: string;
  readonly windows: readonly CompiledWindow[];
  /** Leased mode: tokens to take beyond this request's, if the windows can spare them (lease.ts). */
  readonly lease?: LeaseAsk | undefined;
}

export interface LeaseAsk {
  /** Tokens wanted, this request's included; 1 asks for nothing more. */
  readonly want: number;
  readonly ttlMs: number;
  /** A lease takes at most 1/share of what a window has left: 2 x the edges sharing the limit. */
  readonly share: number;
}

export interface Decision {
  readonly allowed: boolean;
  /** When refused: ms until a request would be admitted. */
  readonly retryAfterMs: number;
  /** Per window, in order: requests left now, and ms until fully replenished. */
  readonly remaining: readonly number[];
  readonly resetMs: readonly number[];
  /** Tokens leased beyond this request's, set only when asked (Hit.lease): spendable for ttlMs. */
  readonly leased?: number;
}

export interface RateLimitStore {
  /** Counts one request against every hit; a refused hit counts against none of its windows. A store may grant no lease. */
  hit(hits: readonly Hit[]): Promise<Decision[]> | Decision[];
}

export function compileWindows(windows: readonly { name: string; limit: number; periodSeconds: number }[], share = 1): CompiledWindow[] {
  return windows.map((w) => {
    const limit = Math.max(1, Math.floor(w.limit / share));
    const periodMs = w.periodSeconds * 1000;
    return { name: w.name, limit, periodMs, intervalMs: periodMs / limit };
  });
}
