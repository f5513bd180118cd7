// Least request by the power of two choices: of two random instances, the one
// with fewer requests in flight. It must never scan or sort the whole list per
// pick (except on a retry, when excluded instances have to be counted out).
import type { Instance } from '../discovery/instance.js';
import type { Balancer, PickContext } from './balancer.js';
import { InFlightCounts } from './in-flight-counts.js';

/** What a two-choice pick compares: lower is better. */
export interface Cost {
  cost(instance: Instance): number;
}

/**
 * Two distinct random candidates that are not excluded, and the cheaper one
 * (the first drawn on a tie); the only candidate when one is left. A Cost
 * object rather than a closure, so a pick allocates nothing.
 */
export function pickOfTwo(instances: readonly Instance[], exclude: ReadonlySet<string> | undefined, costs: Cost, random: () => number): Instance | undefined {
  const n = instances.length;
  if (exclude === undefined || exclude.size === 0) {
    if (n <= 1) return instances[0];
    const a = Math.floor(random() * n);
    let b = Math.floor(random() * (n - 1));
    if (b >= a) b++; // draws from the n-1 others, so the two always differ
    return cheaper(instances[a]!, instances[b]!, costs);
  }
  let left = 0;
  for (let i = 0; i < n; i++) if (!exclude.has(instances[i]!.id)) left++;
  if (left <= 1) return nthLeft(instances, exclude, 0);
  const a = Math.floor(random() * left);
  let b = Math.floor(random() * (left - 1));
  if (b >= a) b++;
  return cheaper(nthLeft(instances, exclude, a)!, nthLeft(instances, exclude, b)!, costs);
}

function cheaper(a: Instance, b: Instance, costs: Cost): Instance {
  return costs.cost(b) < costs.cost(a) ? b : a;
}

/** The rank-th instance that is not excluded. */
function nthLeft(instances: readonly Instance[], exclude: ReadonlySet<string>, rank: number): Instance | undefined {
  for (let i = 0; i < instances.length; i++) {
    if (exclude.has(instances[i]!.id)) continue;
    if (rank-- === 0) return instances[i];
  }
  return undefined;
}

export interface LeastRequestOptions {
  /** A source of uniform numbers in [0, 1); tests pass a seeded one. */
  readonly random?: () => number;
}

export class LeastRequest implements Balancer, Cost {
  // Keyed by id, not by array position, so counts survive discovery changes.
  private readonly outstanding = new InFlightCounts();
  private readonly random: () => number;
  private last: readonly Instance[] | undefined;

  constructor(options: LeastRequestOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  pick(instances: readonly Instance[], ctx?: PickContext): Instance | undefined {
    if (instances !== this.last) {
      // Idle counters say no more than a missing one: dropping them here keeps
      // instances that left from piling up, at one pass per discovery change.
      this.last = instances;
      this.outstanding.pruneIdle();
    }
    return pickOfTwo(instances, ctx?.exclude, this, this.random);
  }

  cost(instance: Instance): number {
    return this.outstanding.get(instance.id);
  }

  onStart(instance: Instance): void {
    this.outstanding.start(instance.id);
  }

  onEnd(instance: Instance): void {
    this.outstanding.end(instance.id);
  }
}
