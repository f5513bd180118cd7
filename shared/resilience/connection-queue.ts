// A service's limit on requests waiting for a connection (Envoy's
// max_pending_requests): once every one of an instance's maxConnections is
// busy, a request to it would queue in the connection pool; beyond maxPending
// such requests across the service, it is refused at once (503) instead of
// queueing behind a slow instance. Counted from the attempt's start until its
// response body ends (the connection is busy until then), as the breaker's
// maxConcurrent is.
import { InFlightCounts } from '../balancer/in-flight-counts.js';

export class ConnectionQueue {
  private readonly inFlight = new InFlightCounts();
  private waiting = 0;

  constructor(readonly maxConnections: number, private readonly maxPending: number) {}

  /** Whether an attempt on this origin may start: a connection is free, or there is room to wait for one. */
  admits(origin: string): boolean {
    return this.waiting < this.maxPending || this.inFlight.get(origin) < this.maxConnections;
  }

  start(origin: string): void {
    if (this.inFlight.start(origin) >= this.maxConnections) this.waiting++;
  }

  finish(origin: string): void {
    if (this.inFlight.end(origin) >= this.maxConnections) this.waiting--;
  }

  /** Drops the counters of idle origins: the service calls it when its instances change. */
  forgetIdle(): void {
    this.inFlight.pruneIdle();
  }

  /** Attempts waiting for a connection now, across the service's instances. */
  get pending(): number {
    return this.waiting;
  }
}
