// Leased counting (mode: leased, after Doorman): what one edge holds per
// caller of a leased policy. The tokens Redis leased beyond a request's own are
// spent here without a round trip until they run out or expire; they are never
// returned, because a return could move a window's TAT below a token another
// edge still holds (see the Lua script's header). Must never hand out a token
// past its lease's lifetime, nor keep state for callers without bound.
import type { Decision, LeaseAsk } from './store.js';
import type { RateLimitLease } from './schema.js';

/** Callers remembered at once; past it, idle ones are forgotten first (their unspent tokens are only lost). */
export const MAX_LEASE_KEYS = 10_000;

export interface CompiledLease {
  readonly maxTokens: number;
  readonly ttlMs: number;
  readonly share: number;
}

export function compileLease(lease: RateLimitLease, instances: number): CompiledLease {
  return { maxTokens: lease.maxTokens, ttlMs: lease.ttlMs, share: 2 * instances };
}

interface Held {
  /** Leased tokens not yet spent, spendable before expiresAt. */
  tokens: number;
  expiresAt: number;
  /** What Redis said with the last grant: per window, requests left beyond this edge's tokens, and when full. */
  remaining: readonly number[];
  resetAt: number[];
  /** A refusal holds until then: nobody returns tokens, so none can exist in Redis sooner. */
  refusedUntil: number;
  refusal: Decision | undefined;
  /** Requests since the last answer from Redis, and when it came: the demand a lease is sized by. */
  seen: number;
  since: number;
  /** The round trip in flight for this caller: concurrent requests wait for it instead of making their own. */
  pending: Promise<void> | undefined;
  waiting: number;
}

export class Leases {
  private readonly held = new Map<string, Held>();

  constructor(private readonly maxKeys = MAX_LEASE_KEYS) {}

  /**
   * Decides from what this edge holds for the caller, or undefined: ask Redis (after waitFor(), if set).
   * `woken`: the request waited for a round trip (waitFor) and resumes now, so it no longer counts as queued.
   */
  decide(key: string, now: number, woken = false): Decision | undefined {
    const h = this.held.get(key);
    if (h === undefined) return undefined;
    if (woken && h.waiting > 0) h.waiting--;
    if (h.tokens > 0 && now < h.expiresAt) {
      h.tokens--;
      h.seen++;
      const left = h.tokens;
      return {
        allowed: true, retryAfterMs: 0,
        remaining: h.remaining.map((r) => r + left),
        resetMs: h.resetAt.map((at) => Math.max(0, Math.ceil(at - now))),
      };
    }
    if (h.refusal !== undefined && now < h.refusedUntil) {
      h.seen++;
      return { allowed: false, retryAfterMs: Math.ceil(h.refusedUntil - now), remaining: h.refusal.remaining, resetMs: h.refusal.resetMs };
    }
    return undefined;
  }

  /**
   * The round trip already asking for this caller, if any: wait for it, then decide(key, now, true). Synchronous
   * when there is none, so that the caller can ask() in the same tick and no concurrent request asks too.
   */
  waitFor(key: string): Promise<void> | undefined {
    const h = this.held.get(key);
    if (h?.pending === undefined) return undefined;
    h.waiting++;
    return h.pending;
  }

  /**
   * What to ask Redis for this request: its own token, the requests waiting behind it, and what the caller's
   * recent rate would spend in half a lease's lifetime. A caller seen for the first time asks for its own token only.
   * The round trip must end in settled(), answered or not: requests queued behind it wait for that.
   */
  ask(key: string, lease: CompiledLease, now: number): { ask: LeaseAsk; settled: () => void } {
    let h = this.held.get(key);
    const firstSeen = h === undefined;
    if (h === undefined) {
      if (this.held.size >= this.maxKeys) this.forget(now);
      h = { tokens: 0, expiresAt: 0, remaining: [], resetAt: [], refusedUntil: 0, refusal: undefined, seen: 0, since: now, pending: undefined, waiting: 0 };
      this.held.set(key, h);
    }
    h.seen++;
    // Half a lifetime's worth at the recent rate, over at least a quarter of one: a lease sized to last its
    // whole life expires unspent at the first slowdown, and a rate taken over a burst's few milliseconds
    // overshoots (both measured through three real edges: a quarter to a third of a limit lost). So a
    // lease at most doubles what was seen; the requests queued behind the round trip are asked for as well.
    const byRate = firstSeen ? 1 : Math.ceil((h.seen * lease.ttlMs) / 2 / Math.max(lease.ttlMs / 4, now - h.since));
    const want = Math.min(lease.maxTokens, Math.max(1 + h.waiting, byRate));
    let settled!: () => void;
    const pending = new Promise<void>((resolve) => { settled = resolve; });
    h.pending = pending;
    const state = h;
    return {
      ask: { want, ttlMs: lease.ttlMs, share: lease.share },
      settled: () => {
        if (state.pending === pending) state.pending = undefined;
        settled();
      },
    };
  }

  /** Keeps what Redis answered a lease request sent at sentAt (local time, no later than Redis's own). */
  granted(key: string, decision: Decision, lease: CompiledLease, sentAt: number): void {
    const h = this.held.get(key);
    if (h === undefined) return; // forgotten meanwhile: its tokens are only lost
    const now = Date.now();
    h.seen = 0;
    h.since = now;
    if (!decision.allowed) {
      h.refusal = decision;
      h.refusedUntil = sentAt + decision.retryAfterMs;
      return;
    }
    h.refusal = undefined;
    const leased = decision.leased ?? 0;
    if (leased === 0) return;
    const expiresAt = sentAt + lease.ttlMs;
    // Tokens of an older lease still held keep its earlier end: none may outlive the time it was charged at.
    const older = h.tokens > 0 && now < h.expiresAt;
    h.tokens = (older ? h.tokens : 0) + leased;
    h.expiresAt = older ? Math.min(h.expiresAt, expiresAt) : expiresAt;
    h.remaining = decision.remaining;
    h.resetAt = decision.resetMs.map((ms) => sentAt + ms);
  }

  /** Callers held now (bounded by maxKeys). */
  get size(): number {
    return this.held.size;
  }

  /** Idle callers first (nothing held, nothing in flight), then the oldest, until there is room for a quarter more. */
  private forget(now: number): void {
    const target = Math.floor(this.maxKeys * 0.75);
    for (const [key, h] of this.held) {
      if (h.pending === undefined && h.waiting === 0 && (h.tokens === 0 || now >= h.expiresAt) && now >= h.refusedUntil) this.held.delete(key);
    }
    for (const [key, h] of this.held) {
      if (this.held.size <= target) break;
      if (h.pending === undefined) this.held.delete(key);
    }
  }
}
