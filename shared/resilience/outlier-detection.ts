// Passive health checking, Envoy-style: instances that fail N times in a row
// are ejected for a growing back-off. It must never leave a service with no
// instances to try (panic mode), and never allocates on the per-request path.
import type { OutlierConfig } from './outlier-detection-schema.js';
import type { Instance } from '../discovery/instance.js';

export { OutlierSchema, type OutlierConfig } from './outlier-detection-schema.js';

export interface OutlierStatus {
  readonly ejected: readonly { readonly id: string; readonly untilMs: number; readonly times: number }[];
}

interface InstanceHealth {
  readonly id: string;
  failures: number;
  /** Ejections so far, the back-off exponent. */
  times: number;
  /** End of the current or last ejection; 0 if never ejected. */
  untilMs: number;
}

// 2^30 × any sane base is far past any cap; stops the exponent from growing unbounded.
const MAX_EXPONENT = 30;

/** One per service: filter() caches its answer per instance array. */
export class OutlierDetector {
  private readonly health = new Map<string, InstanceHealth>();
  private readonly ejected = new Set<InstanceHealth>();
  private nextExpiry = Infinity;
  /** Bumped whenever the ejected set changes, invalidating the filter cache. */
  private version = 0;
  private cachedInput: readonly Instance[] | undefined;
  private cachedOutput: readonly Instance[] = [];
  private cachedVersion = -1;

  constructor(private readonly config: OutlierConfig, private readonly now: () => number = Date.now) {}

  onResult(instanceId: string, ok: boolean): void {
    let h = this.health.get(instanceId);
    if (ok) {
      if (h !== undefined) h.failures = 0;
      return;
    }
    if (h === undefined) {
      h = { id: instanceId, failures: 0, times: 0, untilMs: 0 };
      this.health.set(instanceId, h);
    }
    const t = this.now();
    // Failures of requests already in flight when it was ejected must not extend the ejection.
    if (h.untilMs > t) return;
    if (++h.failures < this.config.consecutiveFailures) return;
    if (h.times > 0 && t - h.untilMs >= this.config.maxEjectionMs) h.times = 0;
    const ms = Math.min(this.config.baseEjectionMs * 2 ** Math.min(h.times, MAX_EXPONENT), this.config.maxEjectionMs);
    h.failures = 0;
    h.times++;
    h.untilMs = t + ms;
    this.ejected.add(h);
    if (h.untilMs < this.nextExpiry) this.nextExpiry = h.untilMs;
    this.version++;
  }

  isEjected(instanceId: string): boolean {
    const h = this.health.get(instanceId);
    return h !== undefined && h.untilMs > this.now();
  }

  /**
   * The instances to balance over. Give it the service's whole current list
   * (the array discovery hands out): the result is cached per that array, and
   * is that very array whenever nothing in it is ejected.
   */
  filter(instances: readonly Instance[]): readonly Instance[] {
    const t = this.now();
    if (t >= this.nextExpiry) this.expire(t);
    if (instances !== this.cachedInput) this.forgetAbsent(instances);
    if (this.ejected.size === 0) return instances;
    if (instances === this.cachedInput && this.cachedVersion === this.version) return this.cachedOutput;
    this.cachedInput = instances;
    this.cachedVersion = this.version;
    this.cachedOutput = this.healthyOf(instances);
    return this.cachedOutput;
  }

  status(): OutlierStatus {
    const t = this.now();
    const ejected = [];
    for (const h of this.ejected) if (h.untilMs > t) ejected.push({ id: h.id, untilMs: h.untilMs, times: h.times });
    return { ejected };
  }

  private healthyOf(instances: readonly Instance[]): readonly Instance[] {
    let out = 0;
    for (const i of instances) if (this.isOut(i)) out++;
    if (out === 0) return instances;
    // Panic: with too many ejected, the survivors would be overwhelmed; better to try all than none.
    if (out * 100 > this.config.maxEjectedPercent * instances.length) return instances;
    return Object.freeze(instances.filter((i) => !this.isOut(i)));
  }

  private isOut(instance: Instance): boolean {
    const h = this.health.get(instance.id);
    return h !== undefined && this.ejected.has(h);
  }

  private expire(t: number): void {
    let next = Infinity;
    for (const h of this.ejected) {
      if (h.untilMs <= t) this.ejected.delete(h);
      else if (h.untilMs < next) next = h.untilMs;
    }
    this.nextExpiry = next;
    this.version++;
  }

  // Instance ids churn with every deploy; keeping their history forever would leak.
  private forgetAbsent(instances: readonly Instance[]): void {
    this.cachedInput = instances;
    this.cachedVersion = -1;
    if (this.health.size === 0) return;
    const present = new Set<string>();
    for (const i of instances) present.add(i.id);
    for (const [id, h] of this.health) {
      if (present.has(id)) continue;
      this.health.delete(id);
      if (this.ejected.delete(h)) this.version++;
    }
  }
}
