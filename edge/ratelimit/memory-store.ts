// GCRA in process memory: the embedded default's store (no Redis) and the
// fail-open fallback while Redis is down. Same arithmetic as the Lua script.
import type { Decision, Hit, RateLimitStore } from './store.js';

const MAX_KEYS = 100_000;

export class MemoryStore implements RateLimitStore {
  private readonly tats = new Map<string, number>();

  hit(hits: readonly Hit[]): Decision[] {
    const now = Date.now();
    return hits.map((h) => this.one(h, now));
  }

  private one(h: Hit, now: number): Decision {
    let retryAfterMs = 0;
    const tats = h.windows.map((w) => {
      const tat = Math.max(this.tats.get(`${h.key}:${w.name}`) ?? now, now);
      const over = tat + w.intervalMs - now - w.periodMs;
      if (over > 0) retryAfterMs = Math.max(retryAfterMs, over);
      return tat;
    });
    const allowed = retryAfterMs === 0;
    if (allowed && this.tats.size > MAX_KEYS) this.sweep(now);
    const remaining: number[] = [];
    const resetMs: number[] = [];
    h.windows.forEach((w, i) => {
      const tat = allowed ? tats[i]! + w.intervalMs : tats[i]!;
      if (allowed) this.tats.set(`${h.key}:${w.name}`, tat);
      remaining.push(Math.max(0, Math.floor((w.periodMs - (tat - now)) / w.intervalMs)));
      resetMs.push(Math.ceil(tat - now));
    });
    return { allowed, retryAfterMs: Math.ceil(retryAfterMs), remaining, resetMs };
  }

  /** Fully replenished entries carry no information; drop them. */
  private sweep(now: number): void {
    for (const [k, tat] of this.tats) if (tat <= now) this.tats.delete(k);
  }
}
