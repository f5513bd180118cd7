// Keep-alive connection pools, one per upstream origin, shared by every route
// of a tier. Hand-written forwarding sits on these (see forward.ts).
import { Pool } from 'undici';

export interface PoolSettings {
  readonly connectionsPerOrigin: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_POOL: PoolSettings = { connectionsPerOrigin: 256, connectTimeoutMs: 5_000, keepAliveTimeoutMs: 30_000 };

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly settings: PoolSettings = DEFAULT_POOL) {}

  /** The pool for an origin; its connect timeout and size are the first caller's (one service per origin in practice). */
  get(origin: string, connectTimeoutMs = this.settings.connectTimeoutMs, connections = this.settings.connectionsPerOrigin): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections,
        connectTimeout: connectTimeoutMs,
        keepAliveTimeout: this.settings.keepAliveTimeoutMs,
        pipelining: 1,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
  }
}
