// One service a tier sends traffic to: where its instances come from, how
// one is chosen, and the per-service resilience around each attempt
// (passive outlier ejection, a circuit per instance, retry budget). Built once per
// service; per request the upstream stage only calls chooseAdmitted/begin/end.
import type { Balancer, PickContext } from '../balancer/balancer.js';
import type { Instance, InstanceSource } from './instance.js';
import { OutlierDetector, type OutlierConfig } from '../resilience/outlier-detection.js';
import { InstanceBreakers, type CircuitBreakerConfig, type Admission, type BreakerState } from '../resilience/circuit-breaker.js';
import { RetryBudget, type RetryConfig } from '../resilience/retry-budget.js';
import { ConnectionQueue } from '../resilience/connection-queue.js';
import { hashKeyFn, type HashKeyFn } from '../balancer/hash-key.js';
import type { AttemptOutcome } from '../proxy/upstream-call.js';
import { Attempt, type ServiceAttempts } from '../metrics/upstream.js';

export interface ResilienceConfig {
  readonly outlierDetection: OutlierConfig;
  readonly circuitBreaker: CircuitBreakerConfig;
  readonly retry: RetryConfig;
  readonly connectTimeoutMs: number;
  readonly balancer: { readonly hashOn?: string | undefined };
}

/** Why chooseAdmitted() found no instance for an attempt. */
export interface InstanceStatus {
  readonly id: string;
  readonly origin: string;
  readonly weight: number;
  readonly health: 'passing';
  readonly ejected: { readonly until: string; readonly times: number } | null;
  readonly breaker: BreakerState;
}

export type Refusal = 'none' | Exclude<Admission, 'ok'> | 'queue-full';

export class UpstreamService {
  readonly outliers: OutlierDetector;
  readonly breakers: InstanceBreakers;
  readonly connections: ConnectionQueue;
  readonly budget: RetryBudget;
  readonly retry: RetryConfig;
  readonly connectTimeoutMs: number;
  /** The affinity key of a consistent-hashing service; undefined for the others. */
  readonly hashKey: HashKeyFn | undefined;
  private lastInstances: readonly Instance[] | undefined = undefined;

  /**
   * metrics: where the upstream stage records each attempt (the tier's /metrics), undefined when the
   * directory was built without them.
   */
  constructor(readonly name: string, readonly source: InstanceSource, private readonly balancer: Balancer, resilience: ResilienceConfig, readonly metrics?: ServiceAttempts) {
    this.outliers = new OutlierDetector(resilience.outlierDetection);
    this.breakers = new InstanceBreakers(resilience.circuitBreaker);
    this.connections = new ConnectionQueue(resilience.circuitBreaker.maxConnections, resilience.circuitBreaker.maxPending);
    this.budget = new RetryBudget(resilience.retry);
    this.retry = resilience.retry;
    this.connectTimeoutMs = resilience.connectTimeoutMs;
    this.hashKey = hashKeyFn(resilience.balancer.hashOn);
  }

  /** An instance for this attempt, skipping ejected outliers (unless too many are: then all are tried). */
  choose(ctx: PickContext): Instance | undefined {
    const instances = this.source.current;
    if (instances === undefined || instances.length === 0) return undefined;
    if (instances !== this.lastInstances) {
      this.lastInstances = instances; // discovery changed the list: counters of instances that left can go
      this.connections.forgetIdle();
      this.breakers.forgetAbsent(instances);
    }
    return this.balancer.pick(this.outliers.filter(instances), ctx);
  }

  /**
   * The instance an attempt goes to, the one way forwarding and tunnelling both choose it: the balancer's
   * pick among instances not ejected and not in `tried`, passing over any whose circuit is open (nothing
   * was sent to it, so that is no retry; it joins `tried`). An instance comes back admitted: begin() and
   * end() must follow. Otherwise why none is: 'none' left to choose, every one left 'open', 'overloaded'
   * (maxConcurrent) or 'queue-full' (maxPending).
   */
  chooseAdmitted(hashKey: string | undefined, tried?: Set<string>): Instance | Refusal {
    let instance = this.choose({ hashKey, exclude: tried });
    if (instance === undefined) return 'none';
    let admission = this.admit(instance);
    while (admission === 'open') {
      const next = this.choose({ hashKey, exclude: (tried ??= new Set()).add(instance.id) });
      if (next === undefined) break;
      instance = next;
      admission = this.admit(instance);
    }
    return admission === 'ok' ? instance : admission;
  }

  /** Whether an attempt on this instance may start; on 'ok', begin() and end() must follow. */
  admit(instance: Instance): Admission | 'queue-full' {
    if (!this.connections.admits(instance.origin)) {
      this.metrics?.refused(instance.id, Attempt.overloaded);
      return 'queue-full';
    }
    const admission = this.breakers.tryAcquire(instance.id);
    if (admission !== 'ok') this.metrics?.refused(instance.id, admission === 'open' ? Attempt.breakerOpen : Attempt.overloaded);
    return admission;
  }

  begin(instance: Instance): void {
    this.connections.start(instance.origin);
    this.balancer.onStart?.(instance);
  }

  /**
   * When the attempt is over (its body ended, failed or was abandoned); gateway-made refusals never reach here.
   * Outlier detection counts an error answer or no answer; the instance's circuit only no answer, as an
   * instance answering 5xx on one path may serve every other route well; a failure that may be the client's
   * counts for neither.
   */
  end(instance: Instance, outcome: AttemptOutcome, latencyMs: number): void {
    const failed = outcome === 'error-answer' || outcome === 'unanswered';
    this.balancer.onEnd?.(instance, latencyMs, !failed);
    if (outcome !== 'not-blamed') this.outliers.onResult(instance.id, !failed);
    this.breakers.release(instance.id, outcome === 'not-blamed' ? undefined : outcome !== 'unanswered');
    this.connections.finish(instance.origin);
  }

  /** Each instance discovery lists now, with this process's view of it: ejected as an outlier, its circuit's state. */
  instanceStatus(): InstanceStatus[] {
    const ejected = new Map(this.outliers.status().ejected.map((e) => [e.id, e]));
    return (this.source.current ?? []).map((i) => {
      const e = ejected.get(i.id);
      return {
        id: i.id, origin: i.origin, weight: i.weight,
        // Discovery lists only instances whose checks pass (Consul's passing filter, or a static list).
        health: 'passing' as const,
        ejected: e === undefined ? null : { until: new Date(e.untilMs).toISOString(), times: e.times },
        breaker: this.breakers.stateOf(i.id),
      };
    });
  }

  status(): Record<string, unknown> {
    return { ...this.source.status, openCircuits: this.breakers.notClosed(), pending: this.connections.pending, ejected: this.outliers.status().ejected.length };
  }
}
