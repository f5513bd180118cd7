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
}

export interface Decision {
  readonly allowed: boolean;
  /** When refused: ms until a request would be admitted. */
  readonly retryAfterMs: number;
  /** Per window, in order: requests left now, and ms until fully replenished. */
  readonly remaining: readonly number[];
  readonly resetMs: readonly number[];
}

export interface RateLimitStore {
  /** Counts one request against every hit; a refused hit counts against none of its windows. */
  hit(hits: readonly Hit[]): Promise<Decision[]> | Decision[];
}

export function compileWindows(windows: readonly { name: string; limit: number; periodSeconds: number }[], share = 1): CompiledWindow[] {
  return windows.map((w) => {
    const limit = Math.max(1, Math.floor(w.limit / share));
    const periodMs = w.periodSeconds * 1000;
    return { name: w.name, limit, periodMs, intervalMs: periodMs / limit };
  });
}
