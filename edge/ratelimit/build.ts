// Compiles the configured rate-limit policies once per config, over the shared
// Redis store when Redis is configured (the in-memory store otherwise: the
// embedded default has no Redis).
import type { Logger } from 'pino';
import type { EdgeFileConfig } from '../schema.js';
import type { RedisClient } from '../../shared/redis.js';
import { compilePolicy, type LimiterDeps, type Policy } from './limiter.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import { StoreHealth } from './outage.js';
import { Leases } from './lease.js';
import type { RateLimitMetrics } from './metrics.js';

export interface RateLimits {
  readonly limiter: LimiterDeps;
  readonly globalPolicy: Policy | undefined;
  readonly policies: ReadonlyMap<string, Policy>;
}

/** The stores, their health and the leases held: built once per edge, so counts, leases and outage state outlive a reload. */
export function rateLimitStores(config: Readonly<EdgeFileConfig>, redis: RedisClient | undefined, log: Logger, metrics?: RateLimitMetrics): LimiterDeps {
  const local = new MemoryStore();
  return {
    shared: redis ? new RedisStore(redis) : local,
    local,
    health: new StoreHealth(log),
    prefix: config.redis?.keyPrefix ?? 'gatehouse:',
    metrics,
    leases: redis ? new Leases() : undefined,
  };
}

/** The policies of one config, compiled over the edge's stores. */
export function buildRateLimits(config: Readonly<EdgeFileConfig>, limiter: LimiterDeps): RateLimits {
  const policies = new Map(Object.entries(config.rateLimits).map(([name, p]) => [name, compilePolicy(name, p)]));
  const globalName = config.edge?.rateLimit;
  return { policies, globalPolicy: globalName === undefined ? undefined : policies.get(globalName), limiter };
}
