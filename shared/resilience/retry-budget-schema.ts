// Config of a service's retries: how many, the budget that keeps them from multiplying load, and which
// failures are retried. Schema only: the budget and the rule are shared/resilience/retry-budget.ts's.
import { Type, type Static } from '@sinclair/typebox';
import { policy } from '../config/policy-schema.js';

export const RetrySchema = Type.Object({
  attempts: Type.Integer({ minimum: 0, maximum: 5, default: 2, description: 'retries after the first try' }),
  budgetPercent: Type.Integer({ minimum: 0, maximum: 100, default: 20, description: 'retries allowed as a percentage of requests in the last second' }),
  minRetriesPerSecond: Type.Integer({ minimum: 0, default: 10, description: 'retries allowed per second however little the traffic' }),
  retryOn: Type.Array(Type.Union([
    Type.Literal('connect-failure'), Type.Literal('reset'),
    Type.Literal('status-503'), Type.Literal('status-502'), Type.Literal('status-504'),
  ]), { uniqueItems: true, default: ['connect-failure', 'reset', 'status-503'], description: 'what is retried on another instance: a failed connect for any method, a reset or a status only for idempotent ones' }),
}, { additionalProperties: false, default: {}, description: 'retries on another instance, within a budget' });

export type RetryConfig = Static<typeof RetrySchema>;

/** A service's retry settings, listed in shared/config/service-policies-schema.ts. */
export const retryPolicy = policy<undefined>()({ name: 'retry', key: 'retry', schema: RetrySchema });
