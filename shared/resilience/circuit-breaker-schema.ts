// Config of a service's circuit breakers: the cap on requests in flight and waiting, and when an instance's
// circuit opens and probes. Schema only: the breakers are shared/resilience/circuit-breaker.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { policy } from '../config/policy-schema.js';

export const CircuitBreakerSchema = Type.Object({
  maxConcurrent: Type.Integer({ minimum: 1, default: 1024, description: 'requests in flight to the service; beyond it: overloaded' }),
  maxConnections: Type.Integer({ minimum: 1, default: 256, description: 'keep-alive connections to each instance (an instance in two services: the first one\'s)' }),
  maxPending: Type.Integer({ minimum: 0, default: 1024, description: 'requests of the service waiting for a connection to a busy instance; beyond it: overloaded' }),
  failureThreshold: Type.Integer({ minimum: 0, maximum: 100, default: 50, description: 'percent of an instance\'s attempts in the window left unanswered (refused, reset, timed out) that opens its circuit; 0 never opens it' }),
  minimumRequests: Type.Integer({ minimum: 1, default: 20, description: 'attempts on the instance in the window before the failure percentage counts' }),
  windowMs: Type.Integer({ minimum: 100, default: 10_000, description: 'the sliding window an instance\'s failure percentage is counted over' }),
  openMs: Type.Integer({ minimum: 1, default: 5_000, description: 'how long it stays open before probing' }),
  halfOpenRequests: Type.Integer({ minimum: 1, default: 3, description: 'probes at once while half-open, and the successes in a row that close it' }),
}, { additionalProperties: false, default: {}, description: 'limits per service and circuits per instance' });

export type CircuitBreakerConfig = Static<typeof CircuitBreakerSchema>;

/** A service's circuit-breaker settings, listed in shared/config/service-policies-schema.ts. */
export const circuitBreakerPolicy = policy<undefined>()({ name: 'circuit-breaker', key: 'circuitBreaker', schema: CircuitBreakerSchema });
