// The factory of each load-balancing algorithm, under the name shared/balancer/registry-schema.ts gives it:
// the compiler refuses a name of that registry with no factory here, or a factory with no name there.
// Called once per service at config load, never per request.
import type { Balancer } from './balancer.js';
import type { BalancerAlgorithm } from './registry-schema.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted.js';
import { LeastRequest } from './least-request.js';
import { PeakEwma } from './peak-ewma.js';
import { RingHash, Maglev } from './consistent-hash.js';

export const BALANCER_FACTORIES: { readonly [N in BalancerAlgorithm]: () => Balancer } = {
  'round-robin': () => new RoundRobin(),
  weighted: () => new WeightedRoundRobin(),
  'least-request': () => new LeastRequest(),
  'peak-ewma': () => new PeakEwma(),
  'ring-hash': () => new RingHash(),
  maglev: () => new Maglev(),
};
