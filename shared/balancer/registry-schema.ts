// The registry of load-balancing algorithms a service may name, in the order the reference lists them, and
// the balancer settings composed from it. Each algorithm's config is its name and whether it keys on hashOn
// (too little for a file each); its factory is listed under the same name in shared/balancer/registry.ts.
// Schema only: never imports an algorithm.
import { Type, type Static } from '@sinclair/typebox';
import { namesOf, oneOf, policy } from '../config/policy-schema.js';

export interface BalancerAlgorithmSchema {
  readonly name: string;
  /** The consistent-hash algorithms need the affinity key; the others must not be given one they would ignore. */
  readonly hashed: boolean;
}

export const BALANCER_ALGORITHMS = [
  { name: 'round-robin', hashed: false },
  { name: 'weighted', hashed: false },
  { name: 'least-request', hashed: false },
  { name: 'peak-ewma', hashed: false },
  { name: 'ring-hash', hashed: true },
  { name: 'maglev', hashed: true },
] as const satisfies readonly BalancerAlgorithmSchema[];

export type BalancerAlgorithm = (typeof BALANCER_ALGORITHMS)[number]['name'];

export const BalancerSchema = Type.Object({
  algorithm: oneOf(namesOf(BALANCER_ALGORITHMS), { default: 'round-robin', description: 'the balancing algorithm' }),
  hashOn: Type.Optional(Type.String({
    pattern: '^(header:[a-z0-9-]+|cookie:[A-Za-z0-9_-]+|client-ip)$',
    description: 'the affinity key for ring-hash and maglev',
  })),
}, { additionalProperties: false, default: {}, description: 'the choice of an instance for each request' });

export type BalancerConfig = Static<typeof BalancerSchema>;

const HASHED: ReadonlySet<string> = new Set(BALANCER_ALGORITHMS.filter((a) => a.hashed).map((a) => a.name));
const hashedNames = [...HASHED].join(' and ');

/** What the schema cannot say: hashOn goes with the hashing algorithms, and only with them. */
export function checkBalancer(config: BalancerConfig): string | undefined {
  if (HASHED.has(config.algorithm) && config.hashOn === undefined) {
    return `algorithm ${config.algorithm} needs hashOn (header:<name>, cookie:<name> or client-ip)`;
  }
  if (!HASHED.has(config.algorithm) && config.hashOn !== undefined) {
    return `hashOn is only used by ${hashedNames}, not by ${config.algorithm}`;
  }
  return undefined;
}

/** A service's balancer settings, listed in shared/config/service-policies-schema.ts. */
export const balancerPolicy = policy<undefined>()({
  name: 'balancer',
  key: 'balancer',
  schema: BalancerSchema,
  crossCheck: (balancer) => {
    const message = checkBalancer(balancer);
    return message === undefined ? [] : [{ path: [], message }];
  },
});
