// Smooth weighted round robin (nginx's algorithm): each instance gets its
// weight's share of every cycle, interleaved rather than in bursts. It must
// never pick a drained (weight 0) instance while any other has weight.
import type { Instance } from '../discovery/instance.js';
import type { Balancer, PickContext } from './balancer.js';

/**
 * Each instance's weight as balancing uses it: a non-negative integer, 1 when
 * missing or invalid, 0 for drained. When every instance is drained they all
 * count as 1, since refusing every request would be worse than ignoring the drain.
 */
export function weightsOf(instances: readonly Instance[]): Int32Array {
  const weights = new Int32Array(instances.length);
  let any = false;
  for (let i = 0; i < instances.length; i++) {
    const w = instances[i]!.weight;
    weights[i] = Number.isInteger(w) && w >= 0 ? Math.min(w, 0x7fff) : 1;
    if (weights[i]! > 0) any = true;
  }
  if (!any) weights.fill(1);
  return weights;
}

export class WeightedRoundRobin implements Balancer {
  private last: readonly Instance[] | undefined;
  private weights: Int32Array = new Int32Array(0);
  // nginx's current_weight per instance. Reset when the list changes: carrying
  // it over by id would cost a map per pick for a one-cycle smoothness gain.
  private current: Int32Array = new Int32Array(0);

  pick(instances: readonly Instance[], ctx?: PickContext): Instance | undefined {
    if (instances !== this.last) {
      this.last = instances;
      this.weights = weightsOf(instances);
      this.current = new Int32Array(instances.length);
    }
    const exclude = ctx?.exclude;
    const { weights, current } = this;
    let total = 0;
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      // Excluded peers sit the round out entirely, as nginx does with tried peers.
      if (w === 0 || (exclude !== undefined && exclude.has(instances[i]!.id))) continue;
      current[i]! += w;
      total += w;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best < 0) return undefined;
    current[best]! -= total;
    return instances[best];
  }
}
