// Round robin: each instance in turn. The cursor survives instance-list
// changes; a shrunk list just wraps, which is fair enough for one cycle.
import type { Instance } from '../discovery/instance.js';
import type { Balancer, PickContext } from './balancer.js';

export type { Balancer };

export class RoundRobin implements Balancer {
  private cursor = 0;

  pick(instances: readonly Instance[], ctx?: PickContext): Instance | undefined {
    if (instances.length === 0) return undefined;
    for (let tries = 0; tries < instances.length; tries++) {
      const i = this.cursor % instances.length;
      this.cursor = (i + 1) % instances.length;
      const chosen = instances[i]!;
      if (ctx?.exclude === undefined || !ctx.exclude.has(chosen.id)) return chosen;
    }
    return undefined;
  }
}
