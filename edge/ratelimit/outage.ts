// Tracks whether the shared rate-limit store answers, so an outage is logged
// once per interval (not per request), shown in readiness details, and its
// end logged when Redis answers again.
import type { Logger } from 'pino';

const LOG_EVERY_MS = 30_000;

export class StoreHealth {
  private downSince: number | undefined;
  private lastLogAt = 0;
  private failures = 0;

  constructor(private readonly log: Logger) {}

  failed(err: Error, mode: 'open' | 'closed'): void {
    const now = Date.now();
    this.failures++;
    this.downSince ??= now;
    if (now - this.lastLogAt >= LOG_EVERY_MS) {
      this.lastLogAt = now;
      this.log.warn({ event: 'ratelimit-store-down', err: err.message, failures: this.failures, failureMode: mode }, 'rate-limit store unreachable; applying each policy\'s failure mode');
    }
  }

  succeeded(): void {
    if (this.downSince === undefined) return;
    this.log.info({ event: 'ratelimit-store-up', downMs: Date.now() - this.downSince, failures: this.failures }, 'rate-limit store reachable again');
    this.downSince = undefined;
    this.failures = 0;
    this.lastLogAt = 0;
  }

  status(): { ok: true; store: 'up' | 'down'; downSince?: string } {
    // Degraded, not unready: every edge loses Redis together, and pulling them all would be a full outage.
    return this.downSince === undefined ? { ok: true, store: 'up' } : { ok: true, store: 'down', downSince: new Date(this.downSince).toISOString() };
  }
}
