// A service's balancing config and the factory that turns it into a balancer,
// once per service at config load. It must never be called per request.
import { Type, type Static } from '@sinclair/typebox';
import type { Balancer } from './balancer.js';
import { RoundRobin } from './round-robin.js';
import { WeightedRoundRobin } from './weighted.js';
import { LeastRequest } from './least-request.js';
import { PeakEwma } from './peak-ewma.js';
import { RingHash, Maglev } from './consistent-hash.js';

export type { Balancer, PickContext } from './balancer.js';

export const BalancerSchema = Type.Object({
  algorithm: Type.Union([
    Type.Literal('round-robin'),
    Type.Literal('weighted'),
    Type.Literal('least-request'),
    Type.Literal('peak-ewma'),
    Type.Literal('ring-hash'),
    Type.Literal('maglev'),
  ], { default: 'round-robin', description: 'the balancing algorithm' }),
  hashOn: Type.Optional(Type.String({
    pattern: '^(header:[a-z0-9-]+|cookie:[A-Za-z0-9_-]+|client-ip)$',
    description: 'the affinity key for ring-hash and maglev',
  })),
}, { additionalProperties: false });

export type BalancerConfig = Static<typeof BalancerSchema>;
export type BalancerAlgorithm = BalancerConfig['algorithm'];

const hashed = (algorithm: BalancerAlgorithm) => algorithm === 'ring-hash' || algorithm === 'maglev';

/** What the schema cannot say: hashOn goes with the hashing algorithms, and only with them. */
export function checkBalancer(config: BalancerConfig): string | undefined {
  if (hashed(config.algorithm) && config.hashOn === undefined) {
    return `algorithm ${config.algorithm} needs hashOn (header:<name>, cookie:<name> or client-ip)`;
  }
  if (!hashed(config.algorithm) && config.hashOn !== undefined) {
    return `hashOn is only used by ring-hash and maglev, not by ${config.algorithm}`;
  }
  return undefined;
}

export function createBalancer(config: BalancerConfig): Balancer {
  switch (config.algorithm) {
    case 'round-robin': return new RoundRobin();
    case 'weighted': return new WeightedRoundRobin();
    case 'least-request': return new LeastRequest();
    case 'peak-ewma': return new PeakEwma();
    case 'ring-hash': return new RingHash();
    case 'maglev': return new Maglev();
  }
}
