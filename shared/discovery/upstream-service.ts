// One service a tier sends traffic to: where its instances come from, how
// one is chosen, and the per-service resilience around each attempt
// (passive outlier ejection, circuit breaker, retry budget). Built once per
// service; per request the forward stage only calls choose/begin/end.
import type { Balancer, PickContext } from '../balancer/balancer.js';
import type { Instance, InstanceSource } from './instance.js';
import { OutlierDetector, type OutlierConfig } from '../resilience/outlier-detection.js';
import { CircuitBreaker, type CircuitBreakerConfig, type Admission } from '../resilience/circuit-breaker.js';
import { RetryBudget, type RetryConfig } from '../resilience/retry-budget.js';
import { ConnectionQueue } from '../resilience/connection-queue.js';
import { hashKeyFn, type HashKeyFn } from '../balancer/hash-key.js';

export interface ResilienceConfig {
  readonly outlierDetection: OutlierConfig;
  readonly circuitBreaker: CircuitBreakerConfig;
  readonly retry: RetryConfig;
  readonly connectTimeoutMs: number;
  readonly balancer: { readonly hashOn?: string | undefined };
}

export class UpstreamService {
  readonly outliers: OutlierDetector;
  readonly breaker: CircuitBreaker;
  readonly connections: ConnectionQueue;
  readonly budget: RetryBudget;
  readonly retry: RetryConfig;
  readonly connectTimeoutMs: number;
  /** The affinity key of a consistent-hashing service; undefined for the others. */
  readonly hashKey: HashKeyFn | undefined;
  private lastInstances: readonly Instance[] | undefined = undefined;

  constructor(readonly name: string, readonly source: InstanceSource, private readonly balancer: Balancer, resilience: ResilienceConfig) {
    this.outliers = new OutlierDetector(resilience.outlierDetection);
    this.breaker = new CircuitBreaker(resilience.circuitBreaker);
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
    }
    return this.balancer.pick(this.outliers.filter(instances), ctx);
  }

  /** Whether an attempt on this instance may start; on 'ok', begin() and end() must follow. */
  admit(instance: Instance): Admission | 'queue-full' {
    if (!this.connections.admits(instance.origin)) return 'queue-full';
    return this.breaker.tryAcquire();
  }

  begin(instance: Instance): void {
    this.connections.start(instance.origin);
    this.balancer.onStart?.(instance);
  }

  /** When the attempt is over (its body ended, failed or was abandoned). ok: the instance answered below 500; gateway-made refusals never reach here. */
  end(instance: Instance, ok: boolean, latencyMs: number): void {
    this.balancer.onEnd?.(instance, latencyMs, ok);
    this.outliers.onResult(instance.id, ok);
    this.breaker.release(ok);
    this.connections.finish(instance.origin);
  }

  status(): Record<string, unknown> {
    return { ...this.source.status, breaker: this.breaker.state(), pending: this.connections.pending, ejected: this.outliers.status().ejected.length };
  }
}
