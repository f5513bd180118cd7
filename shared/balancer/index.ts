// Turns a service's balancing config into its balancer, once per service at config load. It must never be
// called per request. The algorithms and their names are the registries' (registry-schema.ts, registry.ts).
import type { Balancer } from './balancer.js';
import type { BalancerConfig } from './registry-schema.js';
import { BALANCER_FACTORIES } from './registry.js';

export type { Balancer, PickContext } from './balancer.js';
export { BalancerSchema, checkBalancer, type BalancerAlgorithm, type BalancerConfig } from './registry-schema.js';

export function createBalancer(config: BalancerConfig): Balancer {
  return BALANCER_FACTORIES[config.algorithm]();
}
