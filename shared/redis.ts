// The Redis connection of a tier. Tuned for the request path: no offline
// queue (a command fails at once while Redis is away instead of piling up),
// one retry, short timeouts. Errors are logged once per outage, never thrown.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadinessCheck } from './admin.js';

export function connectRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 500,
    commandTimeout: 100,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ event: 'redis-down', err: err.message }, 'Redis unreachable; retrying');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({ event: 'redis-up' }, 'Redis reachable again');
    down = false;
  });
  return redis;
}

export function redisCheck(redis: Redis): ReadinessCheck {
  return { ok: redis.status === 'ready', status: redis.status };
}
