// A service's limit on requests waiting for a connection (Envoy's
// max_pending_requests): once every one of an instance's maxConnections is
// busy, a request to it would queue in the connection pool; beyond maxPending
// such requests across the service, it is refused at once (503) instead of
// queueing behind a slow instance. Counted from the attempt's start until its
// response head arrives, as the breaker's maxConcurrent is.

export class ConnectionQueue {
  private readonly inFlight = new Map<string, number>();
  private waiting = 0;

  constructor(readonly maxConnections: number, private readonly maxPending: number) {}

  /** Whether an attempt on this origin may start: a connection is free, or there is room to wait for one. */
  admits(origin: string): boolean {
    return this.waiting < this.maxPending || (this.inFlight.get(origin) ?? 0) < this.maxConnections;
  }

  start(origin: string): void {
    const n = this.inFlight.get(origin) ?? 0;
    if (n >= this.maxConnections) this.waiting++;
    this.inFlight.set(origin, n + 1);
  }

  finish(origin: string): void {
    const n = (this.inFlight.get(origin) ?? 1) - 1;
    if (n >= this.maxConnections) this.waiting--;
    // Deleted at zero: instances come and go with discovery, and the map must not keep them all.
    if (n <= 0) this.inFlight.delete(origin);
    else this.inFlight.set(origin, n);
  }

  /** Attempts waiting for a connection now, across the service's instances. */
  get pending(): number {
    return this.waiting;
  }
}
