// The Redis connections of a tier: single node, Sentinel or Cluster through
// ioredis, with TLS and password options. Tuned for the request path: no
// offline queue (a command fails at once while Redis is away instead of
// piling up), one retry, a short command timeout. Errors are logged once per
// outage and never thrown: a process must not crash because Redis did.
import { readFileSync } from 'node:fs';
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadinessCheck } from './admin.js';
import type { RedisConfig } from './config/schema.js';

export type RedisClient = Redis | Cluster;

export function connectRedis(config: RedisConfig, log: Logger, purpose = 'requests'): RedisClient {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Commands issued in the same tick (concurrent requests' rate-limit checks) leave in one write:
    // a write per command was the largest cost of the secured edge after TLS (bench/).
    enableAutoPipelining: true,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // A failover leaves clients talking to a replica; reconnect to find the new master.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(config.username && { username: config.username }),
    ...(config.passwordEnv && { password: process.env[config.passwordEnv] }),
    ...(config.db !== undefined && { db: config.db }),
    ...(config.tls && { tls: { ...(config.tls.ca && { ca: readFileSync(config.tls.ca) }), ...(config.tls.servername && { servername: config.tls.servername }), rejectUnauthorized: config.tls.rejectUnauthorized } }),
  };
  let client: RedisClient;
  if (config.cluster) {
    client = new Cluster(config.cluster.nodes, { redisOptions: options, enableOfflineQueue: false, enableAutoPipelining: true, clusterRetryStrategy: (n) => Math.min(n * 200, 2_000) });
  } else if (config.sentinel) {
    client = new Redis({ ...options, sentinels: config.sentinel.sentinels, name: config.sentinel.name, ...(config.sentinel.password && { sentinelPassword: config.sentinel.password }) });
  } else {
    client = new Redis(config.url!, options);
  }
  watch(client, log, purpose);
  return client;
}

const everReady = new WeakSet<RedisClient>();

function watch(client: RedisClient, log: Logger, purpose: string): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ event: 'redis-down', purpose, err: err.message }, 'Redis unreachable; retrying');
    down = true;
  });
  client.on('ready', () => {
    everReady.add(client);
    if (down) log.info({ event: 'redis-up', purpose }, 'Redis reachable again');
    down = false;
  });
}

/**
 * Ready once Redis has answered since start; an outage later is reported in
 * the details but keeps the tier ready, because every instance loses Redis
 * together and pulling them all from the load balancer would turn degraded
 * service into none. Each Redis-backed policy says how it degrades.
 */
export function redisCheck(client: RedisClient): ReadinessCheck {
  return { ok: everReady.has(client), status: client.status };
}

/** Says QUIT (Redis sees a clean goodbye, not a reset), bounded: a Redis that is away is simply dropped. */
export async function closeRedis(client: RedisClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.quit().catch(() => undefined), new Promise((r) => { timer = setTimeout(r, 1_000); })]);
  clearTimeout(timer);
  client.disconnect();
}
