// Circuit breakers: one per instance, which stops sending to that instance
// for a while once too many of its recent attempts went unanswered, and the
// service's cap on requests in flight. A circuit counts only failures of the
// instance it protects, never an answer (a 5xx is the instance answering) nor
// a failure the client may have caused: otherwise one client, or one failing
// path, could open it for every route. It only counts; it never queues, waits
// or touches a connection (maxConnections and maxPending: connection-queue.ts).
import type { CircuitBreakerConfig } from './circuit-breaker-schema.js';

export { CircuitBreakerSchema, type CircuitBreakerConfig } from './circuit-breaker-schema.js';
export type BreakerState = 'closed' | 'open' | 'half-open';
export type Admission = 'ok' | 'overloaded' | 'open';

export interface CircuitBreakerStatus {
  readonly state: BreakerState;
  readonly inFlight: number;
  readonly windowRequests: number; readonly windowFailures: number;
  readonly probesInFlight: number; readonly probeSuccesses: number;
}

const BUCKETS = 10;

/**
 * Two counts over a sliding window of fixed buckets: memory and work per call
 * stay constant however heavy the traffic, at the price of bucket granularity.
 */
export class RollingCounts {
  private readonly requestsIn = new Uint32Array(BUCKETS);
  private readonly eventsIn = new Uint32Array(BUCKETS);
  private readonly bucketMs: number;
  private slot = -Infinity;
  requests = 0;
  events = 0;

  constructor(windowMs: number) {
    this.bucketMs = windowMs / BUCKETS;
  }

  /** Drop the buckets that slid out of the window by time t. */
  advance(t: number): void {
    const slot = Math.floor(t / this.bucketMs);
    if (slot <= this.slot) return; // same bucket, or a clock that stepped back
    if (slot - this.slot >= BUCKETS) this.reset();
    else for (let s = this.slot + 1; s <= slot; s++) this.clear(s % BUCKETS);
    this.slot = slot;
  }

  add(t: number, requests: number, events: number): void {
    this.advance(t);
    const i = this.slot % BUCKETS;
    this.requestsIn[i]! += requests;
    this.eventsIn[i]! += events;
    this.requests += requests;
    this.events += events;
  }

  reset(): void {
    this.requestsIn.fill(0);
    this.eventsIn.fill(0);
    this.requests = 0;
    this.events = 0;
  }

  private clear(i: number): void {
    this.requests -= this.requestsIn[i]!;
    this.events -= this.eventsIn[i]!;
    this.requestsIn[i] = this.eventsIn[i] = 0;
  }
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private openedAt = 0;
  private inFlight = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  /** requests = outcomes, events = failures. */
  private readonly window: RollingCounts;

  constructor(private readonly config: CircuitBreakerConfig, private readonly now: () => number = Date.now) {
    this.window = new RollingCounts(config.windowMs);
  }

  tryAcquire(): Admission {
    const state = this.state();
    if (state === 'open') return 'open';
    if (this.inFlight >= this.config.maxConcurrent) return 'overloaded';
    if (state === 'half-open') {
      if (this.probesInFlight >= this.config.halfOpenRequests) return 'open';
      this.probesInFlight++;
    }
    this.inFlight++;
    return 'ok';
  }

  /**
   * Call once per 'ok' from tryAcquire, when the request ends: ok true or false for what it says about
   * the instance, undefined when it says nothing (a failure the client may have caused): that frees
   * the slot, and a probe's, without counting.
   */
  release(ok: boolean | undefined): void {
    if (this.inFlight > 0) this.inFlight--;
    const state = this.state();
    if (state === 'half-open') {
      // Without a per-request token, a request admitted before the trip that ends now
      // counts as a probe; rare, and it reports on the instance just the same.
      if (this.probesInFlight > 0) this.probesInFlight--;
      if (ok === undefined) return;
      if (!ok) this.open();
      else if (++this.probeSuccesses >= this.config.halfOpenRequests) this.close();
      return;
    }
    // Outcomes of requests admitted before the circuit opened say nothing new.
    if (state === 'open' || ok === undefined) return;
    const t = this.now();
    this.window.add(t, 1, ok ? 0 : 1);
    const { requests, events: failures } = this.window;
    if (this.config.failureThreshold > 0 && requests >= this.config.minimumRequests
      && failures * 100 >= this.config.failureThreshold * requests) this.open();
  }

  state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.config.openMs) {
      this.current = 'half-open';
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
    }
    return this.current;
  }

  status(): CircuitBreakerStatus {
    const state = this.state();
    this.window.advance(this.now());
    const { inFlight, probesInFlight, probeSuccesses } = this;
    return { state, inFlight, windowRequests: this.window.requests, windowFailures: this.window.events, probesInFlight, probeSuccesses };
  }

  private open(): void {
    this.current = 'open';
    this.openedAt = this.now();
  }

  // A fresh window: the failures that opened it must not trip it again at once.
  private close(): void {
    this.current = 'closed';
    this.window.reset();
  }
}

/**
 * A service's circuits, one per instance, and its cap on requests in flight. Per instance because a
 * breaker must open only on failures of what it protects: a dead instance is passed over while the
 * others serve every route, where one circuit for the service would refuse them all. A circuit is made
 * when its instance is first tried and forgotten when discovery drops the instance.
 */
export class InstanceBreakers {
  private readonly circuits = new Map<string, CircuitBreaker>();
  private inFlight = 0;

  constructor(private readonly config: CircuitBreakerConfig, private readonly now: () => number = Date.now) {}

  /** Whether an attempt on this instance may start; on 'ok', release() must follow. */
  tryAcquire(instanceId: string): Admission {
    if (this.inFlight >= this.config.maxConcurrent) return 'overloaded';
    let circuit = this.circuits.get(instanceId);
    if (circuit === undefined) {
      circuit = new CircuitBreaker(this.config, this.now);
      this.circuits.set(instanceId, circuit);
    }
    // Its own maxConcurrent never binds: the instance's requests are a share of the service's.
    const admission = circuit.tryAcquire();
    if (admission === 'ok') this.inFlight++;
    return admission;
  }

  /** See CircuitBreaker.release; an instance forgotten meanwhile only frees the service's slot. */
  release(instanceId: string, ok: boolean | undefined): void {
    if (this.inFlight > 0) this.inFlight--;
    this.circuits.get(instanceId)?.release(ok);
  }

  /** Drops the circuits of instances discovery no longer lists: ids churn with every deploy. */
  forgetAbsent(instances: readonly { readonly id: string }[]): void {
    if (this.circuits.size === 0) return;
    const present = new Set<string>();
    for (const i of instances) present.add(i.id);
    for (const id of this.circuits.keys()) if (!present.has(id)) this.circuits.delete(id);
  }

  /** The state of one instance's circuit; one never tried has none yet, which admits like a closed one. */
  stateOf(instanceId: string): BreakerState {
    return this.circuits.get(instanceId)?.state() ?? 'closed';
  }

  /** Instances whose circuit is open or half-open (probing). */
  notClosed(): string[] {
    const ids: string[] = [];
    for (const [id, circuit] of this.circuits) if (circuit.state() !== 'closed') ids.push(id);
    return ids;
  }
}
