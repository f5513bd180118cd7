// What every load-balancing algorithm answers. The directory calls pick()
// per request with the service's current instances (a new frozen array
// whenever discovery changes them, so an algorithm may cache work per array)
// and reports each request's start and end so load-aware algorithms can learn.
import type { Instance } from '../discovery/instance.js';

export interface PickContext {
  /** The affinity key for consistent hashing (a header, cookie or client IP), when the service uses it. */
  readonly hashKey?: string | undefined;
  /** Instances to avoid (a retry after a failure on one of them). */
  readonly exclude?: ReadonlySet<string> | undefined;
}

export interface Balancer {
  pick(instances: readonly Instance[], ctx: PickContext): Instance | undefined;
  /** A request to this instance started. */
  onStart?(instance: Instance): void;
  /** It ended: latency in ms, and whether it succeeded (no answer, or a backend's 5xx, counts as a failure: see AttemptOutcome). */
  onEnd?(instance: Instance, latencyMs: number, ok: boolean): void;
}
