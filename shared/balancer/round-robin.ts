// Round robin: each instance in turn. The cursor survives instance-list
// changes; a shrunk list just wraps, which is fair enough for one cycle.
import type { Instance } from '../discovery/instance.js';

export interface Balancer {
  pick(instances: readonly Instance[]): Instance | undefined;
}

export class RoundRobin implements Balancer {
  private cursor = 0;

  pick(instances: readonly Instance[]): Instance | undefined {
    if (instances.length === 0) return undefined;
    const i = this.cursor % instances.length;
    this.cursor = (i + 1) % instances.length;
    return instances[i];
  }
}
