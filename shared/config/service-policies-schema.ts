// The registry of a service's policies: how it balances, ejects outliers, breaks circuits and retries. Each
// is a section of a service under its key, composed into ServiceSchema, and cross-checked in the registry's
// order by config/cross-check.ts. Schema only: the runtime pieces are built by shared/discovery/.
import { balancerPolicy } from '../balancer/registry-schema.js';
import { outlierDetectionPolicy } from '../resilience/outlier-detection-schema.js';
import { circuitBreakerPolicy } from '../resilience/circuit-breaker-schema.js';
import { retryPolicy } from '../resilience/retry-budget-schema.js';

export const SERVICE_POLICIES = [balancerPolicy, outlierDetectionPolicy, circuitBreakerPolicy, retryPolicy] as const;
