// When a failed request may be tried again: a retry budget (Finagle/Envoy)
// so retries cannot multiply the load on a struggling service, and the rule
// for which failures are safe to retry. It must never replay a streamed body.
import type { RetryConfig } from './retry-budget-schema.js';
import { RollingCounts } from './circuit-breaker.js';

export type RetryFailure = 'connect-failure' | 'reset' | 'status-502' | 'status-503' | 'status-504';

export { RetrySchema, type RetryConfig } from './retry-budget-schema.js';

// The window is one second cut in ten buckets, so "the last second" is
// accurate to 100 ms and the counters never grow with traffic.
const WINDOW_MS = 1_000;

/** One per service, shared by all its routes: the budget is the service's protection. */
export class RetryBudget {
  /** requests = original requests, events = retries. */
  private readonly window = new RollingCounts(WINDOW_MS);

  constructor(private readonly config: RetryConfig, private readonly now: () => number = Date.now) {}

  /** An original request (not a retry) was sent. */
  onRequest(): void {
    this.window.add(this.now(), 1, 0);
  }

  /**
   * Whether one more retry fits: retries in the last second stay below
   * max(minRetriesPerSecond, budgetPercent% of original requests in it).
   * An allowed retry is counted at once.
   */
  tryRetry(): boolean {
    const t = this.now();
    this.window.advance(t);
    const { requests, events: retries } = this.window;
    if (retries >= this.config.minRetriesPerSecond && retries * 100 >= requests * this.config.budgetPercent) return false;
    this.window.add(t, 0, 1);
    return true;
  }

  status(): { requestsLastSecond: number; retriesLastSecond: number } {
    this.window.advance(this.now());
    return { requestsLastSecond: this.window.requests, retriesLastSecond: this.window.events };
  }
}

/**
 * Whether a failed try may be repeated, as nginx's proxy_next_upstream does
 * with its non_idempotent rule:
 * - never once any of the request body was streamed to a backend: a stream
 *   cannot be replayed;
 * - only when the failure kind is listed in retryOn;
 * - a connect failure (nothing reached the backend) is then retryable for
 *   any method, POST included;
 * - any other failure only for idempotent methods: GET, HEAD, OPTIONS, TRACE,
 *   PUT, DELETE (the backend may already have acted on the request).
 */
export function isRetryable(method: string, failure: RetryFailure, retryOn: readonly RetryFailure[], requestBodySent: boolean): boolean {
  if (requestBodySent || !retryOn.includes(failure)) return false;
  return failure === 'connect-failure' || isIdempotent(method);
}

function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET': case 'HEAD': case 'OPTIONS': case 'TRACE': case 'PUT': case 'DELETE': return true;
    default: return false;
  }
}
