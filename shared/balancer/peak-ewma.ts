// Peak EWMA (Finagle, Linkerd): of two random instances, the one with the lower
// latency estimate times requests in flight. It must never let one slow sample
// hide for long (peaks count at once) nor exile an instance for good (idle
// estimates decay, so a recovered instance is tried again).
import type { Instance } from '../discovery/instance.js';
import type { Balancer, PickContext } from './balancer.js';
import { pickOfTwo, type Cost } from './least-request.js';

export interface PeakEwmaOptions {
  /** Time constant of the decay, ms: a sample's weight falls to 1/e after this long. */
  readonly decayMs?: number;
  /** The estimate of an instance never measured, low enough that it gets traffic. */
  readonly initialLatencyMs?: number;
  /** The latency a failed request counts as, at least: failing fast must not look fast. */
  readonly failurePenaltyMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Estimate {
  ewma: number;
  /** When ewma was last set, by the injected clock. */
  stamp: number;
  outstanding: number;
  /** The instance list generation that last contained this id. */
  seen: number;
}

export class PeakEwma implements Balancer, Cost {
  private readonly estimates = new Map<string, Estimate>();
  private readonly decayMs: number;
  private readonly initialLatencyMs: number;
  private readonly failurePenaltyMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private last: readonly Instance[] | undefined;
  private generation = 0;
  /** The clock read once per pick for both candidates' costs: a clock read costs as much as the rest. */
  private pickedAt = 0;

  constructor(options: PeakEwmaOptions = {}) {
    this.decayMs = options.decayMs ?? 10_000;
    this.initialLatencyMs = options.initialLatencyMs ?? 10;
    this.failurePenaltyMs = options.failurePenaltyMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  pick(instances: readonly Instance[], ctx?: PickContext): Instance | undefined {
    if (instances !== this.last) this.forgetGone(instances);
    this.pickedAt = this.now();
    return pickOfTwo(instances, ctx?.exclude, this, this.random);
  }

  cost(instance: Instance): number {
    const e = this.estimates.get(instance.id);
    if (e === undefined) return this.initialLatencyMs;
    // Decays toward zero while no sample arrives, as Finagle's does: an instance
    // that lost every comparison since its last slow answer gets probed again.
    const decayed = e.ewma * Math.exp(-Math.max(this.pickedAt - e.stamp, 0) / this.decayMs);
    return decayed * (e.outstanding + 1);
  }

  onStart(instance: Instance): void {
    this.estimateOf(instance.id).outstanding++;
  }

  onEnd(instance: Instance, latencyMs: number, ok: boolean): void {
    const e = this.estimateOf(instance.id);
    if (e.outstanding > 0) e.outstanding--;
    const sample = ok ? latencyMs : Math.max(latencyMs, this.failurePenaltyMs);
    const now = this.now();
    if (sample > e.ewma) {
      e.ewma = sample;
    } else {
      const w = Math.exp(-Math.max(now - e.stamp, 0) / this.decayMs);
      e.ewma = e.ewma * w + sample * (1 - w);
    }
    e.stamp = now;
  }

  private estimateOf(id: string): Estimate {
    let e = this.estimates.get(id);
    if (e === undefined) {
      e = { ewma: this.initialLatencyMs, stamp: this.now(), outstanding: 0, seen: this.generation };
      this.estimates.set(id, e);
    }
    return e;
  }

  /** Drops estimates of instances discovery no longer lists, once they are idle. */
  private forgetGone(instances: readonly Instance[]): void {
    this.last = instances;
    const gen = ++this.generation;
    for (const instance of instances) {
      const e = this.estimates.get(instance.id);
      if (e !== undefined) e.seen = gen;
    }
    for (const [id, e] of this.estimates) {
      if (e.seen !== gen && e.outstanding === 0) this.estimates.delete(id);
    }
  }
}
